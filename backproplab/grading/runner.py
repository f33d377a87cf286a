"""Run cells in a Jupyter kernel, one at a time, surviving loops and crashes.

The kernel is nbval's "current environment" kernel: the grader's own Python, so the
student's code sees the same NumPy and backproplab as the grader. With ``sandbox=True``
it runs inside bubblewrap (:mod:`.sandbox`) and is reached over IPC sockets in a folder
shared with it alone. Interrupts go as messages on the control channel, which the kernel
acts on itself (a signal would also reach the sandbox around it). Every wait is bounded:

- a cell running past its time limit is interrupted (KeyboardInterrupt, the kernel lives
  on); if the interrupt is not honoured within a grace period, the kernel is killed;
- a kernel that dies (``os._exit``, a segfault, ``exit()``) is noticed within a poll
  interval, not after the time limit;
- after a kernel is lost, a fresh one replays the cells that had run cleanly, then
  carries on after the cell that was lost; a cell that kills a kernel is not replayed.
"""

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

try:
    from jupyter_client import KernelManager
    from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager
except ImportError as exc:  # nbval brings jupyter_client; ipykernel is the kernel itself
    raise ImportError(f"grading needs nbval and ipykernel ({exc}); install them with "
                      f"pip install nbval ipykernel") from exc

import tempfile

from . import sandbox as sandboxing

POLL_S = 0.1  # how often a silent kernel is checked for being alive or late
INTERRUPT_GRACE_S = 5.0  # how long an interrupted cell may take to stop
MAX_STDOUT = 4_000_000  # characters kept of a cell's stdout (a print loop must not eat memory)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# The directory holding the backproplab package, so that kernels import this same copy.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass
class CellRun:
    """What one cell did. status: ok, error, timeout (interrupted), killed (timeout, and
    the interrupt did not work), died (the kernel exited), skipped."""

    status: str
    stdout: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    seconds: float = 0.0

    @property
    def kernel_lost(self):
        return self.status in ("killed", "died")


# What a grading kernel inherits of the grader's environment: nothing that names the
# grader's files or secrets, only what Python and the numeric libraries need.
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE",
                 "OPENBLAS_L2_SIZE", "VIRTUAL_ENV", "PYTHONHASHSEED")


def kernel_env(cases_dir=None):
    """Environment of a grading kernel: one BLAS thread (kernels run side by side), this
    backproplab on the path, plots without a display, and the folder of check cases."""
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    env["PYTHONPATH"] = PACKAGE_ROOT
    env["MPLBACKEND"] = "Agg"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if cases_dir is not None:
        env["BACKPROPLAB_CASES"] = str(cases_dir)
    return env


class _KernelManager(KernelManager):
    """A KernelManager that can put a command (the sandbox) in front of the kernel's."""

    prefix = ()

    def format_kernel_cmd(self, extra_arguments=None):
        return [*self.prefix, *super().format_kernel_cmd(extra_arguments)]


class Kernel:
    """A started kernel; ``run(source, timeout)`` executes one cell."""

    def __init__(self, cwd, memory_mb=None, startup_timeout=60, sandbox=False, cases_dir=None):
        # The kernel process's own output (its log, C-level writes to fd 1 and 2) must not
        # mix with the grader's; what cells print comes over iopub.
        self._devnull = open(os.devnull, "w")
        self._channel = tempfile.TemporaryDirectory(prefix="backproplab-kernel-")
        self.km = self.kc = None
        try:
            channel = self._channel.name
            km = _KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME,
                                kernel_spec_manager=NbvalKernelspecManager(),
                                transport="ipc", ip=os.path.join(channel, "kernel"),
                                connection_file=os.path.join(channel, "connection.json"))
            if sandbox:
                km.prefix = tuple(sandboxing.bwrap_prefix(cwd, channel, cases_dir))
            km.kernel_spec.interrupt_mode = "message"
            env = kernel_env(cases_dir)
            env["HOME"] = env["MPLCONFIGDIR"] = str(cwd)  # IPython and matplotlib write there
            km.start_kernel(stdout=self._devnull, stderr=self._devnull, cwd=str(cwd), env=env,
                            extra_arguments=["--HistoryManager.enabled=False"])
            self.km = km
            self.kc = km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=startup_timeout)
        except BaseException:
            self.close()
            raise
        if memory_mb:
            # An address-space cap: an allocation above it raises MemoryError in the kernel
            # (or ends the kernel) instead of exhausting the grading machine.
            limit = int(memory_mb) * 2**20
            prelude = (f"import resource as _r; _r.setrlimit(_r.RLIMIT_AS, ({limit}, {limit}));"
                       f" del _r")
            result = self.run(prelude, timeout=startup_timeout, store_history=False)
            if result.status != "ok":
                self.close()
                raise RuntimeError(f"could not cap kernel memory at {memory_mb} MB: "
                                   f"{result.ename}: {result.evalue}")

    def run(self, source, timeout, store_history=True):
        start = time.monotonic()
        msg_id = self.kc.execute(source, store_history=store_history, allow_stdin=False,
                                 stop_on_error=False)
        deadline, interrupted_at = start + timeout, None
        stdout, size = [], 0
        error = None
        while True:
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self.km.interrupt_kernel()
                interrupted_at = now
            elif interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE_S:
                self.close()
                return CellRun("killed", "".join(stdout), seconds=now - start)
            try:
                msg = self.kc.get_iopub_msg(timeout=POLL_S)
            except Empty:
                if not self.km.is_alive():
                    return CellRun("died", "".join(stdout), seconds=time.monotonic() - start)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content.get("name") == "stdout" and size < MAX_STDOUT:
                stdout.append(content["text"][:MAX_STDOUT - size])
                size += len(stdout[-1])
            elif kind == "error":
                error = content
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        self._drain_shell()
        seconds = time.monotonic() - start
        text = normalise_stream("".join(stdout))
        if interrupted_at is not None:
            status = "timeout"  # also when the cell caught the KeyboardInterrupt
        else:
            status = "ok" if error is None else "error"
        error = error or {}
        return CellRun(status, text, error.get("ename", ""), error.get("evalue", ""),
                       ANSI.sub("", "\n".join(error.get("traceback", []))), seconds)

    def _drain_shell(self):
        while True:
            try:
                self.kc.get_shell_msg(timeout=0)
            except Empty:
                return

    def close(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None:
                self.km.shutdown_kernel(now=True)
        except Exception:  # already gone: nothing left to stop
            pass
        self.km = self.kc = None
        self._devnull.close()
        self._channel.cleanup()


def normalise_stream(text):
    """Apply carriage returns and backspaces as a terminal would (as nbval does before
    comparing), so that progress bars leave only their last state."""
    while True:
        shorter = re.sub("[^\n]\x08", "", text)
        if shorter == text:
            break
        text = shorter
    return re.sub(r"^.*\r(?=[^\n])", "", text, flags=re.MULTILINE)


def run_cells(sources, cwd, timeout, memory_mb=None, skip=None, startup_timeout=60,
              sandbox=False, cases_dir=None):
    """Run ``sources`` in order in one kernel (a fresh one after a loss); list of CellRun.

    ``skip(index, runs)`` may decide, from the runs so far, not to run a cell.
    """
    runs = []
    lost = set()  # cells that killed a kernel: never run again

    def start():
        return Kernel(cwd, memory_mb, startup_timeout, sandbox, cases_dir)

    kernel = start()
    try:
        for index, source in enumerate(sources):
            if skip is not None and skip(index, runs):
                runs.append(CellRun("skipped"))
                continue
            if kernel is None:
                kernel = _replayed_kernel(sources, runs, lost, start, timeout)
            run = kernel.run(source, timeout)
            runs.append(run)
            if run.kernel_lost:
                lost.add(index)
                kernel.close()
                kernel = None
    finally:
        if kernel is not None:
            kernel.close()
    return runs


def _replayed_kernel(sources, runs, lost, start, timeout):
    """A fresh kernel in which every cell that ran cleanly so far has run again."""
    while True:
        kernel = start()
        for index, run in enumerate(runs):
            if run.status != "ok" or index in lost:
                continue
            if kernel.run(sources[index], timeout).kernel_lost:
                lost.add(index)  # lost on the second run: leave it out and start again
                kernel.close()
                break
        else:
            return kernel

