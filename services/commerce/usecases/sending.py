"""Sending an issued invoice with a request to pay it, through messaging (services/commerce/adapters/messenger.py).

- WhatsApp, ORDER_DETAILS (when the phone takes payments: WECARE_WHATSAPP_PAYMENTS_CONFIGURATION, and messaging
  carries interactive order messages): the PDF as a document, then the interactive `order_details` whose
  reference_id is the invoice (domain/order_details.py).
- WhatsApp, LINK: the PDF as a document captioned with the amount, the due date and the payment link.
- SMS and email: a text with the amount, the due date and the payment link.
The payment link is the provider's hosted page (a Payment Link for the amount due, its notes naming the
invoice) behind a tracked short link (the links use case), made once per invoice and amount due and reused by
later sends. Idempotency keys name the invoice, the channel and the link, so a retried send sends nothing twice."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.commerce.adapters.invoice_pdf import filename
from services.commerce.adapters.messenger import Messenger, Outgoing
from services.commerce.adapters.pay_store import PayStore
from services.commerce.adapters.payment_provider import LinkRequest as ProviderLinkRequest
from services.commerce.adapters.payment_provider import PaymentProvider, ProviderError, ProviderUnavailable
from services.commerce.domain import gst, order_details
from services.commerce.domain.invoices import Invoice, Kind
from services.commerce.domain.links import LinkRequest, short_url
from services.commerce.domain.money import inr
from services.commerce.domain.payments import PaymentLink
from services.commerce.usecases.invoices import Invoices
from services.commerce.usecases.links import Links
from wecare.messaging.v1 import messaging_service_pb2 as mpb

log = logging.getLogger("wecare.commerce.sending")


class Channel(enum.Enum):
    WHATSAPP = mpb.CHANNEL_WHATSAPP
    SMS = mpb.CHANNEL_SMS
    EMAIL = mpb.CHANNEL_EMAIL


class Ask(enum.Enum):
    AUTO = "AUTO"
    LINK = "LINK"
    ORDER_DETAILS = "ORDER_DETAILS"


@dataclass(frozen=True)
class Sent:
    invoice: Invoice
    messages: list[str]
    link: PaymentLink | None


class InvoiceSender:
    def __init__(
        self,
        invoices: Invoices,
        pay: PayStore,
        provider: PaymentProvider,
        links: Links,
        messenger: Messenger,
        payment_configuration: str,
        link_days: int,
        clock: Callable[[], float] = time.time,
    ):
        self._invoices = invoices
        self._pay = pay
        self._provider = provider
        self._links = links
        self._messenger = messenger
        self._configuration = payment_configuration
        self._link_days = link_days
        self._clock = clock

    def _choose(self, channel: Channel, ask: Ask) -> Ask:
        whatsapp_pay = bool(self._configuration) and self._messenger.supports_order_messages
        if ask is Ask.ORDER_DETAILS:
            if channel is not Channel.WHATSAPP:
                raise InvalidArgument("payment_request", "ORDER_DETAILS is a WhatsApp message: send it on WhatsApp")
            if not whatsapp_pay:
                raise FailedPrecondition(
                    "this phone is not set up for WhatsApp payments (WECARE_WHATSAPP_PAYMENTS_CONFIGURATION), or "
                    "messaging cannot carry order_details yet: send a LINK",
                    reason="WHATSAPP_PAYMENTS_OFF",
                )
            return ask
        if ask is Ask.AUTO:
            return Ask.ORDER_DETAILS if channel is Channel.WHATSAPP and whatsapp_pay else Ask.LINK
        return ask

    async def send(self, invoice_id: str, channel: Channel, ask: Ask, creator: str, on_behalf_of: str) -> Sent:
        invoice = await self._invoices.get(invoice_id)
        if not invoice.issued or invoice.kind is not Kind.INVOICE:
            raise FailedPrecondition(
                f"{invoice.name} is not an issued invoice: issue it first",
                reason="INVOICE_NOT_ISSUED",
                metadata={"subject": invoice.name, "field": "name"},
            )
        if invoice.due <= 0:
            raise FailedPrecondition(f"{invoice.name} has nothing left to pay", reason="NOTHING_DUE")
        ask = self._choose(channel, ask)
        contact = f"contacts/{invoice.contact}"
        words = f"Invoice {invoice.number} from {self._invoices.business.name}: INR {inr(invoice.due)}"
        if invoice.due_date:
            words += f", due by {invoice.due_date}"
        messages: list[str] = []
        link = None
        if ask is Ask.LINK:
            link = await self.payment_link(invoice, creator)
            words += f". Pay here: {link.tracked_url}"
        key = f"{invoice.name}/{channel.name.lower()}/{link.id if link else f'order-{invoice.due}'}"
        if channel is Channel.WHATSAPP:
            media_key, size = await self._invoices.document(invoice)
            document = mpb.MediaContent(
                kind=mpb.MEDIA_KIND_DOCUMENT,
                media_key=media_key,
                mime_type="application/pdf",
                size_bytes=size,
                filename=filename(invoice),
                caption=words[:1024],
            )
            messages.append(
                await self._messenger.send(
                    Outgoing(channel.value, contact, mpb.Content(media=document), f"{key}/document"), on_behalf_of
                )
            )
            if ask is Ask.ORDER_DETAILS:
                interactive = order_details.order_details(invoice, self._configuration, words[:1024])
                messages.append(
                    await self._messenger.send_interactive(contact, interactive, f"{key}/order_details", on_behalf_of)
                )
        elif channel is Channel.SMS:
            messages.append(
                await self._messenger.send(
                    Outgoing(channel.value, contact, mpb.Content(text=mpb.TextContent(body=words)), key), on_behalf_of
                )
            )
        else:
            email = mpb.EmailContent(
                subject=f"Invoice {invoice.number} from {self._invoices.business.name}", text_body=words
            )
            messages.append(
                await self._messenger.send(
                    Outgoing(channel.value, contact, mpb.Content(email=email), key), on_behalf_of
                )
            )
        return Sent(invoice, messages, link)

    async def payment_link(self, invoice: Invoice, creator: str) -> PaymentLink:
        """The invoice's payment link for what is due now: the one made before if it asks for that amount and
        has not expired, else a new one at the provider behind a new tracked short link."""
        now = self._clock()
        made = await self._pay.links_of(invoice.id)
        for link in made:
            if link.amount == invoice.due and (link.expire_time is None or link.expire_time > now + 3600):
                return link
        expire_by = self._expiry(invoice, now)
        reference = invoice.id if not made else f"{invoice.id}.{len(made)}"
        try:
            at_provider = await self._provider.create_link(
                ProviderLinkRequest(
                    invoice_id=invoice.id,
                    reference_id=reference,
                    amount=invoice.due,
                    description=f"Invoice {invoice.number}",
                    customer_name=invoice.customer.display_name,
                    expire_by=expire_by,
                )
            )
        except ProviderUnavailable as exc:
            raise Unavailable(f"the payment provider did not answer; retry ({exc})") from exc
        except ProviderError as exc:
            raise FailedPrecondition(
                f"the payment provider refused the link: {exc}", reason="PROVIDER_REFUSED"
            ) from exc
        (tracked,) = await self._links.create(
            [
                LinkRequest(
                    target_url=at_provider.url,
                    contact=f"contacts/{invoice.contact}",
                    expire_time=float(expire_by),
                    request_id=f"{invoice.name}/pay/{at_provider.id}",
                )
            ],
            [""],
            creator,
        )
        link = PaymentLink(
            id=at_provider.id,
            invoice=invoice.id,
            amount=at_provider.amount,
            provider_url=at_provider.url,
            tracked_url=short_url(self._links.base_url, tracked.code),
            create_time=now,
            expire_time=float(expire_by),
        )
        await self._pay.save_link(link)
        return link

    def _expiry(self, invoice: Invoice, now: float) -> int:
        """The end of the due date (India time) plus WECARE_PAYMENT_LINK_DAYS; at least a day from now."""
        due = gst.parse_date(invoice.due_date) if invoice.due_date else gst.india_date(now)
        end = datetime(due.year, due.month, due.day, tzinfo=gst.IST) + timedelta(days=1 + self._link_days)
        return int(max(end.timestamp(), now + 86400))
