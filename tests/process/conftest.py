"""Whole-process fixtures: one local stack for the session, started exactly as `make run` starts it (the same
`python -m localrun.stack`, in a temporary run dir, on free ports for moto and every process in its table), stopped
with SIGTERM at the end, which must give exit code 0. Tests talk to it over the network only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from localrun.procs import start_python, stop
from localrun.rundir import RunDir
from localrun.stack import PROCESSES, READY
from tests.process.localstack import Stack, stack_env, wait_for_line


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    run = RunDir(root / "run")
    env = stack_env(run.root)
    addresses = {p.name: env[p.address_env] for p in PROCESSES}
    output = root / "stack.out"
    proc = start_python("localrun.stack", env, output)
    try:
        ready = wait_for_line(output, READY, proc, timeout=180)
    except BaseException:
        stop(proc, timeout=60)
        raise
    seconds = float(re.search(r"ready in ([\d.]+)s", ready).group(1))
    yield Stack(run, proc, output, addresses, seconds)
    code = stop(proc, timeout=60)
    assert code == 0, f"the stack exited with {code} on SIGTERM:\n{output.read_text(errors='replace')}"
