"""Waiting on a whole stack from a synchronous test: ask until the answer is there, or fail saying what did not
happen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(what: str, probe: Callable[[], T], within: float = 60.0, step: float = 0.3) -> T:
    """probe()'s first truthy answer, asked every `step` seconds for at most `within`."""
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not happen within {within}s"
        time.sleep(step)
