"""Where a hand-in's kernel runs: a bubblewrap sandbox, or (where none works) as is.

With bubblewrap (``bwrap``, Debian's ``bubblewrap``) each kernel gets its own user, PID,
network, IPC and UTS namespaces (``--unshare-all``): no network, and no view of the
grader, of other kernels or of their connection files. It runs as ``nobody`` with every
capability dropped, sees the system and the Python environment read-only, the
``backproplab`` package read-only and nothing else of the repository (no ``solutions/``,
no other hand-ins, no output files), writes only to its private work folder and a private
``/tmp``, and talks to the grader over IPC sockets in a folder shared with it alone.
Every process it starts ends with it: when the kernel exits the namespace's init ends,
which ends every process in it, and ``--die-with-parent`` ends the sandbox if the grader
itself dies.
"""

import functools
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../backproplab
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
NOBODY = "65534"


class SandboxError(RuntimeError):
    """bubblewrap was asked for but cannot run here."""


def python_dirs():
    """The folders this Python and its packages live in (to be seen read-only)."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            os.path.dirname(os.path.realpath(sys.executable))}
    dirs.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    dirs.add(site.getusersitepackages())
    # Keep the outermost folders only, and only those that exist.
    found = sorted(d for d in dirs if d and os.path.isdir(d))
    return [d for d in found if not any(d != o and d.startswith(o.rstrip("/") + "/")
                                        for o in found)]


def bwrap_prefix(work_dir, channel_dir, cases_dir=None):
    """The command prefix that runs a kernel inside bubblewrap."""
    binds = []
    for path in [*SYSTEM_DIRS, *python_dirs()]:
        if os.path.exists(path):
            binds += ["--ro-bind", path, path]
    binds += ["--ro-bind", str(PACKAGE_DIR), str(PACKAGE_DIR)]
    if cases_dir is not None:
        binds += ["--ro-bind", str(cases_dir), str(cases_dir)]
    # The private /tmp comes first: a folder under /tmp (a checkout, the cases, the
    # channel) is bound into it afterwards, and would be hidden by a later tmpfs.
    return ["bwrap", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", *binds,
            "--bind", str(channel_dir), str(channel_dir),
            "--bind", str(work_dir), str(work_dir), "--chdir", str(work_dir),
            "--unshare-all", "--unshare-user", "--uid", NOBODY, "--gid", NOBODY,
            "--cap-drop", "ALL", "--die-with-parent", "--hostname", "sandbox",
            # The kernel's parent is the sandbox's init (pid 1): ipykernel would take that
            # for a lost parent and exit; --die-with-parent does that job instead.
            "--unsetenv", "JPY_PARENT_PID",
            "--setenv", "HOME", str(work_dir), "--setenv", "MPLCONFIGDIR", "/tmp",
            "--"]


@functools.lru_cache(maxsize=None)
def bwrap_works():
    """None when bubblewrap runs here with the options above, else why not (one line)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        result = subprocess.run(
            [*bwrap_prefix(probe, probe), sys.executable, "-c", "print('ok')"],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap did not start ({exc})"
    if result.returncode != 0 or result.stdout.strip() != "ok":
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot make a sandbox here ({last})"
    return None


def choose(mode):
    """``(use_bwrap, note)`` for ``--sandbox auto|bwrap|none``; note says when hand-ins
    are not isolated. Raises SandboxError for ``bwrap`` where it does not work."""
    if mode == "none":
        return False, "hand-ins were not isolated (--sandbox none)"
    problem = bwrap_works()
    if problem is None:
        return True, None
    if mode == "bwrap":
        raise SandboxError(problem)
    return False, f"hand-ins were not isolated: {problem}"
