"""The benchmark table: every throughput figure beside the baseline measured in the same run."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from bench.load import Measurement


@dataclass
class Report:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]] = field(default_factory=list)

    def progress(self, text: str) -> None:
        print(f"  .. {text}", file=sys.stderr, flush=True)

    def row(self, scenario: str, m: Measurement, baseline: Measurement, target: float | None = None) -> None:
        ratio = m.rate / baseline.rate
        verdict = "" if target is None else (f"target >= {target} " + ("met" if ratio >= target else "MISSED"))
        self.rows.append(
            (scenario, f"{m.rate:,.0f}/s", f"{ratio:.2f}", f"{m.percentile(50):.2f} / {m.percentile(99):.2f}", verdict)
        )

    def latency_row(self, scenario: str, m: Measurement, target_p99_ms: float | None = None) -> None:
        verdict = (
            ""
            if target_p99_ms is None
            else (f"target p99 < {target_p99_ms} ms " + ("met" if m.percentile(99) < target_p99_ms else "MISSED"))
        )
        self.rows.append(
            (scenario, f"{m.rate:,.0f}/s", "-", f"{m.percentile(50):.2f} / {m.percentile(99):.2f}", verdict)
        )

    def add(self, scenario: str, value: str, ratio: str = "-", latency: str = "-", verdict: str = "") -> None:
        """A row from a section that measures something other than calls/s (windows, memory, ratios)."""
        self.rows.append((scenario, value, ratio, latency, verdict))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def table(self, title: str, head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        """A table of its own (columns other than the main table's), printed after it with its title."""
        self.tables.append((title, head, rows))

    def markdown(self) -> str:
        head = ("scenario", "result", "ratio to baseline", "p50 / p99 ms", "target")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        for title, columns, rows in self.tables:
            lines += ["", title, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes])
