"""The store contract of what Meta's rules need (templates written one at a time by their lifecycle, the
portfolio's tier ledger and counted customers, the marketing cap, the pair log handed over with a phone), run on
SQLite and on DynamoDB (moto, server mode) like tests/messaging/test_store_contract.py, whose fixture it uses."""

from __future__ import annotations

import asyncio
import dataclasses

from services.messaging.domain.model import Category, MessageError, SendResult, Status, StatusEvent, Template
from tests.messaging.test_store_contract import message, stores  # noqa: F401  (the fixture: both engines)

NOW = 1_718_000_000.25


async def test_templates_one_at_a_time(stores):  # noqa: F811
    out, _ = stores
    t = Template(
        "spring_sale",
        "en_US",
        Category.MARKETING,
        "PENDING",
        "waba-1",
        meta_template_id="123",
        components=({"type": "BODY", "text": "Hi {{1}} there", "example": {"body_text": [["Asha"]]}},),
        status_time=NOW,
    )
    await out.templates.put_template(t)
    assert await out.templates.get_template("spring_sale", "en_US") == t
    moved = dataclasses.replace(t, template_status="REJECTED", status_reason="SCAM: no", status_time=NOW + 1)
    await out.templates.put_template(moved)
    assert await out.templates.get_template("spring_sale", "en_US") == moved
    assert [x.key for x in await out.templates.list_templates("", "", 10)] == ["spring_sale.en_US"]
    assert await out.templates.delete_template("spring_sale", "en_US") == moved
    assert await out.templates.delete_template("spring_sale", "en_US") is None
    assert await out.templates.get_template("spring_sale", "en_US") is None


async def test_the_tier_ledger_by_compare_and_swap_and_counted_customers(stores):  # noqa: F811
    out, _ = stores
    assert await out.portfolio.load_ledger() == ({}, 0)
    assert await out.portfolio.save_ledger({"buckets": {"7": 3}}, 0)
    assert not await out.portfolio.save_ledger({"buckets": {"7": 9}}, 0)  # someone got there first
    doc, version = await out.portfolio.load_ledger()
    assert doc == {"buckets": {"7": 3}} and version == 1
    assert await out.portfolio.save_ledger({"buckets": {"7": 4}}, 1)
    assert not await out.portfolio.save_ledger({"buckets": {"7": 5}}, 1)  # a stale version
    assert (await out.portfolio.load_ledger())[1] == 2

    assert await out.portfolio.counted(["+911", "+912"], NOW) == {}
    await out.portfolio.count(["+911", "+912"], 7, NOW + 100, NOW)
    assert await out.portfolio.counted(["+911", "+912", "+913"], NOW) == {"+911": 7, "+912": 7}
    await out.portfolio.count(["+911"], 9, NOW + 200, NOW + 10)  # reached again later: counted later
    await out.portfolio.count(["+912"], 6, NOW + 50, NOW + 10)  # an earlier bucket never replaces a later one
    assert await out.portfolio.counted(["+911", "+912"], NOW + 10) == {"+911": 9, "+912": 7}
    assert await out.portfolio.counted(["+911", "+912"], NOW + 150) == {"+911": 9}  # +912 left the window


async def test_the_marketing_cap_counts_each_message_once(stores):  # noqa: F811
    out, _ = stores
    since = NOW - 100
    assert await out.caps.take("+911", "m1", NOW, since, 2)
    assert await out.caps.take("+911", "m1", NOW + 1, since, 2)  # the same message: counted once
    assert await out.caps.take("+911", "m2", NOW + 2, since, 2)
    assert not await out.caps.take("+911", "m3", NOW + 3, since, 2)  # the cap
    assert await out.caps.take("+912", "m4", NOW + 3, since, 2)  # another customer
    assert await out.caps.counts(["+911", "+912", "+913"], since) == {"+911": 2, "+912": 1}
    later = NOW + 1.5  # m1 is out of the period now, m2 still in it
    assert await out.caps.take("+911", "m5", NOW + 200, later, 2)
    assert await out.caps.counts(["+911"], later) == {"+911": 2}


async def test_the_marketing_cap_holds_under_concurrent_takes(stores):  # noqa: F811
    # As three messaging processes calling at once: of 12 messages to one customer under a cap of 4, exactly 4
    # are counted (the others refused), and a ledger claim races the same way.
    out, _ = stores
    taken = await asyncio.gather(*(out.caps.take("+919", f"m{i}", NOW + i / 100, NOW - 100, 4) for i in range(12)))
    assert sum(taken) == 4
    assert await out.caps.counts(["+919"], NOW - 100) == {"+919": 4}
    _, version = await out.portfolio.load_ledger()
    saved = await asyncio.gather(*(out.portfolio.save_ledger({"buckets": {"1": i}}, version) for i in range(3)))
    assert sum(saved) == 1  # one compare-and-swap wins, the others read again


async def test_a_senders_pair_log_is_handed_over(stores):  # noqa: F811
    out, _ = stores
    assert await out.pairs.load_pairs("WHATSAPP:p1") == {}
    await out.pairs.save_pairs("WHATSAPP:p1", {"+911": NOW, "+912": NOW + 1.5})
    await out.pairs.save_pairs("WHATSAPP:p2", {"+913": NOW})
    assert await out.pairs.load_pairs("WHATSAPP:p1") == {"+911": NOW, "+912": NOW + 1.5}
    await out.pairs.save_pairs("WHATSAPP:p1", {"+914": NOW + 3})  # replaced whole
    assert await out.pairs.load_pairs("WHATSAPP:p1") == {"+914": NOW + 3}


async def test_132015_withdraws_a_keyed_message_and_frees_its_key_an_unkeyed_one_fails(stores):  # noqa: F811
    """Meta refused the send: its template is paused (132015). A keyed message is withdrawn TEMPLATE_PAUSED, as the
    check before the call would have done, so its key is free and the sender's next send under it goes once;
    without a key it stays failed with Meta's code, and 132016 (disabled) is final either way."""
    out, _ = stores
    keyed, unkeyed, disabled, read = (
        message(key="bulkJobs/J9/+911"),
        message(),
        message(key="bulkJobs/J9/+912"),
        message(key="bulkJobs/J9/+913"),
    )
    await out.messages.accept([keyed, unkeyed, disabled, read])
    await out.queue.hand_off([keyed.id, unkeyed.id, disabled.id, read.id], NOW + 1)
    await out.queue.record_results(
        [SendResult(m.id, "sent", NOW + 2, provider_message_id=f"wamid.{m.id}") for m in (keyed, unkeyed, disabled)]
        + [SendResult(read.id, "sent", NOW + 2, provider_message_id=f"wamid.{read.id}")]
    )
    await out.messages.apply_status(StatusEvent(f"wamid.{read.id}", Status.READ, NOW + 3, read.id))

    def refused(m, code: str) -> StatusEvent:
        return StatusEvent(f"wamid.{m.id}", Status.FAILED, NOW + 4, m.id, error=MessageError(code, "Template paused"))

    [one] = await out.messages.apply_statuses([refused(keyed, "132015")])
    assert one.changed and one.message.status == Status.WITHDRAWN
    assert one.message.error.code == "TEMPLATE_PAUSED" and "132015" in one.message.error.title
    # In a batch (ingest's path), the same rule: a read one stays read.
    batch = await out.messages.apply_statuses(
        [refused(unkeyed, "132015"), refused(disabled, "132016"), refused(read, "132015")]
    )
    assert [(a.message.status, a.message.error and a.message.error.code) for a in batch] == [
        (Status.FAILED, "132015"),
        (Status.FAILED, "132016"),
        (Status.READ, None),
    ]
    # The repeat of the refusal changes nothing.
    [again] = await out.messages.apply_statuses([refused(keyed, "132015")])
    assert again.duplicate and not again.changed
    # The key is free: the resumed sender's message under it is a new one.
    resent = message(key="bulkJobs/J9/+911", at=NOW + 10)
    [o] = await out.messages.accept([resent])
    assert not o.duplicate and (await out.messages.get_by_key("bulkJobs/J9/+911")).id == resent.id
    [o] = await out.messages.accept([message(key="bulkJobs/J9/+912", at=NOW + 10)])
    assert o.duplicate and o.message.id == disabled.id
