"""The course as a student meets it: JupyterLab in Chromium, driven by Playwright.

Each test does what a student does, through the menus and the keyboard: run a lesson top to
bottom and see no error; move a control of lesson 7's gradient-flow explorer and see its
figure redrawn; type an answer into an exercise, run its check, read PASS, save, and hand the
saved file to ``backproplab grade``; open the course's static site and follow its links.
Cells are found by their ``backproplab`` metadata in the notebook file, never by a fixed
index. Every wait is bounded (Playwright's timeouts, subprocess timeouts).
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]

RUN_ALL_TIMEOUT_MS = 180_000  # lesson 7 runs in ~25 s here; a busy CI machine may be slower
CHECK_TIMEOUT_MS = 60_000
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
PROMPTS_JS = ("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
              ".map(e => e.textContent.trim())")
# Run All is over when every code cell has its number, or when a cell failed (Run All stops
# there: the cells after it keep an empty prompt) and nothing is still queued.
RUN_ALL_DONE_JS = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .map(e => e.textContent.trim());
  const failed = document.querySelector("%s") !== null;
  const queued = prompts.some(t => t === '[*]:');
  return prompts.length > 0 && (prompts.every(t => /^\\[\\d+\\]:$/.test(t)) || (failed && !queued));
}""" % STDERR.replace('"', '\\"')
EXERCISE = ("01_derivatives", "forward_difference")  # a short one; its answer is one line


def menu(page, *path):
    """Click through the menu bar: menu(page, "Run", "Run All Cells")."""
    for name in path:
        page.get_by_role("menuitem", name=name, exact=True).click()


def open_notebook(page, lab, relative):
    """Open a notebook of the lab's course copy and wait for its kernel; return its cells."""
    nb = nbformat.read(lab.root / relative, as_version=4)
    page.goto(lab.url(relative))
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle$")).wait_for()
    cells = page.locator(".jp-Notebook .jp-Cell")
    assert cells.count() == len(nb.cells), "JupyterLab shows a different number of cells"
    return nb, cells


def clear_all_outputs(page):
    """Edit > Clear Outputs of All Cells, so that what is seen next is this run's output."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => ({PROMPTS_JS})().every(t => t === '[ ]:')")
    assert page.locator(".jp-Notebook .jp-OutputArea-output").count() == 0


def run_all(page):
    menu(page, "Run", "Run All Cells")
    # The run has begun (a cell queued or done) within the default timeout, not just queued
    # somewhere invisible; then it ends, bounded.
    page.wait_for_function(f"() => ({PROMPTS_JS})().some(t => t !== '[ ]:')")
    page.wait_for_function(RUN_ALL_DONE_JS, timeout=RUN_ALL_TIMEOUT_MS)


def error_outputs(page):
    return page.locator(f".jp-Notebook {STDERR}").all_inner_texts()


def saved_images(nb):
    return sum("image/png" in output.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def cell_index(nb, role, exercise):
    """The position of the cell whose metadata says backproplab.role/exercise."""
    found = [i for i, cell in enumerate(nb.cells)
             if cell.metadata.get("backproplab", {}).get("role") == role
             and cell.metadata["backproplab"].get("exercise") == exercise]
    assert len(found) == 1, f"expected one {role} cell of {exercise}, found {len(found)}"
    return found[0]


def solution_answer(exercise_file, exercise):
    """The solution notebook's answer cell for ``exercise``, without the solution markers."""
    solution = nbformat.read(REPO / "solutions" / exercise_file, as_version=4)
    source = solution.cells[cell_index(solution, "answer", exercise)].source
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def run_cell_and_wait(page, cell, timeout=CHECK_TIMEOUT_MS):
    """Select ``cell``, run it (Ctrl+Enter) and wait until its prompt shows a new number."""
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text().strip()
    prompt.click()  # selects the cell in command mode
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "([el, before]) => { const t = el.textContent.trim(); "
        "return /^\\[\\d+\\]:$/.test(t) && t !== before; }",
        arg=[prompt.element_handle(), before], timeout=timeout)
    return "".join(cell.locator(".jp-OutputArea-output").all_inner_texts())


def backproplab_command():
    script = Path(sys.executable).with_name("backproplab")
    if script.is_file():
        return [str(script)]
    found = shutil.which("backproplab")
    return [found] if found else [sys.executable, "-m", "backproplab.cli"]


def test_lesson_1_runs_all_cells_without_error_output(lab, page, kernels_shut_down):
    nb, _ = open_notebook(page, lab, "lessons/01_derivatives.ipynb")
    clear_all_outputs(page)
    run_all(page)
    assert error_outputs(page) == []
    prompts = page.evaluate(PROMPTS_JS)
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), prompts
    # every figure the saved lesson shows is drawn again in the browser
    assert page.locator(".jp-Notebook .jp-OutputArea-output img").count() == saved_images(nb) > 0


def test_lesson_7_explorer_redraws_when_a_control_moves(lab, page, kernels_shut_down):
    nb, cells = open_notebook(page, lab, "lessons/07_vanishing_gradients.ipynb")
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    explorer_cells = [i for i in code if "gradient_flow_explorer(" in nb.cells[i].source]
    assert explorer_cells, "no cell of lesson 7 calls gradient_flow_explorer("
    clear_all_outputs(page)
    # The lesson's imports, then the explorer (the whole lesson is run by the nbval tests).
    for i in (code[0], explorer_cells[0]):
        run_cell_and_wait(page, cells.nth(i))
    assert error_outputs(page) == []
    # the live explorer: a widget panel (not a saved picture) with a depth slider and a figure
    explorer = page.locator(".jp-OutputArea-output .jupyter-widgets.widget-vbox").filter(
        has=page.locator(".widget-slider", has_text="depth"))
    assert explorer.count() == 1
    explorer.scroll_into_view_if_needed()
    figure = explorer.locator(".widget-output img")
    figure.wait_for()
    before = figure.get_attribute("src")
    depth = explorer.locator(".widget-slider").filter(has_text="depth")
    readout = depth.locator(".widget-readout")
    start = int(readout.inner_text())
    depth.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight" if start < 50 else "ArrowLeft")
    moved = start + 1 if start < 50 else start - 1
    page.wait_for_function("([el, n]) => el.textContent.trim() === String(n)",
                           arg=[readout.element_handle(), moved])
    page.wait_for_function(
        "([panel, before]) => { const img = panel.querySelector('.widget-output img');"
        " return img !== null && img.complete && img.naturalWidth > 0 && img.src !== before; }",
        arg=[explorer.element_handle(), before], timeout=CHECK_TIMEOUT_MS)
    assert error_outputs(page) == []


def test_exercise_answer_typed_checked_saved_and_graded(lab, page, kernels_shut_down, tmp_path):
    assignment, exercise = EXERCISE
    relative = f"exercises/{assignment}.ipynb"
    nb, cells = open_notebook(page, lab, relative)
    answer_cell = cells.nth(cell_index(nb, "answer", exercise))
    check_cell = cells.nth(cell_index(nb, "check", exercise))
    passed = re.compile(rf"PASS {exercise} \((\d+)/\1\)")
    clear_all_outputs(page)

    # The stub as handed out: its check does not pass.
    check_cell.locator(".jp-InputPrompt").click()
    menu(page, "Run", "Run All Above Selected Cell")
    stub_output = run_cell_and_wait(page, check_cell)
    assert not passed.search(stub_output), stub_output

    # Type the answer over the stub (as pasted: no auto-indent), run it, then its check.
    answer = solution_answer(f"{assignment}.ipynb", exercise)
    answer_cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    page.keyboard.press("Escape")
    run_cell_and_wait(page, answer_cell)
    check_output = run_cell_and_wait(page, check_cell)
    assert passed.search(check_output), check_output

    # Save (Ctrl+S) and wait until the file on disk holds the answer and the PASS.
    page.keyboard.press("Control+s")
    saved_path = lab.root / relative

    def saved_answer():
        saved = nbformat.read(saved_path, as_version=4)
        return saved.cells[cell_index(saved, "answer", exercise)].source.strip()

    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')")
    assert saved_answer() == answer.strip()

    # Hand in the saved file: the grader gives this exercise full points, the stubs none.
    handin = tmp_path / "alice" / f"{assignment}.ipynb"
    handin.parent.mkdir()
    shutil.copy(saved_path, handin)
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [*backproplab_command(), "grade", str(handin), "--json", str(report_path), "-j", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert exercise in result.stdout
    [report] = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["assignment"] == assignment and report["error"] is None
    results = {r["exercise"]: r for r in report["exercises"]}
    assert results[exercise]["status"] == "pass", results[exercise]
    assert results[exercise]["points"] == results[exercise]["max"] > 0
    others = [r for name, r in results.items() if name != exercise]
    assert others and all(r["status"] != "pass" and r["points"] == 0 for r in others), others
    assert report["total"] == results[exercise]["points"]


def test_site_index_opens_and_its_links_lead_through_the_lessons(page, tmp_path):
    from backproplab.site import build_site

    site = build_site(tmp_path / "site")
    assert site.broken == []
    lessons = sorted((REPO / "lessons").glob("[0-9]*.ipynb"))
    titles = [_title(path) for path in lessons]
    page.goto((tmp_path / "site" / "index.html").as_uri())
    assert page.title() == "backproplab"
    links = page.locator("table a[href^='lessons/']")
    assert links.evaluate_all("as => as.map(a => a.getAttribute('href'))") == [
        f"lessons/{path.stem}.html" for path in lessons]

    links.first.click()
    page.wait_for_url(f"**/lessons/{lessons[0].stem}.html")
    assert page.locator("h1").first.inner_text().strip().startswith(titles[0])
    images = page.evaluate("() => [...document.images].map(i => i.complete && i.naturalWidth > 0)")
    assert images and all(images), images  # the lesson's figures are in the page and decode

    page.get_by_role("link", name=titles[1]).first.click()
    page.wait_for_url(f"**/lessons/{lessons[1].stem}.html")
    page.get_by_role("link", name="course map").first.click()
    page.wait_for_url("**/index.html")


def _title(path):
    nb = nbformat.read(path, as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "markdown")
    return next(line for line in first.source.splitlines() if line.startswith("#")).lstrip("# ")
