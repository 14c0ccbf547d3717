"""How several messaging processes share the channel limits without ever exceeding them together: sender
leases plus an account budget split, kept in one small coordination document in the store and changed only by
compare-and-swap. Pure functions over that document; the dispatcher runs them once a heartbeat.

Why this mechanism (and not token leases or a shared window log):
- A limit is only exact where one party counts every call. A sender (a WhatsApp phone number, an SMS
  origination identity, the SES sender) is therefore *owned* by one process at a time: only the owner calls
  the provider for it, so the per-phone limit and the pair limit are counted locally, exactly, by completion
  time (domain.pacing), with no store round trip per call.
- The account-wide limits (SendWhatsAppMessage 1,000/s, media post and get 100/s each) span senders owned by
  different processes. Each process gets a *share*, a fraction of each account limit, and enforces
  `share * limit` locally; the shares of all processes sum to at most 1. The send share follows demand: the
  limits of the owned phones that have work (each process says which at its heartbeat: `busy`), so a lone busy
  phone may use the whole account limit; with no phone busy anywhere, the owned phones' limits (a process
  owning 5 of 13 phones gets 5/13). Media shares are even. A phone that gets work where the share is spoken
  for waits for it at most a hold and two heartbeats (the rule for a share going down, below).
- Handover never lets two owners' calls meet in one window. A process only calls while its membership is
  fresh, and stops `call_timeout + margin` before it expires (self-fencing), so every call it made has
  completed by its expiry. A sender it gives up is first marked `releasing` (it stops calling on seeing that),
  and only at a later heartbeat set free with `quiet_until = now + hold`, where hold = window + call_timeout +
  margin. A new owner starts no earlier than quiet_until, or, for a crashed owner, its expiry + hold.
- A share that goes down takes effect at once locally; the freed part stays committed (others count
  max(old, new)) until `changed_at + hold`, so no window sees the old and the new owner of the budget
  together. A share only goes up into budget nobody holds.
Every process writes the document about once a second (one compare-and-swap), so the store cost does not grow
with the send rate, and the same code runs on SQLite and DynamoDB (a conditional put on a version).
Per-sender signals (131048 pause, 130429 slow down) are not in the document: any process may note them, as often
as Meta's status events come, and a storm of them written by compare-and-swap would contend with every
heartbeat and fence every process. They are marks kept one per sender beside it (CoordinationStore.mark_sender,
a write that only moves a mark forward) and passed to the heartbeat as `marks`; the owner acts on them at its
next heartbeat, as before. (A document written by an older process may still carry them: the later one wins.)"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SEND = "send"  # SendWhatsAppMessage per account
MEDIA_POST = "media_post"
MEDIA_GET = "media_get"
BUDGETS = (SEND, MEDIA_POST, MEDIA_GET)


@dataclass(frozen=True)
class Timing:
    ttl: float = 6.0  # membership and lease lifetime without a heartbeat
    call_timeout: float = 2.0  # the longest a provider call may take (the client's read timeout)
    margin: float = 0.5
    window: float = 1.0

    @property
    def hold(self) -> float:
        return self.window + self.call_timeout + self.margin

    @property
    def fence(self) -> float:
        """How long before its expiry a member stops calling providers."""
        return self.call_timeout + self.margin


@dataclass(frozen=True)
class SenderView:
    key: str  # `WHATSAPP:<phone number id>`, `SMS:<origination>`, `EMAIL:<sender>`
    start_at: float  # the owner may call from then on
    paused_until: float = 0.0
    slow_seen: float = 0.0  # the latest rate-limit signal recorded by anyone (130429 in a status event)


@dataclass(frozen=True)
class View:
    """What one member may do until its next heartbeat."""

    member: str
    expires_at: float
    fence: float
    senders: dict[str, SenderView] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)  # budget -> fraction of the account limit
    members: int = 1

    def may_call_until(self) -> float:
        return self.expires_at - self.fence


def empty() -> dict[str, Any]:
    return {"members": {}, "senders": {}}


def _committed(member: dict[str, Any], budget: str, now: float, timing: Timing) -> float:
    entry = member.get("shares", {}).get(budget)
    if not entry:
        return 0.0
    share, prev, changed = entry["share"], entry.get("prev", 0.0), entry.get("changed_at", 0.0)
    return max(share, prev) if now < changed + timing.hold else share


def heartbeat(
    doc: dict[str, Any],
    me: str,
    now: float,
    senders: dict[str, float],
    timing: Timing,
    marks: dict[str, dict[str, float]] | None = None,
    busy: Iterable[str] | None = None,
) -> tuple[dict[str, Any], View]:
    """One member's heartbeat: renew, prune, release what is over its fair part, acquire free senders, set
    its shares. `senders` maps every configured sender key to its limit (phones: messages a second), which
    weighs the send budget. Returns the new document (to compare-and-swap) and this member's view."""
    doc = copy.deepcopy(doc) if doc else empty()
    members: dict[str, Any] = doc.setdefault("members", {})
    table: dict[str, Any] = doc.setdefault("senders", {})

    # Members gone for longer than hold no longer commit any budget or hold any sender.
    for member_id in [m for m, e in members.items() if e["expires_at"] + timing.hold < now and m != me]:
        del members[member_id]
    mine = members.setdefault(me, {"expires_at": now, "shares": {}})
    mine["expires_at"] = now + timing.ttl
    if busy is not None:
        mine["busy"] = sorted(busy)
    else:
        mine.pop("busy", None)  # says nothing of its demand: all it owns counts
    live = sorted(m for m, e in members.items() if e["expires_at"] >= now)

    for key in senders:
        table.setdefault(key, {"owner": None, "quiet_until": 0.0, "paused_until": 0.0, "slow_seen": 0.0})

    # Fair part: the configured senders split as evenly as the live members allow, in member-id order.
    configured = sorted(senders)
    n, m = len(configured), max(1, len(live))
    position = live.index(me)
    target = n // m + (1 if position < n % m else 0)

    owned = sorted(k for k in configured if table[k]["owner"] == me)
    # Phase 2 of a release: a sender marked releasing at an earlier heartbeat is set free now.
    for key in owned:
        entry = table[key]
        if entry.get("releasing"):
            entry.update(owner=None, releasing=False, quiet_until=max(entry["quiet_until"], now + timing.hold))
    owned = [k for k in owned if table[k]["owner"] == me]
    active = [k for k in owned if not table[k].get("releasing")]
    # Phase 1: over the fair part and someone is under it -> mark the extras releasing (stop calling now).
    if len(active) > target:
        others_under = any(
            sum(1 for k in configured if table[k]["owner"] == other) < _target(n, live, other) for other in live
        )
        if others_under:
            for key in active[target:]:
                table[key]["releasing"] = True
            active = active[:target]
    # Acquire free senders (or those of members that expired) up to the fair part.
    for key in configured:
        if len(active) >= target:
            break
        entry = table[key]
        owner = entry["owner"]
        if owner == me:
            continue
        if owner is not None:
            holder = members.get(owner)
            if holder is not None and holder["expires_at"] >= now:
                continue  # alive: it releases on its own when over its part
            gone_at = holder["expires_at"] if holder else 0.0
            entry["quiet_until"] = max(entry["quiet_until"], gone_at + timing.hold)
        entry.update(owner=me, releasing=False)
        active.append(key)

    # Budgets: the send share follows the demand (the owned phones with work, by their limits), else the owned
    # phones' limits; media shares are even among live members.
    def weight(member: str, by_demand: bool) -> float:
        wanted = members[member].get("busy") if by_demand else None
        return sum(
            senders[k]
            for k in configured
            if k.startswith("WHATSAPP:")
            and table[k]["owner"] == member
            and not table[k].get("releasing")
            and (wanted is None or k in wanted)
        )

    weights = {member: weight(member, True) for member in live}
    if not sum(weights.values()):
        weights = {member: weight(member, False) for member in live}
    total_weight = sum(weights.values())
    shares: dict[str, float] = {}
    for budget in BUDGETS:
        if budget == SEND:
            desired = weights[me] / total_weight if total_weight else 0.0
        else:
            desired = 1.0 / len(live)
        entry = mine["shares"].setdefault(budget, {"share": 0.0, "prev": 0.0, "changed_at": 0.0})
        held = _committed(mine, budget, now, timing)
        current = entry["share"]
        if desired < current - 1e-9:
            entry.update(share=desired, prev=held, changed_at=now)
        elif desired > current + 1e-9:
            others = sum(_committed(e, budget, now, timing) for mid, e in members.items() if mid != me)
            available = max(0.0, 1.0 - others)
            grant = max(current, min(desired, available))
            grant = math.floor(grant * 1e9) / 1e9  # never round up into someone else's part
            if grant > current:
                entry.update(share=grant, prev=held, changed_at=now)
        shares[budget] = entry["share"]

    marks = marks or {}
    views = {
        key: SenderView(
            key,
            start_at=table[key]["quiet_until"],
            paused_until=max(table[key].get("paused_until", 0.0), marks.get(key, {}).get("paused_until", 0.0)),
            slow_seen=max(table[key].get("slow_seen", 0.0), marks.get(key, {}).get("slow_seen", 0.0)),
        )
        for key in active
    }
    view = View(me, mine["expires_at"], timing.fence, views, shares, len(live))
    return doc, view


def _target(n: int, live: list[str], member: str) -> int:
    m = max(1, len(live))
    return n // m + (1 if live.index(member) < n % m else 0)


def leave(doc: dict[str, Any], me: str, now: float, timing: Timing) -> dict[str, Any]:
    """A graceful stop: the member's senders become free after hold, its shares stay committed until then."""
    doc = copy.deepcopy(doc) if doc else empty()
    member = doc.get("members", {}).get(me)
    if member is None:
        return doc
    for entry in doc.get("senders", {}).values():
        if entry.get("owner") == me:
            entry.update(owner=None, releasing=False, quiet_until=max(entry["quiet_until"], now + timing.hold))
    # Its calls have all completed (it stopped calling first): shrink its life to now, hold does the rest.
    member["expires_at"] = min(member["expires_at"], now)
    return doc


def pause_sender(doc: dict[str, Any], key: str, until: float) -> dict[str, Any]:
    """131048 (spam rate limit): nobody calls for this sender until `until`."""
    doc = copy.deepcopy(doc) if doc else empty()
    entry = doc.setdefault("senders", {}).setdefault(
        key, {"owner": None, "quiet_until": 0.0, "paused_until": 0.0, "slow_seen": 0.0}
    )
    entry["paused_until"] = max(entry.get("paused_until", 0.0), until)
    return doc


def note_rate_limited(doc: dict[str, Any], key: str, at: float) -> dict[str, Any]:
    """130429 seen in a status event (possibly by another process): the owner slows the sender down."""
    doc = copy.deepcopy(doc) if doc else empty()
    entry = doc.setdefault("senders", {}).setdefault(
        key, {"owner": None, "quiet_until": 0.0, "paused_until": 0.0, "slow_seen": 0.0}
    )
    entry["slow_seen"] = max(entry.get("slow_seen", 0.0), at)
    return doc
