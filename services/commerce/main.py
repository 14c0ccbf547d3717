"""Wiring of the commerce process: a store per table, a use case per resource, the RPCs of each resource put
together into CommerceService, health probes. A resource that lands adds its store, use case and RPC handler
here. Invoices and payments also need the media bucket (their PDFs), the payment provider (Razorpay's API;
locally the sandbox), messaging (sending invoices and receipts) and a background sweep of receipts owed."""

from __future__ import annotations

import time

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.server import GrpcProcess
from services.commerce.adapters import stores
from services.commerce.adapters.contacts import ContactsClient
from services.commerce.adapters.documents import InvoiceDocuments
from services.commerce.adapters.flows import EumSocialFlows
from services.commerce.adapters.invoice_pdf import Business
from services.commerce.adapters.messenger import MessagingMessenger
from services.commerce.adapters.razorpay import Razorpay
from services.commerce.domain import gst
from services.commerce.domain.links import check_base_url
from services.commerce.rpc.form_responses import FormResponsesRpc
from services.commerce.rpc.forms import FormsRpc
from services.commerce.rpc.invoices import InvoicesRpc
from services.commerce.rpc.links import LinksRpc
from services.commerce.rpc.payments import PaymentsRpc
from services.commerce.servicer import SERVICE, CommerceServicer
from services.commerce.usecases.forms import Forms
from services.commerce.usecases.invoices import Invoices
from services.commerce.usecases.links import Links
from services.commerce.usecases.payments import Payments
from services.commerce.usecases.receipts import Receipts
from services.commerce.usecases.reconciliation import Reconciliation
from services.commerce.usecases.responses import Invitations, Responses
from services.commerce.usecases.sending import InvoiceSender
from wecare.commerce.v1 import commerce_service_pb2_grpc


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    tokens = PageTokens(settings.effective_page_token_key)
    link_store = stores.link_store(settings, aws)
    links = Links(link_store, check_base_url(settings.links_base_url))
    # Forms: FormsTable, WhatsApp Flows through EUM Social, answers written onto contacts as this service.
    form_store = stores.form_store(settings, aws)
    flows = EumSocialFlows(aws, settings.social_messaging_endpoint_url)
    identity = ServiceTokens(settings, "commerce")
    contacts_channel = service_channel(settings.contacts_address, identity.token)
    forms = Forms(form_store, flows, settings.whatsapp_wabas)
    invitations = Invitations(form_store, settings.default_phone_region)
    responses = Responses(form_store, ContactsClient(contacts_channel), settings.default_phone_region)
    # Invoices and payments
    invoice_store = stores.invoice_store(settings, aws)
    pay_store = stores.pay_store(settings, aws)
    documents = InvoiceDocuments(
        aws, settings.media_bucket, settings.media_outgoing_prefix, settings.media_url_ttl_seconds
    )
    if settings.invoice_business_state_code not in gst.STATES:
        raise ValueError(
            f"WECARE_INVOICE_BUSINESS_STATE_CODE={settings.invoice_business_state_code!r} is not a GST state code"
        )
    business = Business(
        settings.invoice_business_name,
        settings.invoice_business_gstin,
        settings.invoice_business_state_code,
        settings.invoice_business_address,
    )
    provider = Razorpay(settings.payment_api_url, settings.payment_key_id, settings.payment_key_secret)
    messaging = service_channel(settings.messaging_address, identity.token)
    messenger = MessagingMessenger(messaging)
    invoices = Invoices(invoice_store, pay_store, documents, business)
    receipts = Receipts(pay_store, invoices, messenger)
    payments = Payments(pay_store, invoices, provider, receipts)
    sender = InvoiceSender(
        invoices,
        pay_store,
        provider,
        links,
        messenger,
        settings.whatsapp_payments_configuration,
        settings.payment_link_days,
    )
    reconciliation = Reconciliation(invoice_store, pay_store, invoices, provider, time.time)
    process.add_service(
        commerce_service_pb2_grpc.add_CommerceServiceServicer_to_server,
        CommerceServicer(
            LinksRpc(links, tokens),
            FormsRpc(forms, tokens),
            FormResponsesRpc(invitations, responses, tokens),
            InvoicesRpc(invoices, sender, tokens),
            PaymentsRpc(payments, reconciliation, tokens),
        ),
        SERVICE,
    )
    process.depends_on("link-store", link_store.ping)
    process.depends_on("form-store", form_store.ping)
    process.on_close(link_store.close)
    process.on_close(form_store.close)
    process.on_close(contacts_channel.close)
    process.depends_on("invoice-store", invoice_store.ping)
    process.depends_on("pay-store", pay_store.ping)
    process.run_in_background(lambda: receipts.run(settings.payments_sweep_seconds))
    for closer in (invoice_store.close, pay_store.close, provider.close, messaging.close):
        process.on_close(closer)


def main() -> None:
    run_main("commerce", lambda s: s.commerce_address, wire)


if __name__ == "__main__":
    main()
