"""What a job's recipients did with what they got, no I/O: the opens of their tracked links (one click per
person and link, with its first open and its opens) and their answers to the job's form, as the commerce
service records them, gathered per recipient address; and the job's counts and rate from them.

Previews by link-preview bots are not opens: commerce never counts them as clicks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Opened:
    first_click_time: float
    clicks: int


@dataclass(frozen=True)
class Engagement:
    """Per recipient address: their opens of the job's links, and whether they answered its form."""

    opened: dict[str, Opened] = field(default_factory=dict)
    answered: frozenset[str] = frozenset()

    @classmethod
    def of(cls, clicks: list[tuple[str, float, int]], answers: set[str]) -> Engagement:
        """From (recipient, first open, opens) per link and the addresses that answered."""
        opened: dict[str, Opened] = {}
        for recipient, first, count in clicks:
            if not recipient or count <= 0:
                continue
            seen = opened.get(recipient)
            if seen is None:
                opened[recipient] = Opened(first, count)
            else:
                seen.first_click_time = min(seen.first_click_time, first)
                seen.clicks += count
        return cls(opened, frozenset(answers))

    def clicked(self, address: str) -> bool:
        return address in self.opened


@dataclass(frozen=True)
class EngagementCounts:
    clicked: int = 0  # recipients who opened at least one link
    clicks: int = 0  # every open, repeats included
    answered: int = 0

    def click_rate(self, sent: int) -> float:
        return self.clicked / sent if sent else 0.0


def counts_of(engagement: Engagement) -> EngagementCounts:
    return EngagementCounts(
        clicked=len(engagement.opened),
        clicks=sum(o.clicks for o in engagement.opened.values()),
        answered=len(engagement.answered),
    )
