"""Fixtures for the browser tests: a headless JupyterLab on a copy of the course, and Chromium.

``lab`` starts JupyterLab on a free localhost port, with a token, rooted at a temporary copy
of lessons/, exercises/ and solutions/ (nothing in the repository is touched), with its
settings, workspaces and runtime files in that temporary folder too. ``page`` is a fresh
Chromium page driven by Playwright for Python, launched on the system's Chromium (Debian's
``chromium``; Playwright's own browser download is not used). Both are shut down, with every
kernel and browser process they started, when the tests are done.

Without Playwright, Chromium or JupyterLab the tests skip with the reason; with
``BACKPROPLAB_REQUIRE_BROWSER=1`` (set by .ci/run, which installs them) they fail instead,
so that CI cannot pass by skipping them.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COURSE_FOLDERS = ("lessons", "exercises", "solutions")
LAB_START_S = 60          # JupyterLab is ready in 4-6 s on a quiet 2-core machine
ACTION_TIMEOUT_MS = 30_000  # the default bound of every Playwright wait and action
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions",
]
# JupyterLab user settings: every cell in the page (no windowing, so cells are found by
# position), and no question about Jupyter news popping up over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _missing(reason):
    if os.environ.get("BACKPROPLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (BACKPROPLAB_REQUIRE_BROWSER=1: the browser tests must run)",
                    pytrace=False)
    pytest.skip(reason)


def chromium_executable():
    """The system's Chromium: $BACKPROPLAB_CHROMIUM if set, else chromium on PATH."""
    chosen = os.environ.get("BACKPROPLAB_CHROMIUM")
    candidates = [chosen] if chosen else [shutil.which("chromium"),
                                          shutil.which("chromium-browser"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def sync_api():
    try:
        from playwright import sync_api
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    return sync_api


# Module scope: JupyterLab and Chromium end when the module's tests do, not at the end of
# the whole test run.
@pytest.fixture(scope="module")
def browser(sync_api):
    executable = chromium_executable()
    if executable is None:
        where = os.environ.get("BACKPROPLAB_CHROMIUM")
        _missing(f"no Chromium at BACKPROPLAB_CHROMIUM={where}" if where else
                 "Chromium is not installed (Debian: apt-get install chromium; or set "
                 "BACKPROPLAB_CHROMIUM to its path)")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                              headless=True, timeout=ACTION_TIMEOUT_MS)
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"Chromium at {executable} did not start: {exc}", pytrace=False)
    yield chromium
    chromium.close()
    playwright.stop()


def _offline(route):
    """Only local requests go through (files, the lab on 127.0.0.1); any for the web (the
    pages' MathJax, say) are aborted, so what the tests see is what works offline."""
    url = route.request.url
    if url.startswith(("file:", "data:", "blob:", "http://127.0.0.1:", "ws://127.0.0.1:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.route("**/*", _offline)
    page = context.new_page()
    yield page
    context.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: ``url(path)`` opens a file of ``root`` in a workspace of its own."""

    def __init__(self, root, port, token, process, log):
        self.root, self.port, self.token, self.process, self.log = root, port, token, process, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path):
        workspace = uuid.uuid4().hex[:12]  # a fresh layout: only this notebook open
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def api(self, method, path):
        request = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    def log_tail(self, chars=3000):
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser):
    if importlib.util.find_spec("jupyterlab") is None:
        _missing("JupyterLab is not installed (pip install -e '.[dev]')")
    home = tmp_path_factory.mktemp("lab")
    root = home / "course"
    from backproplab.grading.generate import PRISTINE

    for folder in COURSE_FOLDERS:
        # Blank exercise notebooks, as a new student gets them: the pristine copies, not
        # whatever a learner has saved in this checkout's exercises/.
        source = PRISTINE if folder == "exercises" else REPO / folder
        shutil.copytree(source, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name, values in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               MPLCONFIGDIR=str(home / "matplotlib"))
    port, token = _free_port(), uuid.uuid4().hex
    log = home / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               f"--port={port}", "--ip=127.0.0.1", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={home / 'settings'}",
               f"--LabApp.workspaces_dir={home / 'workspaces'}",
               "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # its kernels share its group
    server = Lab(root, port, token, process, log)
    try:
        deadline = time.monotonic() + LAB_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {process.returncode}:\n"
                            f"{server.log_tail()}", pytrace=False)
            try:
                server.api("GET", "status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab was not ready within {LAB_START_S} s:\n"
                                f"{server.log_tail()}", pytrace=False)
                time.sleep(0.25)
        yield server
    finally:
        _stop(process)


def _stop(process):
    """SIGTERM to JupyterLab's process group (it shuts its kernels down), then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything of the group still alive
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


@pytest.fixture
def kernels_shut_down(lab):
    """Each notebook test leaves no kernel running behind it for the next."""
    yield
    lab.shutdown_kernels()
