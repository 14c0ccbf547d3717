"""`python -m localrun.leash <supervisor pid> <grace seconds> <command...>`: one process of the local stack, held
so that it cannot outlive the supervisor that started it, however the supervisor ends (an orderly stop, a crash,
SIGKILL). Linux only (prctl), like the local run itself.

- The kernel sends the leash SIGTERM when the supervisor dies (PR_SET_PDEATHSIG); a supervisor already gone by
  the time the leash asks (it is checked by pid) ends the leash at once.
- The command runs under the leash in a process group of its own, with SIGKILL as its parent-death signal, so it
  dies even if the leash itself is killed outright.
- SIGTERM, SIGINT or SIGHUP to the leash is passed on as SIGTERM (every process's graceful stop); a command still
  up `grace` seconds later is killed, and whatever it leaves in its group (workers, reloaders: grandchildren of
  the stack) is killed as soon as it has exited.
- The leash exits as its command did: the same code, or the same signal."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from contextlib import suppress

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_libc = ctypes.CDLL(None, use_errno=True)


def die_with(parent: int, signum: int) -> None:
    """Asks the kernel for `signum` when the parent dies; exits now if the parent is not `parent` any more (it died
    before the request, and this process was handed to another)."""
    if _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os._exit(1)


def run(parent: int, grace: float, command: list[str]) -> int:
    """Runs `command` on the leash; its return code as Popen gives it (negative: killed by that signal)."""
    die_with(parent, signal.SIGTERM)
    leash = os.getpid()
    child: subprocess.Popen | None = None
    stopping = False

    def kill_group(*_: object) -> None:
        if child is not None:
            with suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    def stop(*_: object) -> None:
        nonlocal stopping
        if child is not None and not stopping:
            with suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
            signal.setitimer(signal.ITIMER_REAL, grace)  # then SIGALRM: kill_group
        stopping = True

    signal.signal(signal.SIGALRM, kill_group)
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    # The leash is single-threaded, so a preexec_fn is safe here (it is not in the threaded supervisor).
    child = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=lambda: die_with(leash, signal.SIGKILL)
    )
    if stopping:  # asked to stop while the command was being started
        stopping = False
        stop()
    code = child.wait()
    signal.setitimer(signal.ITIMER_REAL, 0)
    kill_group()  # what the command left behind in its group
    return code


def main(argv: list[str]) -> None:
    parent, grace, command = int(argv[0]), float(argv[1]), argv[2:]
    code = run(parent, grace, command)
    if code < 0:  # killed by a signal: end the same way, so the supervisor sees what its process saw
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot be handled, so are default already
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code & 0xFF)


if __name__ == "__main__":
    main(sys.argv[1:])
