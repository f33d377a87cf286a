"""The static site (``backproplab site``): built into a temporary folder, every internal link
and image resolves, every lesson is there with its saved figures, widgets become notes.

The links are checked here with the standard library's HTML parser, not with the builder's
own rewriting code, so that a mistake in one is not hidden by the same mistake in the other.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

pytest.importorskip("nbconvert")

from backproplab import site as site_module  # noqa: E402
from backproplab.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "lessons").glob("[0-9]*.ipynb"))


class Page(HTMLParser):
    """The links (a href, img src, link href, script src) and element ids of one page."""

    def __init__(self):
        super().__init__()
        self.links, self.ids, self.images, self.text = [], set(), [], []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) is not None:
                self.links.append((tag, attrs[name]))
        if tag == "img":
            self.images.append(attrs.get("src", ""))


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    return site_module.build_site(out), out


def test_every_internal_link_and_image_resolves(built):
    site, out = built
    assert site.broken == []
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == len(LESSONS) + 1
    parsed = {page: parse(page) for page in pages}
    problems, checked = [], 0
    for page, content in parsed.items():
        for tag, link in content.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue  # data: images, the web (MathJax)
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            checked += 1
            if not target.is_file() or out.resolve() not in target.resolve().parents:
                problems.append(f"{page.relative_to(out)}: <{tag}> {link} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if not {parts.fragment, unquote(parts.fragment)} & ids:  # as browsers match
                    problems.append(f"{page.relative_to(out)}: <{tag}> {link} (no such anchor)")
    assert problems == []
    assert checked > 2 * len(LESSONS)  # the navigation alone links each lesson to others


def test_index_is_the_course_map_with_every_lesson(built):
    _, out = built
    index = parse(out / "index.html")
    hrefs = [link for tag, link in index.links if tag == "a"]
    for lesson in LESSONS:
        assert f"lessons/{lesson.stem}.html" in hrefs
    text = "".join(index.text)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    course = readme.split("\n## The course", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in course.splitlines() if line.startswith("|") and "](lessons/" in line]
    assert len(rows) == len(LESSONS)
    for row in rows:  # each lesson's row of the README's course map, down to its exercises
        names = re.findall(r"`(\w+)`", row)
        assert names and all(name in text for name in names), row


def test_every_lesson_has_its_saved_outputs_and_figures(built):
    _, out = built
    for lesson in LESSONS:
        nb = nbformat.read(lesson, as_version=4)
        page = out / "lessons" / f"{lesson.stem}.html"
        content = parse(page)
        figures = sum("image/png" in output.get("data", {})
                      for cell in nb.cells if cell.cell_type == "code"
                      for output in cell.outputs)
        embedded = [src for src in content.images if src.startswith("data:image/png;base64,")]
        assert len(embedded) == figures, lesson.name
        text = "".join(content.text)
        printed = [output["text"].strip().splitlines()[0] for cell in nb.cells
                   if cell.cell_type == "code" for output in cell.outputs
                   if output.output_type == "stream" and output["text"].strip()]
        assert printed, lesson.name
        for line in printed:
            assert line in text, (lesson.name, line)


def test_lesson_pages_link_to_their_neighbours_and_the_index(built):
    _, out = built
    for k, lesson in enumerate(LESSONS):
        hrefs = {link for tag, link in parse(out / "lessons" / f"{lesson.stem}.html").links
                 if tag == "a"}
        assert "../index.html" in hrefs
        if k > 0:
            assert f"{LESSONS[k - 1].stem}.html" in hrefs
        if k + 1 < len(LESSONS):
            assert f"{LESSONS[k + 1].stem}.html" in hrefs
        if (REPO / "exercises" / lesson.name).is_file():
            assert f"../exercises/{lesson.name}" in hrefs
            assert (out / "exercises" / lesson.name).is_file()


def test_no_widget_shows_as_its_text_repr(built):
    _, out = built
    for page in (out / "lessons").glob("*.html"):
        text = "".join(parse(page).text)
        assert not re.search(r"\b[A-Z]\w*(Box|Slider|Dropdown|Checkbox)\((children|value)=", text)


def _lesson(root, name, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, root / "lessons" / name)


def test_links_between_notebooks_are_rewritten_and_widgets_become_notes(tmp_path):
    """A small course: lesson links in both spellings, a README link, a broken link, and a
    cell whose outputs are a widget (with and without its view) and a static figure."""
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    (root / "exercises").mkdir()
    (root / "README.md").write_text(
        "# A course\n\nIntro.\n\n## The course\n\n| lesson |\n|---|\n"
        "| [one](lessons/01_one.ipynb) |\n| [two](lessons/02_two.ipynb) |\n\n"
        "## Elsewhere\n\nNot on the index.\n",
        encoding="utf-8")
    nbformat.write(nbformat.v4.new_notebook(), root / "exercises" / "01_one.ipynb")
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
           "awAAAABJRU5ErkJggg==")
    widget = nbformat.v4.new_code_cell("panel")
    widget.outputs = [
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/plain": "VBox(children=(IntSlider(value=3),))",
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2,
                                                         "version_minor": 0}}),
        nbformat.v4.new_output("display_data", data={
            "text/plain": "HBox(children=(Dropdown(options=('a',), value='a'),))"}),
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "fig"}),
    ]
    _lesson(root, "01_one.ipynb", [
        nbformat.v4.new_markdown_cell("# Lesson one\n\nNext: [two](02_two.ipynb#Part-b), "
                                      "[map](../README.md), [gone](03_gone.ipynb), "
                                      "[notes](notes.ipynb).\n\n![a picture](figures/pic.png)"),
        widget])
    (root / "lessons" / "figures").mkdir()
    (root / "lessons" / "figures" / "pic.png").write_bytes(b"not really a png")
    _lesson(root, "notes.ipynb", [nbformat.v4.new_markdown_cell("# Not a lesson")])
    _lesson(root, "02_two.ipynb", [
        nbformat.v4.new_markdown_cell("# Lesson two\n\n## Part b\n\nBack to "
                                      "[one](../lessons/01_one.ipynb).")])

    site = site_module.build_site(tmp_path / "out", root=root)
    out = tmp_path / "out"
    assert site.broken == [
        "lessons/01_one.html: 03_gone.ipynb (no such file lessons/03_gone.ipynb)"]
    one = (out / "lessons" / "01_one.html").read_text(encoding="utf-8")
    assert 'href="02_two.html#Part-b"' in one and 'href="../index.html"' in one
    assert 'href="../exercises/01_one.ipynb"' in one and (out / "exercises/01_one.ipynb").is_file()
    assert "children=" not in one
    # files that are not lessons are copied: a notebook outside the numbered lessons, a picture
    assert 'href="notes.ipynb"' in one and (out / "lessons" / "notes.ipynb").is_file()
    assert 'src="figures/pic.png"' in one and (out / "lessons/figures/pic.png").is_file()
    assert not (out / "lessons" / "notes.html").exists()
    assert one.count("backproplab-widget-note") == 2
    assert one.count(f"data:image/png;base64,{png}") == 1  # the static figure stays
    two = (out / "lessons" / "02_two.html").read_text(encoding="utf-8")
    assert 'href="01_one.html"' in two
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="lessons/01_one.html"' in index and 'href="lessons/02_two.html"' in index
    assert "Not on the index" not in index  # only the introduction and the course map


def test_command_builds_refuses_a_foreign_folder_and_rebuilds_its_own(tmp_path, capsys):
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    (root / "README.md").write_text("# C\n\n## The course\n\n[one](lessons/01_one.ipynb)\n",
                                    encoding="utf-8")
    _lesson(root, "01_one.ipynb", [nbformat.v4.new_markdown_cell("# One")])
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["site", "--root", str(root), "--out", str(foreign)]) == 2
    assert "did not build" in capsys.readouterr().err
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "mine"

    out = tmp_path / "site"
    assert main(["site", "--root", str(root), "--out", str(out)]) == 0
    (out / "stale.html").write_text("old", encoding="utf-8")
    assert main(["site", "--root", str(root), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.rglob("*.html")) == ["01_one.html", "index.html"]

    (root / "README.md").write_text("# C\n\nno map\n", encoding="utf-8")
    assert main(["site", "--root", str(root), "--out", str(out)]) == 2
    assert "The course" in capsys.readouterr().err
