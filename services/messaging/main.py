"""Wiring of the messaging process: its stores, providers, the dispatcher, MessagingService, health probes."""

from __future__ import annotations

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.process import tune_collector
from runtime.server import GrpcProcess
from runtime.settings import Settings
from services.messaging.adapters.consent import ContactsConsent
from services.messaging.adapters.media import MediaBucket
from services.messaging.adapters.providers import EmailProvider, ProviderOptions, SmsProvider, WhatsAppProvider
from services.messaging.adapters.queues import SqsQueue
from services.messaging.adapters.store import InboundStore, OutboundStore
from services.messaging.catalogue import Catalogue
from services.messaging.dispatcher import DispatchConfig, Dispatcher
from services.messaging.domain.model import Channel
from services.messaging.inbound.wiring import InboundParts, inbound_parts
from services.messaging.inbound_servicer import InboundRpcs
from services.messaging.outbound import Outbound, OutboundConfig
from services.messaging.servicer import MessagingServicer
from wecare.messaging.v1 import messaging_service_pb2_grpc


def stores(settings: Settings, aws: AwsClients) -> tuple[OutboundStore, InboundStore]:
    outbound_table = settings.table(settings.whatsapp_outbound_table)
    inbound_table = settings.table(settings.whatsapp_inbound_table)
    if settings.store == "dynamodb":
        from services.messaging.adapters.dynamodb_store import DynamoInboundStore, DynamoOutboundStore

        return DynamoOutboundStore(aws, outbound_table), DynamoInboundStore(aws, inbound_table)
    from services.messaging.adapters.sqlite_store import SqliteInboundStore, SqliteOutboundStore

    return (
        SqliteOutboundStore(settings.data_dir / f"{outbound_table}.sqlite3"),
        SqliteInboundStore(settings.data_dir / f"{inbound_table}.sqlite3"),
    )


def provider_options(settings: Settings) -> ProviderOptions:
    return ProviderOptions(
        social_endpoint=settings.social_messaging_endpoint_url or None,
        sms_endpoint=settings.sms_voice_endpoint_url or None,
        meta_api_version=settings.whatsapp_meta_api_version,
        call_timeout=settings.dispatch_call_timeout_seconds,
        media_bucket=settings.media_bucket,
        email_sender=settings.email_sender,
    )


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    outbound_store, inbound_store = stores(settings, aws)
    options = provider_options(settings)
    whatsapp = WhatsAppProvider(aws, options)
    providers = {
        Channel.WHATSAPP: whatsapp,
        Channel.SMS: SmsProvider(aws, options),
        Channel.EMAIL: EmailProvider(aws, options),
    }
    dispatcher = Dispatcher(
        outbound_store,
        inbound_store,
        providers,
        SqsQueue(aws, settings.outbound_dlq),
        DispatchConfig.from_settings(settings),
    )
    tokens = ServiceTokens(settings, "messaging")
    contacts = service_channel(settings.contacts_address, tokens.token)
    outbound = Outbound(
        outbound_store,
        inbound_store,
        ContactsConsent(contacts),
        dispatcher,
        OutboundConfig(
            region=settings.default_phone_region,
            senders={
                Channel.WHATSAPP: settings.whatsapp_phone_number_ids,
                Channel.SMS: settings.sms_origination_identities,
                Channel.EMAIL: (settings.email_sender,),
            },
            marketing_requires_opt_in=settings.marketing_requires_opt_in,
            max_batch=settings.send_messages_max,
        ),
    )
    catalogue = Catalogue(outbound_store, whatsapp, settings.whatsapp_wabas)
    media = MediaBucket(aws, settings.media_bucket, settings.media_url_ttl_seconds)
    page_tokens = PageTokens(settings.effective_page_token_key)
    inbound = inbound_parts(
        settings,
        aws,
        outbound_store=outbound_store,
        inbound_store=inbound_store,
        whatsapp=whatsapp,
        dispatcher=dispatcher,
        contacts=contacts,
        media=media,
        tokens=page_tokens,
    )
    servicer = MessagingService(inbound, outbound, inbound_store, media, catalogue, page_tokens)
    process.add_service(
        messaging_service_pb2_grpc.add_MessagingServiceServicer_to_server,
        servicer,
        "wecare.messaging.v1.MessagingService",
    )
    process.depends_on("outbound-store", outbound_store.ping)
    process.depends_on("inbound-store", inbound_store.ping)
    process.run_in_background(dispatcher.run)
    process.run_in_background(catalogue.sync_at_start)
    process.on_close(outbound_store.close)
    process.on_close(inbound_store.close)
    process.on_close(contacts.close)
    process.on_close(inbound.close)  # closers run last-first: the inbox feed stops before the stores close
    # For the inbound half (ingest) and tests: the parts of this process by name.
    process.messaging = {  # type: ignore[attr-defined]
        "outbound": outbound,
        "dispatcher": dispatcher,
        "outbound_store": outbound_store,
        "inbound_store": inbound_store,
        "whatsapp": whatsapp,
        "inbound": inbound,
    }


class MessagingService(MessagingServicer, InboundRpcs):
    """The one MessagingService servicer: the outbound RPCs (servicer.py) and the inbound ones (inbound_servicer.py)."""

    def __init__(self, inbound: InboundParts, *outbound_parts):
        MessagingServicer.__init__(self, *outbound_parts)
        InboundRpcs.__init__(self, inbound)


def main() -> None:
    run_main("messaging", lambda s: s.messaging_address, wire, started=tune_collector)


if __name__ == "__main__":
    main()
