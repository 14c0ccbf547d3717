"""The pair limit (one phone to one recipient, about one message per 6 s: Meta's 131056) across three messaging
processes (WECARE_MESSAGING_PROCESSES=3) while the phone changes hands, through the whole stack as `make run`
starts it. The phone's owner is frozen (SIGSTOP: a process that stops answering, as a long pause, a partition or a
crash looks to the others; the stack's supervisor only notices exits), its lease lapses, another process takes the
phone, and the frozen one is thawed once the phone has moved (it must not call for it again).

The platform's pair interval is 20 s here (WECARE_WHATSAPP_PAIR_INTERVAL_SECONDS), longer than a hand-over takes,
and the sandbox plays Meta's 6 s (pair_gap). Two customers each get two messages from one phone, accepted at once:
1. frozen a moment after the first messages, once the owner has saved its pair log (every 0.5 s): the new owner
   seeds its pacing from that log, so the second messages wait out the whole 20 s (without the log they would go as
   soon as the phone moved, about 9 s after the first);
2. frozen at once, before the owner could save what it just sent (what a crash loses): the new owner cannot know,
   and the hand-over's own wait keeps Meta's limit: a lapsed owner stopped calling call_timeout + margin before its
   lease ran out and the next may call a hold after that (domain.coordination), 2.5 + 3.5 s = 6 s at the least.
The sandbox log, read independently, shows each pair at least that far apart, every message sent once, and no
message was refused with 131056."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator

import pytest
import requests

from localrun.handle import Stack, running_stack
from localrun.sandbox import log as sandbox_log
from runtime.settings import Settings
from tests.process.meta_support import Api
from tests.support.polling import until

pytestmark = pytest.mark.process

PAIR = 20.0  # the platform's interval here
META = 6.0  # the sandbox's (Meta's) pair limit
SAVED = 1.5  # seconds after the first calls: the owner's pair log (saved each 0.5 s) has them


@pytest.fixture(scope="module")
def pair_stack(tmp_path_factory) -> Iterator[Stack]:
    env = {"WECARE_MESSAGING_PROCESSES": "3", "WECARE_WHATSAPP_PAIR_INTERVAL_SECONDS": str(PAIR)}
    with running_stack(tmp_path_factory.mktemp("pair-stack"), extra_env=env) as running:
        yield running


def owner_of(stack: Stack, phone: str) -> str:
    """The member owning the phone's lease now, from the coordination document in messaging's store."""
    path = stack.run.data / f"{Settings.from_env({}).whatsapp_outbound_table}.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        row = db.execute("SELECT doc FROM coordination WHERE id = 1").fetchone()
    senders = json.loads(row[0]).get("senders", {}) if row else {}
    return (senders.get(f"WHATSAPP:{phone}") or {}).get("owner") or ""


def calls_to(stack: Stack, phone: str, customers: list[str]) -> list[sandbox_log.Call]:
    calls = sandbox_log.read(stack.run.root / "sandbox-sent.jsonl")
    return [c for c in calls if c.channel == "WHATSAPP" and c.origin.endswith(phone) and c.to in customers]


def send(api: Api, phone: str, customer: str, order: str) -> str:
    body = {
        "channel": "CHANNEL_WHATSAPP",
        "category": "CATEGORY_UTILITY",
        "recipient": customer,
        "origination": phone,
        "content": {
            "template": {
                "templateName": "order_update",
                "language": "en_US",
                "bodyParameters": [{"text": "Guest"}, {"text": order}],
            }
        },
    }
    return api.post("messages:send", {"message": body})["name"]


def hand_over(api: Api, stack: Stack, phone: str, customers: list[str], freeze_after: float) -> dict:
    """Two messages to each customer, the phone's owner frozen `freeze_after` s after the first ones went."""
    names = [send(api, phone, c, f"A-{n}") for n in range(2) for c in customers]
    until("the first messages", lambda: len(calls_to(stack, phone, customers)) >= len(customers), within=30)
    time.sleep(freeze_after)
    first_owner = owner_of(stack, phone)
    pid = int(first_owner.split(":")[1])
    os.kill(pid, signal.SIGSTOP)
    frozen_at = time.time()
    try:
        until("another owner of the phone", lambda: owner_of(stack, phone) not in ("", first_owner), within=30)
        moved = time.time() - frozen_at
    finally:
        os.kill(pid, signal.SIGCONT)
    until("every message sent", lambda: len(calls_to(stack, phone, customers)) >= 2 * len(customers), within=60)
    time.sleep(2.0)  # any extra call (a message sent twice by the thawed owner) would land now
    calls = calls_to(stack, phone, customers)
    assert len(calls) == 2 * len(customers), [(c.to, c.t_ns) for c in calls]
    assert all(c.t_ns / 1e9 > frozen_at for c in sorted(calls, key=lambda c: c.t_ns)[len(customers) :])
    refused = {}
    for name in names:
        m = until(f"{name} settled", lambda n=name: (m := api.get(n))["status"] != "STATUS_ACCEPTED" and m, within=30)
        if m["status"] == "STATUS_FAILED":
            refused[name] = m.get("error")
    assert not refused, f"refused: {refused}"
    return {"gap": sandbox_log.report(calls).min_pair_gap_s, "moved": moved}


def test_the_pair_limit_holds_across_three_processes_while_the_phone_changes_hands(pair_stack):
    api = Api(pair_stack)
    requests.post(f"{api.sandbox}/sandbox/config", json={"pair_gap": META}, timeout=10).raise_for_status()
    phone = Settings.from_env({}).whatsapp_phone_number_ids[0]

    saved = hand_over(api, pair_stack, phone, ["+919877900001", "+919877900002"], SAVED)
    assert saved["gap"] >= PAIR, f"the new owner did not keep the saved pairs: {saved}"
    lost = hand_over(api, pair_stack, phone, ["+919877900003", "+919877900004"], 0.0)
    assert lost["gap"] >= META, f"a pair closer than Meta's limit after a crash-like hand-over: {lost}"
    print(
        f"pairs saved before the owner froze: closest {saved['gap']:.2f}s (interval {PAIR:g}s, phone moved after"
        f" {saved['moved']:.1f}s); frozen at once: closest {lost['gap']:.2f}s (Meta's {META:g}s, moved after"
        f" {lost['moved']:.1f}s)"
    )
