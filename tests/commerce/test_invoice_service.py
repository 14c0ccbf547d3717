"""CommerceService's invoice RPCs over real gRPC (and the gateway's JSON routes), wired as main() wires them:
drafts, bad input named with nothing changed, issuing with the year's number and a PDF in S3 behind a pre-signed
URL, immutability once issued, credit notes, roles, the audit trail, and sending through messaging with a
tracked payment link."""

from __future__ import annotations

import io

import aiohttp
import grpc
import pytest
from google.protobuf import field_mask_pb2
from pypdf import PdfReader

from runtime import ids
from runtime.audit.model import AuditQuery
from runtime.audit.sqlite_store import SqliteAuditStore
from services.commerce.domain.money import inr
from tests.commerce.conftest import ADMIN, OPERATOR, VIEWER
from tests.support.rpc import violations
from wecare.commerce.v1 import invoices_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2 as mpb

CONTACT = f"contacts/{ids.new_id()}"


def tea(**fields) -> pb.Invoice:
    values = dict(
        contact=CONTACT,
        customer=pb.InvoiceCustomer(display_name="Asha Traders", state_code="29", address="Pune"),
        line_items=[
            pb.LineItem(description="Assam tea 1 kg", quantity="2", unit_price_paise=45000, gst_rate_basis_points=500),
            pb.LineItem(description="Delivery", unit_price_paise=9999, gst_rate_basis_points=1800, hsn_code="996812"),
        ],
        due_date="2099-01-31",
        notes="Thank you",
    )
    values.update(fields)
    return pb.Invoice(**values)


async def create(stub, md=OPERATOR, **fields) -> pb.Invoice:
    return await stub.CreateInvoice(pb.CreateInvoiceRequest(invoice=tea(**fields)), metadata=md)


async def listed(stub) -> list[pb.Invoice]:
    return list((await stub.ListInvoices(pb.ListInvoicesRequest(page_size=500), metadata=VIEWER)).invoices)


async def refused(call, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is code, caught.value.details()
    return caught.value


async def test_a_draft_is_priced_changed_and_deleted(world):
    stub = world.stub
    draft = await create(stub)
    assert draft.status == pb.INVOICE_STATUS_DRAFT and draft.number == "" and draft.creator == "user-operator"
    assert draft.supply_type == pb.SUPPLY_TYPE_INTRA_STATE and draft.currency_code == "INR"
    t = draft.totals
    assert (t.subtotal_paise, t.cgst_paise, t.sgst_paise, t.igst_paise) == (99999, 2250 + 900, 2250 + 900, 0)
    assert t.total_paise == 99999 + 6300 and draft.amount_due_paise == 0  # a draft asks for nothing yet
    assert [li.amounts.total_paise for li in draft.line_items] == [94500, 11799]
    assert await stub.GetInvoice(pb.GetInvoiceRequest(name=draft.name), metadata=VIEWER) == draft
    moved = pb.Invoice(name=draft.name, customer=pb.InvoiceCustomer(display_name="Asha", state_code="27"))
    changed = await stub.UpdateInvoice(
        pb.UpdateInvoiceRequest(invoice=moved, update_mask=field_mask_pb2.FieldMask(paths=["customer"])),
        metadata=OPERATOR,
    )
    assert changed.supply_type == pb.SUPPLY_TYPE_INTER_STATE and changed.totals.igst_paise == 6300
    assert changed.notes == "Thank you" and changed.etag != draft.etag
    stale = pb.Invoice(name=draft.name, notes="stale", etag=draft.etag)
    await refused(
        stub.UpdateInvoice(
            pb.UpdateInvoiceRequest(invoice=stale, update_mask=field_mask_pb2.FieldMask(paths=["notes"])),
            metadata=OPERATOR,
        ),
        grpc.StatusCode.ABORTED,
    )
    await stub.DeleteInvoice(pb.DeleteInvoiceRequest(name=draft.name), metadata=OPERATOR)
    await refused(stub.GetInvoice(pb.GetInvoiceRequest(name=draft.name), metadata=VIEWER), grpc.StatusCode.NOT_FOUND)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"line_items": [pb.LineItem(description="x", quantity="-1", unit_price_paise=100)]},
            "invoice.line_items[0].quantity",
        ),
        (
            {"line_items": [pb.LineItem(description="x", unit_price_paise=100, gst_rate_basis_points=1700)]},
            "invoice.line_items[0].gst_rate_basis_points",
        ),
        ({"line_items": [pb.LineItem(description="x", unit_price_paise=-5)]}, "invoice.line_items[0].unit_price_paise"),
        (
            {"line_items": [pb.LineItem(description="x", quantity="1.2345", unit_price_paise=100)]},
            "invoice.line_items[0].quantity",
        ),
        (
            {"line_items": [pb.LineItem(description="x", unit_price_paise=100, discount_paise=101)]},
            "invoice.line_items[0].discount_paise",
        ),
        ({"line_items": []}, "invoice.line_items"),
        ({"discount_paise": 10**9}, "invoice.discount_paise"),
        ({"contact": "people/1"}, "invoice.contact"),
        ({"currency_code": "USD"}, "invoice.currency_code"),
        ({"due_date": "31/01/2099"}, "invoice.due_date"),
        ({"customer": pb.InvoiceCustomer(state_code="99")}, "invoice.customer.state_code"),
        ({"customer": pb.InvoiceCustomer(gstin="not-a-gstin")}, "invoice.customer.gstin"),
        ({"number": "INV/26-27/00001"}, "invoice.number"),
        ({"name": f"invoices/{ids.new_id()}"}, "invoice.name"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(world, change, field):
    error = await refused(create(world.stub, **change), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in violations(error)
    assert await listed(world.stub) == []


async def test_over_http_a_fraction_of_a_paisa_is_400_naming_the_field(world):
    auth = {"Authorization": OPERATOR[0][1]}
    body = {
        "contact": CONTACT,
        "lineItems": [{"description": "Tea", "quantity": "1", "unitPricePaise": 100.5, "gstRateBasisPoints": 500}],
    }
    reply = await world.http.post("/v1/invoices", json=body, headers=auth)
    assert reply.status == 400
    fields = [v["field"] for d in (await reply.json())["details"] for v in d.get("fieldViolations", [])]
    assert any("unit_price_paise" in f or "unitPricePaise" in f for f in fields), fields
    body["lineItems"][0]["unitPricePaise"] = "100"
    made = await world.http.post("/v1/invoices", json=body, headers=auth)
    assert made.status == 200, await made.text()
    assert (await made.json())["totals"]["totalPaise"] == "105"
    assert len(await listed(world.stub)) == 1


async def test_issue_numbers_renders_and_freezes_the_invoice(world):
    stub = world.stub
    first, second = await create(stub), await create(stub)
    issued = await stub.IssueInvoice(pb.IssueInvoiceRequest(name=first.name, etag=first.etag), metadata=OPERATOR)
    assert (
        issued.status == pb.INVOICE_STATUS_ISSUED
        and issued.number.startswith("INV/")
        and issued.number.endswith("/00001")
    )
    assert issued.amount_due_paise == issued.totals.total_paise and issued.issue_time.seconds > 0
    assert issued.document_key == f"whatsapp-media/whatsapp-media-outgoing/invoices/{issued.name.split('/')[1]}.pdf"
    again = await stub.IssueInvoice(pb.IssueInvoiceRequest(name=second.name), metadata=OPERATOR)
    assert again.number.endswith("/00002")
    got = await stub.GetInvoice(pb.GetInvoiceRequest(name=issued.name), metadata=VIEWER)
    assert got.document_uri.startswith("http")
    async with aiohttp.ClientSession() as http, http.get(got.document_uri) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "application/pdf"
        pdf = await response.read()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert issued.number in text and "Assam tea 1 kg" in text and inr(issued.totals.total_paise) in text
    # Frozen: no edit, no deletion, no second number; a named refusal (400 over HTTP) and nothing changed.
    edit = pb.Invoice(name=issued.name, notes="changed")
    error = await refused(
        stub.UpdateInvoice(
            pb.UpdateInvoiceRequest(invoice=edit, update_mask=field_mask_pb2.FieldMask(paths=["notes"])),
            metadata=OPERATOR,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "credit note" in error.details()
    await refused(
        stub.DeleteInvoice(pb.DeleteInvoiceRequest(name=issued.name), metadata=OPERATOR),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    await refused(
        stub.IssueInvoice(pb.IssueInvoiceRequest(name=issued.name), metadata=OPERATOR),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    reply = await world.http.patch(
        f"/v1/{issued.name}?updateMask=notes", json={"notes": "changed"}, headers={"Authorization": OPERATOR[0][1]}
    )
    assert reply.status == 400 and "INVOICE_ISSUED" in await reply.text()
    after = await stub.GetInvoice(pb.GetInvoiceRequest(name=issued.name), metadata=VIEWER)
    assert after.notes == "Thank you" and after.etag == got.etag


async def test_credit_notes_are_for_admins_and_never_credit_more_than_is_left(world):
    stub = world.stub
    invoice = await stub.IssueInvoice(pb.IssueInvoiceRequest(name=(await create(stub)).name), metadata=OPERATOR)
    line = pb.LineItem(description="Returned: tea", unit_price_paise=45000, gst_rate_basis_points=500)
    ask = pb.CreditInvoiceRequest(name=invoice.name, line_items=[line], reason="one packet came back damaged")
    await refused(stub.CreditInvoice(ask, metadata=OPERATOR), grpc.StatusCode.PERMISSION_DENIED)
    note = await stub.CreditInvoice(ask, metadata=ADMIN)
    assert note.kind == pb.INVOICE_KIND_CREDIT_NOTE and note.number.startswith("CN/") and note.number.endswith("/00001")
    assert note.credited_invoice == invoice.name and note.totals.total_paise == 47250
    after = await stub.GetInvoice(pb.GetInvoiceRequest(name=invoice.name), metadata=VIEWER)
    assert after.amount_credited_paise == 47250 and after.amount_due_paise == invoice.totals.total_paise - 47250
    too_much = pb.CreditInvoiceRequest(
        name=invoice.name,
        line_items=[pb.LineItem(description="All of it", unit_price_paise=invoice.totals.total_paise)],
        reason="again",
    )
    error = await refused(stub.CreditInvoice(too_much, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    assert violations(error) == ["line_items"]
    text = "\n".join(
        p.extract_text()
        for p in PdfReader(
            io.BytesIO(world.s3.get_object(Bucket=world.bucket, Key=note.document_key)["Body"].read())
        ).pages
    )
    assert "CREDIT NOTE" in text and invoice.number in text and note.number in text


async def test_roles_and_the_audit_trail(world):
    stub = world.stub
    await refused(create(stub, md=VIEWER), grpc.StatusCode.PERMISSION_DENIED)
    await refused(create(stub, md=world.service), grpc.StatusCode.PERMISSION_DENIED)
    draft = await create(stub)
    await stub.IssueInvoice(pb.IssueInvoiceRequest(name=draft.name), metadata=OPERATOR)
    assert [i.name for i in await listed(stub)] == [draft.name]
    audit = SqliteAuditStore(world.data_dir / "AuditTable.sqlite3")
    try:
        entries = await audit.list(AuditQuery(resource=draft.name), None, 10)
    finally:
        await audit.close()
    methods = {e.method.rsplit("/", 1)[1]: e for e in entries}
    assert {"CreateInvoice", "IssueInvoice"} <= set(methods)
    assert methods["IssueInvoice"].actor == "user-operator" and methods["IssueInvoice"].after["number"].endswith(
        "00001"
    )
    assert "Asha" not in str(methods["CreateInvoice"].after)  # references and money, not the customer's details


async def test_sending_by_sms_and_whatsapp_with_a_tracked_payment_link(world):
    stub = world.stub
    invoice = await stub.IssueInvoice(pb.IssueInvoiceRequest(name=(await create(stub)).name), metadata=OPERATOR)
    draft = await create(stub)
    await refused(
        stub.SendInvoice(pb.SendInvoiceRequest(name=draft.name), metadata=OPERATOR), grpc.StatusCode.FAILED_PRECONDITION
    )
    sms = await stub.SendInvoice(
        pb.SendInvoiceRequest(name=invoice.name, channel=pb.SEND_CHANNEL_SMS), metadata=OPERATOR
    )
    assert sms.payment_url.startswith("https://go.example/l/") and sms.payment_link_id.startswith("plink_")
    (link,) = world.sandbox.ledger.links.values()
    assert link["amount"] == invoice.amount_due_paise and link["notes"] == {"invoice": invoice.name.split("/")[1]}
    assert link["reference_id"] == invoice.name.split("/")[1]
    (text,) = world.messaging.of(CONTACT)
    assert text.channel == mpb.CHANNEL_SMS and sms.payment_url in text.content.text.body
    assert invoice.number in text.content.text.body and inr(invoice.amount_due_paise) in text.content.text.body
    whatsapp = await stub.SendInvoice(pb.SendInvoiceRequest(name=invoice.name), metadata=OPERATOR)
    assert whatsapp.payment_link_id == sms.payment_link_id  # the same link for the same amount due
    document = world.messaging.of(CONTACT)[-1]
    media = document.content.media
    assert media.kind == mpb.MEDIA_KIND_DOCUMENT and media.media_key == invoice.document_key
    assert media.mime_type == "application/pdf" and media.filename.endswith(".pdf") and sms.payment_url in media.caption
    head = world.s3.head_object(Bucket=world.bucket, Key=invoice.document_key)
    assert media.size_bytes == head["ContentLength"]
    assert world.messaging.sent[-1].token == OPERATOR[0][1].removeprefix("Bearer ")  # sent as the operator
    before = len(world.messaging.sent)
    repeat = await stub.SendInvoice(pb.SendInvoiceRequest(name=invoice.name), metadata=OPERATOR)
    assert repeat.messages == whatsapp.messages and len(world.messaging.sent) == before  # nothing sent twice
    await refused(
        stub.SendInvoice(
            pb.SendInvoiceRequest(name=invoice.name, payment_request=pb.PAYMENT_REQUEST_KIND_ORDER_DETAILS),
            metadata=OPERATOR,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    world.messaging.refuse[CONTACT] = "CONSENT_OPTED_OUT"
    error = await refused(
        stub.SendInvoice(pb.SendInvoiceRequest(name=invoice.name, channel=pb.SEND_CHANNEL_EMAIL), metadata=OPERATOR),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "CONSENT_OPTED_OUT" in str(error.trailing_metadata()) or "refused" in error.details()
    await refused(
        stub.SendInvoice(pb.SendInvoiceRequest(name=invoice.name), metadata=VIEWER), grpc.StatusCode.PERMISSION_DENIED
    )
