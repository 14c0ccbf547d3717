"""The invoice RPCs of CommerceService: CreateInvoice, GetInvoice, ListInvoices, UpdateInvoice, DeleteInvoice,
IssueInvoice, CreditInvoice, SendInvoice."""

from __future__ import annotations

import time

from google.protobuf import empty_pb2

from runtime.calls import caller, note_change
from runtime.errors import InvalidArgument
from runtime.names import parse_name, timestamp
from runtime.pagination import PageTokens, page_size
from services.commerce.domain.invoices import Customer, Invoice, InvoiceRequest, Kind, LineRequest
from services.commerce.domain.money import format_quantity
from services.commerce.usecases.invoices import Invoices
from services.commerce.usecases.sending import Ask, Channel, InvoiceSender
from wecare.commerce.v1 import invoices_pb2 as pb

OUTPUT_ONLY = (
    "kind",
    "status",
    "number",
    "totals",
    "supply_type",
    "credited_invoice",
    "amount_paid_paise",
    "amount_credited_paise",
    "amount_due_paise",
    "document_uri",
    "document_key",
    "create_time",
    "update_time",
    "issue_time",
    "creator",
)
KINDS = {Kind.INVOICE: pb.INVOICE_KIND_INVOICE, Kind.CREDIT_NOTE: pb.INVOICE_KIND_CREDIT_NOTE}
CHANNELS = {
    pb.SEND_CHANNEL_UNSPECIFIED: Channel.WHATSAPP,
    pb.SEND_CHANNEL_WHATSAPP: Channel.WHATSAPP,
    pb.SEND_CHANNEL_SMS: Channel.SMS,
    pb.SEND_CHANNEL_EMAIL: Channel.EMAIL,
}
ASKS = {
    pb.PAYMENT_REQUEST_KIND_UNSPECIFIED: Ask.AUTO,
    pb.PAYMENT_REQUEST_KIND_LINK: Ask.LINK,
    pb.PAYMENT_REQUEST_KIND_ORDER_DETAILS: Ask.ORDER_DETAILS,
}


def invoice_to_proto(invoice: Invoice, now: float, document_uri: str = "", document_key: str = "") -> pb.Invoice:
    amounts, totals = invoice.priced()
    c = invoice.customer
    return pb.Invoice(
        name=invoice.name,
        kind=KINDS[invoice.kind],
        status=pb.InvoiceStatus.Value(f"INVOICE_STATUS_{invoice.status(now).value}"),
        number=invoice.number,
        contact=f"contacts/{invoice.contact}",
        customer=pb.InvoiceCustomer(
            display_name=c.display_name, gstin=c.gstin, state_code=c.state_code, address=c.address
        ),
        line_items=[
            pb.LineItem(
                description=line.description,
                quantity=format_quantity(line.quantity_milli),
                unit_price_paise=line.unit_price,
                gst_rate_basis_points=line.rate_bp,
                hsn_code=line.hsn,
                discount_paise=line.discount,
                amounts=pb.LineAmounts(
                    gross_paise=a.gross,
                    discount_paise=a.discount,
                    taxable_paise=a.taxable,
                    cgst_paise=a.cgst,
                    sgst_paise=a.sgst,
                    igst_paise=a.igst,
                    total_paise=a.total,
                ),
            )
            for line, a in zip(invoice.lines, amounts, strict=True)
        ],
        discount_paise=invoice.discount,
        currency_code="INR",
        due_date=invoice.due_date,
        notes=invoice.notes,
        totals=pb.InvoiceTotals(
            subtotal_paise=totals.subtotal,
            discount_paise=totals.discount,
            taxable_paise=totals.taxable,
            cgst_paise=totals.cgst,
            sgst_paise=totals.sgst,
            igst_paise=totals.igst,
            tax_paise=totals.tax,
            total_paise=totals.total,
        ),
        supply_type=pb.SUPPLY_TYPE_INTRA_STATE if invoice.intra_state else pb.SUPPLY_TYPE_INTER_STATE,
        credited_invoice=f"invoices/{invoice.credited_invoice}" if invoice.credited_invoice else "",
        amount_paid_paise=invoice.paid,
        amount_credited_paise=invoice.credited,
        amount_due_paise=invoice.due,
        document_uri=document_uri,
        document_key=document_key,
        create_time=timestamp(invoice.create_time),
        update_time=timestamp(invoice.update_time),
        issue_time=timestamp(invoice.issue_time),
        creator=invoice.creator,
        etag=invoice.etag,
    )


def lines_from_proto(items) -> tuple[LineRequest, ...]:
    return tuple(
        LineRequest(
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price_paise,
            rate_bp=item.gst_rate_basis_points,
            hsn=item.hsn_code,
            discount=item.discount_paise,
            extras={"amounts": "output only: leave it out"} if item.HasField("amounts") else {},
        )
        for item in items
    )


def request_from_proto(invoice: pb.Invoice, name_allowed: bool = False) -> InvoiceRequest:
    given = {f.name for f, _ in invoice.ListFields()}
    extras = {name: "output only: leave it out" for name in OUTPUT_ONLY if name in given}
    if invoice.name and not name_allowed:
        extras["name"] = "assigned by the service: leave it out"
    c = invoice.customer
    return InvoiceRequest(
        contact=invoice.contact,
        customer=Customer(display_name=c.display_name, gstin=c.gstin, state_code=c.state_code, address=c.address),
        lines=lines_from_proto(invoice.line_items),
        discount=invoice.discount_paise,
        currency=invoice.currency_code,
        due_date=invoice.due_date,
        notes=invoice.notes,
        extras=extras,
    )


def _actor() -> str:
    who = caller()
    return who.subject if who else "unknown"


def _person_token() -> str:
    """The caller's own token when a person called (messaging then applies their role to the send)."""
    who = caller()
    return who.token if who and not who.is_service else ""


class InvoicesRpc:
    def __init__(self, invoices: Invoices, sender: InvoiceSender, page_tokens: PageTokens, clock=time.time):
        self._invoices = invoices
        self._sender = sender
        self._tokens = page_tokens
        self._clock = clock

    def _proto(self, invoice: Invoice, document_uri: str = "") -> pb.Invoice:
        return invoice_to_proto(invoice, self._clock(), document_uri, self._invoices.document_key(invoice))

    async def CreateInvoice(self, request: pb.CreateInvoiceRequest, context) -> pb.Invoice:
        if not request.HasField("invoice"):
            raise InvalidArgument("invoice", "required")
        made = await self._invoices.create(request_from_proto(request.invoice), _actor())
        note_change(made.name, None, made.audit_view())
        return self._proto(made)

    async def GetInvoice(self, request: pb.GetInvoiceRequest, context) -> pb.Invoice:
        invoice = await self._invoices.get(parse_name(request.name, "invoices"))
        uri = await self._invoices.document_url(invoice) if invoice.issued else ""
        return self._proto(invoice, uri)

    async def ListInvoices(self, request: pb.ListInvoicesRequest, context) -> pb.ListInvoicesResponse:
        size = page_size(request.page_size, 50, 500)
        contact = parse_name(request.contact, "contacts", "contact") if request.contact else ""
        scope = f"invoices:list:{contact}"
        after = self._tokens.decode(scope, request.page_token) if request.page_token else None
        found = await self._invoices.list(after, size + 1, contact)
        page = found[:size]
        token = self._tokens.encode(scope, page[-1].id) if len(found) > size else ""
        return pb.ListInvoicesResponse(invoices=[self._proto(i) for i in page], next_page_token=token)

    async def UpdateInvoice(self, request: pb.UpdateInvoiceRequest, context) -> pb.Invoice:
        if not request.HasField("invoice"):
            raise InvalidArgument("invoice", "required")
        invoice_id = parse_name(request.invoice.name, "invoices", "invoice.name")
        before, after = await self._invoices.update(
            invoice_id,
            request_from_proto(request.invoice, name_allowed=True),
            list(request.update_mask.paths),
            request.invoice.etag,
        )
        note_change(after.name, before.audit_view(), after.audit_view())
        return self._proto(after)

    async def DeleteInvoice(self, request: pb.DeleteInvoiceRequest, context) -> empty_pb2.Empty:
        removed = await self._invoices.delete(parse_name(request.name, "invoices"), request.etag)
        note_change(removed.name, removed.audit_view(), None)
        return empty_pb2.Empty()

    async def IssueInvoice(self, request: pb.IssueInvoiceRequest, context) -> pb.Invoice:
        invoice_id = parse_name(request.name, "invoices")
        issued = await self._invoices.issue(invoice_id, request.etag)
        note_change(issued.name, {"status": "DRAFT"}, issued.audit_view())
        return self._proto(issued)

    async def CreditInvoice(self, request: pb.CreditInvoiceRequest, context) -> pb.Invoice:
        invoice_id = parse_name(request.name, "invoices")
        note, before, after = await self._invoices.credit(
            invoice_id, lines_from_proto(request.line_items), request.reason, _actor()
        )
        note_change(note.name, before.audit_view(), {**after.audit_view(), "credit_note": note.audit_view()})
        return self._proto(note)

    async def SendInvoice(self, request: pb.SendInvoiceRequest, context) -> pb.SendInvoiceResponse:
        invoice_id = parse_name(request.name, "invoices")
        if request.channel not in CHANNELS:
            raise InvalidArgument("channel", "WHATSAPP, SMS or EMAIL")
        if request.payment_request not in ASKS:
            raise InvalidArgument("payment_request", "LINK or ORDER_DETAILS")
        sent = await self._sender.send(
            invoice_id, CHANNELS[request.channel], ASKS[request.payment_request], _actor(), _person_token()
        )
        note_change(
            sent.invoice.name,
            None,
            {
                "channel": CHANNELS[request.channel].name,
                "messages": sent.messages,
                "payment_link": sent.link.id if sent.link else "",
            },
        )
        return pb.SendInvoiceResponse(
            invoice=self._proto(sent.invoice),
            messages=sent.messages,
            payment_url=sent.link.tracked_url if sent.link else "",
            payment_link_id=sent.link.id if sent.link else "",
        )
