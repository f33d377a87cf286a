"""The course as a static HTML site: ``backproplab site [--out site]``.

    site/index.html                 the course map (the README's introduction and "The course")
    site/lessons/NN_name.html       each lesson with its saved outputs and figures
    site/exercises/NN_name.ipynb    the exercise notebooks, to download and open in JupyterLab

Nothing is executed: each page shows the outputs saved in the notebook, which the test
suite keeps up to date. Pages are rendered by nbconvert's HTML exporter (the ``lab``
template), which embeds every figure in the page itself, so a page is one file.

Links are rewritten as the notebook-to-page mapping says: a link from a lesson to
``02_chain_rule.ipynb``, or from the README to ``lessons/02_chain_rule.ipynb``, points at
the lesson's page; ``README.md`` at the index; a link to any other file of the repository
(an exercise notebook, a picture) at a copy of that file in the site. A link to a file
that does not exist is reported, and the command then exits 1 (the site is still written).

An output of an interactive widget (ipywidgets) shows in a saved notebook only as a line of
text such as ``VBox(children=(...))``; on the page it becomes a note saying that the widget
runs in a live kernel, and the cell's other outputs (a static figure, say) stay.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER = ".backproplab-site"  # marks a folder as one this command built (and may replace)
INDEX_SECTIONS = ("The course",)  # README sections the index shows, after its introduction
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ('<p class="backproplab-widget-note"><em>An interactive widget is here when this '
               "lesson runs in JupyterLab: its controls need a live kernel, which a static page "
               "does not have. Open <code>{notebook}</code> in JupyterLab to use it.</em></p>")
LINK = re.compile(r'(\b(?:href|src)=")([^"]*)(")')


class SiteError(Exception):
    """The site cannot be built (no README, no lessons, a folder that is not a site)."""


@dataclass
class Site:
    """What ``build_site`` wrote: the pages (paths inside ``out``) and the broken links."""

    out: Path
    lessons: frozenset = frozenset()  # the lesson notebooks, relative to the course root
    pages: list = field(default_factory=list)
    copied: list = field(default_factory=list)
    broken: list = field(default_factory=list)  # "page: link (why)"


def build_site(out="site", root=None, mathjax_url=None):
    """Render the course in ``root`` (default: this repository) into the folder ``out``.

    ``out`` is created, or replaced if a previous build made it; any other non-empty
    folder is refused. ``mathjax_url`` replaces nbconvert's MathJax address (a local copy
    for reading offline). Returns a ``Site``.
    """
    from nbconvert import HTMLExporter

    root = Path(REPO_ROOT if root is None else root).resolve()
    out = Path(out).resolve()
    lessons = sorted((root / "lessons").glob("[0-9]*.ipynb"))
    readme = root / "README.md"
    if not readme.is_file() or not lessons:
        raise SiteError(f"{root} is not the course: it needs README.md and lessons/NN_*.ipynb")
    _prepare(out, root)
    (out / MARKER).write_text("built by `backproplab site`, which may replace this folder\n",
                              encoding="utf-8")

    exporter = HTMLExporter(template_name="lab")
    if mathjax_url:
        exporter.mathjax_url = mathjax_url
    site = Site(out, frozenset(path.relative_to(root) for path in lessons))
    titles = {path: _title(nbformat.read(path, as_version=4), path.stem) for path in lessons}

    index = nbformat.v4.new_notebook()
    index.cells = [nbformat.v4.new_markdown_cell(_index_markdown(readme, root))]
    _write_page(site, exporter, index, source=readme, root=root, title="backproplab")

    for k, path in enumerate(lessons):
        nb = nbformat.read(path, as_version=4)
        _replace_widget_outputs(nb, path.relative_to(root).as_posix())
        nav = _navigation(lessons, k, titles, root)
        nb.cells = [nbformat.v4.new_markdown_cell(nav, id="site-navigation-top"), *nb.cells,
                    nbformat.v4.new_markdown_cell(nav, id="site-navigation-bottom")]
        _write_page(site, exporter, nb, source=path, root=root, title=titles[path])
    return site


def _prepare(out, root):
    if out == root or out in root.parents:
        raise SiteError(f"--out {out} would replace the course itself; choose a new folder")
    if out.exists():
        if not out.is_dir():
            raise SiteError(f"--out {out} is a file, not a folder")
        if any(out.iterdir()):
            if not (out / MARKER).is_file():
                raise SiteError(f"--out {out} is a non-empty folder that `backproplab site` "
                                f"did not build; choose another folder or empty it")
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _title(nb, fallback):
    """The first Markdown heading of a notebook, without its #s."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def _sections(markdown):
    """{heading: text} of the '## ' sections of a Markdown file, and the text before them."""
    parts = re.split(r"^## +(.+?)\s*$", markdown, flags=re.MULTILINE)
    return parts[0], dict(zip(parts[1::2], parts[2::2]))


def _index_markdown(readme, root):
    intro, sections = _sections(readme.read_text(encoding="utf-8"))
    missing = [name for name in INDEX_SECTIONS if name not in sections]
    if missing:
        raise SiteError(f"{readme} has no section '## {missing[0]}' for the site's index")
    text = intro.strip() + "\n\n"
    for name in INDEX_SECTIONS:
        text += f"## {name}\n{sections[name].rstrip()}\n\n"
    exercises = sorted((root / "exercises").glob("[0-9]*.ipynb"))
    if exercises:
        text += ("### Exercise notebooks\n\nDownload one, open it in JupyterLab beside its "
                 "lesson and run its check cells as you go:\n\n")
        text += "".join(f"- [{p.name}](exercises/{p.name})\n" for p in exercises)
    return text


def _navigation(lessons, k, titles, root):
    """A line of links: the course map, the previous and next lessons, the exercises."""
    links = ["[course map](../README.md)"]
    if k > 0:
        links.append(f"previous: [{titles[lessons[k - 1]]}]({lessons[k - 1].name})")
    if k + 1 < len(lessons):
        links.append(f"next: [{titles[lessons[k + 1]]}]({lessons[k + 1].name})")
    exercise = root / "exercises" / lessons[k].name
    if exercise.is_file():
        links.append(f"exercises: [{exercise.name}](../exercises/{exercise.name})")
    return " · ".join(links)


def _widget_names():
    try:
        import ipywidgets
    except ImportError:
        return ()
    return tuple(name for name in dir(ipywidgets)
                 if isinstance(getattr(ipywidgets, name), type)
                 and issubclass(getattr(ipywidgets, name), ipywidgets.DOMWidget))


def _replace_widget_outputs(nb, notebook):
    """Each widget output becomes a note; the other outputs of its cell stay."""
    names = _widget_names()
    repr_of_widget = re.compile(r"^(?:%s)\(" % "|".join(map(re.escape, names))) if names else None
    note = nbformat.v4.new_output("display_data", data={
        "text/html": WIDGET_NOTE.format(notebook=html.escape(notebook))})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = output.get("data", {})
            plain = data.get("text/plain", "")
            is_widget = WIDGET_MIME in data or (
                repr_of_widget is not None and set(data) == {"text/plain"}
                and repr_of_widget.match(plain))
            outputs.append(note if is_widget else output)
        cell.outputs = outputs


def _write_page(site, exporter, nb, source, root, title):
    """Render ``nb`` (from the file ``source``) to its page, rewriting its links."""
    page = site.out / _site_path(site, source.relative_to(root))
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})

    def rewrite(match):
        target = html.unescape(match.group(2))
        new = _rewrite_link(site, target, source, page, root)
        return match.group(1) + html.escape(new, quote=True) + match.group(3)

    body = LINK.sub(rewrite, body)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(body, encoding="utf-8")
    site.pages.append(page.relative_to(site.out).as_posix())


def _site_path(site, relative):
    """Where a repository file is in the site: README -> index, a lesson -> its page,
    anything else -> a copy at the same place."""
    relative = Path(relative)
    if relative == Path("README.md"):
        return Path("index.html")
    if relative in site.lessons:
        return relative.with_suffix(".html")
    return relative


def _rewrite_link(site, target, source, page, root):
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path or target.startswith("//"):
        return target  # a web address, data:, mailto:, or a link within the page
    path = (source.parent / unquote(parts.path)).resolve()
    where = f"{page.relative_to(site.out).as_posix()}: {target}"
    if root not in path.parents:
        site.broken.append(f"{where} (outside the repository)")
        return target
    if not path.is_file():
        site.broken.append(f"{where} (no such file {path.relative_to(root).as_posix()})")
        return target
    relative = path.relative_to(root)
    in_site = site.out / _site_path(site, relative)
    if _site_path(site, relative) == relative and not in_site.exists():
        in_site.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, in_site)
        site.copied.append(relative.as_posix())
    new = Path(os.path.relpath(in_site, page.parent)).as_posix()
    return new + (f"#{parts.fragment}" if parts.fragment else "")


def add_arguments(parser):
    parser.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                        help="folder to write the site into (default: site)")
    parser.add_argument("--root", type=Path, default=None, metavar="DIR",
                        help="the course repository (default: the one this package is in)")
    parser.add_argument("--mathjax-url", default=None, metavar="URL",
                        help="where pages load MathJax from (default: nbconvert's, on the web)")


def run(args):
    try:
        site = build_site(args.out, root=args.root, mathjax_url=args.mathjax_url)
    except SiteError as exc:
        print(f"backproplab site: {exc}", file=sys.stderr)
        return 2
    for problem in site.broken:
        print(f"backproplab site: broken link in {problem}", file=sys.stderr)
    print(f"wrote {len(site.pages)} pages and {len(site.copied)} files to {site.out}"
          f"{'' if not site.broken else f'; {len(site.broken)} broken links'}")
    return 1 if site.broken else 0


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m backproplab.site",
                                     description="Build the course as a static HTML site.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
