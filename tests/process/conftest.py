"""Whole-process fixtures: one local stack for the session, started exactly as `make run` starts it (the same
`python -m localrun.stack`, in a temporary run dir, on free ports for moto and every process in its table), stopped
with SIGTERM at the end, which must give exit code 0. Tests talk to it over the network only. It runs two messaging
processes, as the default gives a machine of two cores or more (WECARE_MESSAGING_PROCESSES), on any machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.handle import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"), extra_env={"WECARE_MESSAGING_PROCESSES": "2"}) as running:
        yield running
