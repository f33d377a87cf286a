"""Feedback a teacher can send: one self-contained HTML page per graded hand-in.

The page shows the student's own code, cell by cell (answer cells under their exercise,
with its points, status and hint; cells they added marked as theirs), a table of every
exercise, any flag and why, when it was graded and with which version of the course. The
notebook is rendered by nbconvert; nothing of the student's is rendered as HTML (code is
highlighted text, outputs and Markdown of theirs are left out) and every script is removed,
so the page runs nothing and opens offline.
"""

import html
import re
from datetime import datetime, timezone
from pathlib import Path

from .report import _atomic_write, printable

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
_EXTERNAL = re.compile(r"<link\b[^>]*href=\"https?://[^>]*>", re.I)


def course_version():
    try:
        from importlib.metadata import version
        return version("backproplab")
    except Exception:  # not installed as a distribution: say so
        return "unknown"


def feedback_notebook(report, note=None, graded_at=None):
    """An nbformat notebook of the feedback for ``report`` (a graded Report)."""
    import nbformat

    v4 = nbformat.v4
    when = (graded_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(r.exercise)}</td><td>{r.points}/{r.max}</td><td>{esc(r.status)}</td>"
        f"<td>{esc(r.hint)}</td></tr>" for r in report.exercises)
    head = [f"<h1>Feedback: {esc(report.assignment or '')}</h1>",
            f"<p>Hand-in <code>{esc(report.submission)}</code>: <b>{report.total} of "
            f"{report.max} points</b>. Graded {esc(when)} with backproplab "
            f"{esc(course_version())}.</p>",
            "<table><tr><th>exercise</th><th>points</th><th>status</th><th>hint</th></tr>"
            f"{rows}</table>"]
    flags = [(r.exercise, f) for r in report.exercises for f in r.flags]
    if flags:
        head.append("<h2>Flags</h2><p>The grader's static read found these; a flagged "
                    "exercise earns no points unless your teacher counts it.</p><ul>"
                    + "".join(f"<li>{esc(x)}: {esc(f)}</li>" for x, f in flags) + "</ul>")
    if note:
        head.append(f"<p><i>{esc(note)}</i></p>")
    cells = [v4.new_markdown_cell("\n".join(head))]
    results = {r.exercise: r for r in report.exercises}
    for role, exercise, source in report.cells:
        if role == "answer" and exercise in results:
            r = results[exercise]
            cells.append(v4.new_markdown_cell(
                f"<h2>{esc(exercise)}: {r.points}/{r.max}, {esc(r.status)}</h2>"
                + (f"<p>{esc(r.hint)}</p>" if r.hint else "")))
        else:
            cells.append(v4.new_markdown_cell("<p><i>A cell you added:</i></p>"))
        cells.append(v4.new_code_cell(source))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def render(report, note=None):
    """The feedback page of ``report`` as HTML text, with no script in it."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(feedback_notebook(report, note))
    body = _SCRIPT.sub("", body)
    return _EXTERNAL.sub("", body)


def write_feedback(reports, folder, note=None):
    """One page per graded report in ``folder``; returns the paths written."""
    folder = Path(folder)
    written, used = [], set()
    for report in reports:
        if report.error:
            continue
        stem = re.sub(r"[^\w.-]+", "_", printable(Path(report.submission).stem)) or "hand-in"
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        path = folder / f"{name}.html"
        _atomic_write(path, render(report, note))
        written.append(path)
    return written
