"""A closed-loop load generator: `concurrency` callers each make one call after another for `seconds`, after a
warm-up; the result is calls per second and latency percentiles. The same generator drives every scenario."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    calls: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def closed_loop(
    call: Callable[[int], Awaitable[object]], concurrency: int, seconds: float, warmup: float = 1.0
) -> Measurement:
    latencies: list[float] = []
    counter = [0]
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def caller() -> None:
        while True:
            begun = time.perf_counter()
            if begun >= stop_at:
                return
            i = counter[0]
            counter[0] += 1
            await call(i)
            done = time.perf_counter()
            if begun >= measure_from:
                latencies.append((done - begun) * 1000)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return Measurement(len(latencies), seconds, latencies)


async def sequential(call: Callable[[int], Awaitable[object]], count: int) -> Measurement:
    latencies = []
    began = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        await call(i)
        latencies.append((time.perf_counter() - t) * 1000)
    return Measurement(count, time.perf_counter() - began, latencies)


def median(values: list[float]) -> float:
    return statistics.median(values)
