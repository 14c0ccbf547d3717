"""Holds: what was noted after a message was accepted that keeps it from being sent (docs/DESIGN.md "Consent"):
a customer who opted out of a channel (STOP) or back in (START), a recipient Meta suppressed for marketing
(131050), a key prefix withdrawn (a paused, cancelled or finished job). Any messaging process notes them in the
store; every dispatcher reads them back within a second and asks this book, immediately before each call,
whether the message may still go. Pure: the book and its rule; time is passed in.

The rule, for a message m and the latest hold on its subject, noted at n:
- opted out of m's channel, m not the opt-out confirmation, and n after m's consent was read (its acceptance,
  less CONSENT_STALENESS: acceptance reads consent through a cache): withdrawn, CONSENT_OPTED_OUT. An opt-out
  noted earlier than that was known at acceptance (contacts had it), so it is not this book's to judge: a customer
  who opted in again since (through an operator) is not held back by an old STOP here.
- a marketing message to a recipient suppressed (131050) after its acceptance, likewise: MARKETING_SUPPRESSED.
- a key prefix (or a whole key) withdrawn at n, m's key under it (or it), m accepted at or before n: withdrawn,
  WITHDRAWN. A message accepted after the withdrawal under the same key (a resumed job) goes.
The latest hold on a subject decides (a START after a STOP lifts it). The book forgets holds older than its
horizon; what it forgot was withdrawn from the queue when it was noted.

A TEMPLATE hold holds nothing back itself: it says Meta moved a template (paused, disabled, reinstated), so every
process reading the holds forgets its cached template catalogue at once (templates_changed) and its checks before
the call read the new status within a second, not after the cache's seconds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.messaging.domain.model import Category, Channel, MessageError, OutboundMessage
from services.messaging.domain.rules import key_scope

HORIZON = 2 * 86_400.0  # seconds a hold is kept and known: what was queued when it was noted was withdrawn then;
# the hold stays for what was handed off, accepted on stale consent since, or re-queued (131049: a day later)
CONSENT_STALENESS = 30.0  # seconds: how old the consent acceptance judged by may be (its lookup caches, its work)
OPT_OUT_CONFIRMATION = "opt_out_confirmation"  # in a message's extra: the one message allowed after an opt-out


class HoldKind(StrEnum):
    OPTED_OUT = "OPTED_OUT"  # subject: `<channel>:<address>`
    OPTED_IN = "OPTED_IN"  # subject: `<channel>:<address>`; lifts an earlier OPTED_OUT
    SUPPRESSED = "SUPPRESSED"  # subject: `WHATSAPP:<address>`; marketing only (131050)
    WITHDRAWN = "WITHDRAWN"  # subject: a key prefix `<kind>/<id>/...`
    TEMPLATE = "TEMPLATE"  # subject: `template:<name>.<language>`; Meta moved it (source: its new status)


@dataclass(frozen=True)
class Hold:
    kind: HoldKind
    subject: str
    time: float  # wall time it was noted
    source: str = ""  # e.g. `whatsapp:keyword:STOP`, `131050`, `withdraw`


def consent_subject(channel: Channel, address: str) -> str:
    return f"{channel.value}:{address}"


def opted_out(channel: Channel, address: str, at: float, source: str) -> Hold:
    return Hold(HoldKind.OPTED_OUT, consent_subject(channel, address), at, source)


def opted_in(channel: Channel, address: str, at: float, source: str) -> Hold:
    return Hold(HoldKind.OPTED_IN, consent_subject(channel, address), at, source)


def suppressed(address: str, at: float, source: str) -> Hold:
    return Hold(HoldKind.SUPPRESSED, consent_subject(Channel.WHATSAPP, address), at, source)


def withdrawn(prefix: str, at: float, source: str = "withdraw") -> Hold:
    return Hold(HoldKind.WITHDRAWN, prefix, at, source)


def template_moved(template_key: str, at: float, status: str) -> Hold:
    return Hold(HoldKind.TEMPLATE, f"template:{template_key}", at, status)


def is_opt_out_confirmation(m: OutboundMessage) -> bool:
    return bool(m.extra.get(OPT_OUT_CONFIRMATION))


class HoldBook:
    """The holds one process knows: the latest consent change per address and channel, the latest suppression
    per address, the latest withdrawal per key prefix (found by the key's scope)."""

    def __init__(self) -> None:
        self._consent: dict[str, Hold] = {}
        self._suppressed: dict[str, Hold] = {}
        self._withdrawn: dict[str, dict[str, float]] = {}  # key scope -> prefix -> time
        self.latest = 0.0  # the time of the latest hold taken in
        self.templates_changed = 0  # how many template moves were taken in (a cache of templates compares it)
        self._template_moves: dict[str, float] = {}  # subject -> the latest move's time (reads overlap)

    def __len__(self) -> int:
        return len(self._consent) + len(self._suppressed) + sum(len(p) for p in self._withdrawn.values())

    def add(self, holds: Iterable[Hold]) -> None:
        for h in holds:
            self.latest = max(self.latest, h.time)
            if h.kind in (HoldKind.OPTED_OUT, HoldKind.OPTED_IN):
                _keep_latest(self._consent, h)
            elif h.kind == HoldKind.SUPPRESSED:
                _keep_latest(self._suppressed, h)
            elif h.kind == HoldKind.TEMPLATE:
                if h.time > self._template_moves.get(h.subject, float("-inf")):
                    self._template_moves[h.subject] = h.time
                    self.templates_changed += 1
            else:
                prefixes = self._withdrawn.setdefault(key_scope(h.subject), {})
                prefixes[h.subject] = max(prefixes.get(h.subject, 0.0), h.time)

    def forget_before(self, horizon: float) -> None:
        self._template_moves = {s: t for s, t in self._template_moves.items() if t >= horizon}
        for table in (self._consent, self._suppressed):
            for subject in [s for s, h in table.items() if h.time < horizon]:
                del table[subject]
        for scope in list(self._withdrawn):
            prefixes = {p: t for p, t in self._withdrawn[scope].items() if t >= horizon}
            if prefixes:
                self._withdrawn[scope] = prefixes
            else:
                del self._withdrawn[scope]

    def verdict(self, m: OutboundMessage) -> MessageError | None:
        """Why m must not be sent now, by what this book knows; None when it may."""
        subject = consent_subject(m.channel, m.recipient)
        consent = self._consent.get(subject)
        read_at = m.create_time - CONSENT_STALENESS
        if (
            consent is not None
            and consent.kind == HoldKind.OPTED_OUT
            and consent.time > read_at
            and not is_opt_out_confirmation(m)
        ):
            return MessageError(
                "CONSENT_OPTED_OUT",
                f"{m.recipient} opted out of {m.channel.value} after the message was accepted",
                f"{consent.source or 'opt-out'} noted at {consent.time:.3f}",
            )
        if m.category == Category.MARKETING:
            held = self._suppressed.get(subject)
            if held is not None and held.time > read_at:
                return MessageError(
                    "MARKETING_SUPPRESSED",
                    f"{m.recipient} stopped marketing messages after the message was accepted",
                    f"{held.source or 'suppressed'} noted at {held.time:.3f}",
                )
        withdrawn_at = self.withdrawn_at(m.idempotency_key)
        if withdrawn_at is not None and m.create_time <= withdrawn_at:
            return withdrawn_error(withdrawn_at)
        return None

    def withdrawn_at(self, key: str) -> float | None:
        """The latest withdrawal of a prefix covering `key` (None: none known)."""
        if not key:
            return None
        prefixes = self._withdrawn.get(key_scope(key))
        if not prefixes:
            return None
        # A prefix ends with "/" (domain.rules.withdrawal_target); anything else was one whole key.
        times = [t for p, t in prefixes.items() if (key.startswith(p) if p.endswith("/") else key == p)]
        return max(times) if times else None


def withdrawn_error(at: float) -> MessageError:
    return MessageError("WITHDRAWN", "its key prefix was withdrawn after it was accepted", f"withdrawn at {at:.3f}")


def _keep_latest(table: dict[str, Hold], hold: Hold) -> None:
    known = table.get(hold.subject)
    if known is None or hold.time >= known.time:
        table[hold.subject] = hold
