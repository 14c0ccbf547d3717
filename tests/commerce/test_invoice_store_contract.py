"""The InvoiceStore contract, run against every implementation: SQLite in a temporary directory and DynamoDB on
moto (server mode, a fresh table per test): drafts, versions, deletion, numbering per series and financial year,
credit notes, the issue-day index, and concurrent issuers taking consecutive numbers with no gap and no repeat."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime

import pytest

from runtime import dynamo, ids
from runtime.aws import AwsClients
from runtime.errors import Aborted, FailedPrecondition
from runtime.settings import Settings
from services.commerce.adapters import invoice_dynamodb
from services.commerce.adapters.invoice_dynamodb import DynamoInvoiceStore
from services.commerce.adapters.invoice_sqlite import SqliteInvoiceStore
from services.commerce.domain import gst
from services.commerce.domain.invoices import Invoice, Kind, Line

# 2026-06-10 12:00 IST and 2027-03-31 23:59:30 IST: both in financial year 2026-27; then 2027-04-01 00:00:30.
JUNE = datetime(2026, 6, 10, 12, 0, tzinfo=gst.IST).timestamp()
LAST_MOMENT = datetime(2027, 3, 31, 23, 59, 30, tzinfo=gst.IST).timestamp()
NEXT_YEAR = datetime(2027, 4, 1, 0, 0, 30, tzinfo=gst.IST).timestamp()


@pytest.fixture(params=["sqlite", "dynamodb"])
async def stores(request, tmp_path, monkeypatch):
    """A factory of stores over one table (several stores = several processes sharing it)."""
    made, clients = [], []
    if request.param == "sqlite":

        def factory():
            made.append(SqliteInvoiceStore(tmp_path / "invoices.sqlite3"))
            return made[-1]
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        table = f"invoices-{uuid.uuid4().hex[:12]}"
        first = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=endpoint))
        clients.append(first)
        await invoice_dynamodb.ensure_table(await first.client("dynamodb"), table)
        # moto undoes a cancelled transaction by restoring a copy of the table taken when it began, which also
        # undoes one that committed meanwhile: transactions go one at a time (their reads still race, so the
        # counter's conditions still fail and are retried exactly as on DynamoDB).
        one_at_a_time = asyncio.Lock()
        transact = dynamo.transact_write

        async def serialised(*args, **kwargs):
            async with one_at_a_time:
                return await transact(*args, **kwargs)

        monkeypatch.setattr(invoice_dynamodb.dynamo, "transact_write", serialised)

        def factory():
            aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=endpoint))
            clients.append(aws)
            made.append(DynamoInvoiceStore(aws, table))
            return made[-1]

    yield factory
    for store in made:
        await store.close()
    for aws in clients:
        await aws.close()


@pytest.fixture
async def store(stores):
    return stores()


def draft(contact: str = "", **fields) -> Invoice:
    fields.setdefault("lines", (Line("Tea, 1 kg", 2000, 45000, 500, "0902", 1000),))
    return Invoice(
        id=ids.new_id(),
        kind=Kind.INVOICE,
        contact=contact or ids.new_id(),
        intra_state=True,
        create_time=JUNE,
        update_time=JUNE,
        creator="operator-1",
        **fields,
    )


async def test_a_draft_round_trips_and_lists(store):
    a, b = draft(notes="first"), draft(notes="second")
    for d in (a, b):
        await store.create(d)
    assert await store.get(a.id) == a
    assert await store.get(ids.new_id()) is None
    assert [x.id for x in await store.list(None, 10)] == [a.id, b.id]
    assert [x.id for x in await store.list(a.id, 10)] == [b.id]
    assert [x.id for x in await store.list(None, 10, contact=b.contact)] == [b.id]
    assert a.totals.total == 90000 - 1000 + 4450  # 2 x Rs 450 less Rs 10, 5% GST


async def test_replace_needs_the_version_read(store):
    d = draft()
    await store.create(d)
    changed = dataclasses.replace(d, notes="changed", version=2)
    assert await store.replace(changed, 1) == changed
    with pytest.raises(Aborted):
        await store.replace(dataclasses.replace(d, notes="stale", version=2), 1)
    assert (await store.get(d.id)).notes == "changed"


async def test_drafts_delete_issued_invoices_do_not(store):
    d, kept = draft(), draft()
    for x in (d, kept):
        await store.create(x)
    with pytest.raises(Aborted):
        await store.delete_draft(d.id, 7)
    assert await store.delete_draft(d.id, 1) == d
    assert await store.get(d.id) is None
    assert await store.delete_draft(d.id, None) is None
    issued = await store.issue(kept, JUNE)
    with pytest.raises(FailedPrecondition) as refused:
        await store.delete_draft(kept.id, None)
    assert refused.value.reason == "INVOICE_ISSUED"
    assert await store.get(kept.id) == issued


async def test_numbers_run_per_series_and_financial_year(store):
    drafts = [draft() for _ in range(4)]
    for d in drafts:
        await store.create(d)
    first = await store.issue(drafts[0], JUNE)
    second = await store.issue(drafts[1], LAST_MOMENT)
    april = await store.issue(drafts[2], NEXT_YEAR)
    assert (first.number, second.number, april.number) == ("INV/26-27/00001", "INV/26-27/00002", "INV/27-28/00001")
    assert first.issued and first.version == 2 and first.financial_year == "2026-27" and first.issue_time == JUNE
    assert await store.get(first.id) == first
    with pytest.raises(Aborted):  # issued meanwhile: no second number
        await store.issue(drafts[0], JUNE)
    stale = dataclasses.replace(drafts[3], version=5)
    with pytest.raises(Aborted):
        await store.issue(stale, JUNE)
    assert (await store.get(drafts[3].id)).issued is False
    third = await store.issue(drafts[3], JUNE)
    assert third.number == "INV/26-27/00003"  # the refused attempts took no number
    assert [x.id for x in await store.issued_on("2026-06-10")] == sorted([first.id, third.id])
    assert [x.id for x in await store.issued_on("2027-04-01")] == [april.id]


async def test_a_credit_note_takes_its_own_series_and_credits_the_invoice(store):
    d = draft()
    await store.create(d)
    invoice = await store.issue(d, JUNE)
    note = Invoice(
        id=ids.new_id(),
        kind=Kind.CREDIT_NOTE,
        contact=invoice.contact,
        lines=(Line("Returned: tea", 1000, 45000, 500),),
        intra_state=True,
        credited_invoice=invoice.id,
        notes="one packet returned",
        create_time=JUNE,
        update_time=JUNE,
    )
    issued, credited = await store.credit(note, invoice, JUNE + 60)
    assert issued.number == "CN/26-27/00001" and issued.credited_invoice == invoice.id
    assert credited.credited == note.totals.total == 47250 and credited.version == invoice.version + 1
    assert await store.get(invoice.id) == credited and await store.get(issued.id) == issued
    with pytest.raises(Aborted):  # against the invoice as it was: refused, takes no number
        await store.credit(dataclasses.replace(note, id=ids.new_id()), invoice, JUNE + 120)
    again, _ = await store.credit(dataclasses.replace(note, id=ids.new_id()), credited, JUNE + 180)
    assert again.number == "CN/26-27/00002"


async def test_concurrent_issuers_take_consecutive_numbers(stores):
    """Four stores (as four pods) issue 40 drafts at once: numbers 1..40, each once, none skipped."""
    issuers = [stores() for _ in range(4)]
    drafts = [draft() for _ in range(40)]
    for d in drafts:
        await issuers[0].create(d)

    async def issue(i: int, d: Invoice) -> Invoice:
        return await issuers[i % len(issuers)].issue(d, JUNE)

    issued = await asyncio.gather(*(issue(i, d) for i, d in enumerate(drafts)))
    numbers = sorted(x.sequence for x in issued)
    assert numbers == list(range(1, 41))
    assert len({x.number for x in issued}) == 40
    stored = [await issuers[0].get(d.id) for d in drafts]
    assert sorted(x.sequence for x in stored) == numbers
