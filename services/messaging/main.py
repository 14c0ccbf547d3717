"""Wiring of the messaging process: its stores (on the engine runtime.storage chooses), the providers, the
dispatcher, the use cases, the one MessagingService servicer built from them, health probes and background work."""

from __future__ import annotations

import dataclasses

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.process import tune_collector
from runtime.server import GrpcProcess
from runtime.settings import Settings
from runtime.storage import open_table
from runtime.timescale import TimeScale
from services.messaging.adapters import dynamodb_store, sqlite_store
from services.messaging.adapters.commerce import CommerceClient
from services.messaging.adapters.consent import ContactsConsent
from services.messaging.adapters.dynamodb_store.outbound_table import OutboundTable
from services.messaging.adapters.dynamodb_store.send_queue import DynamoSendQueue
from services.messaging.adapters.media import MediaBucket
from services.messaging.adapters.providers import EmailProvider, ProviderOptions, SmsProvider, WhatsAppProvider
from services.messaging.adapters.queues import SqsQueue
from services.messaging.adapters.store import InboundStores, OutboundStores
from services.messaging.adapters.template_api import WhatsAppTemplateApi
from services.messaging.dispatch.batch_checks import GroupChecks
from services.messaging.dispatch.clock import SystemClock
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.dispatcher import Dispatcher
from services.messaging.dispatch.meta_checks import CapRule, MetaChecks
from services.messaging.dispatch.tier import AdmissionAge, TierBudget
from services.messaging.domain.coordination import MEDIA_GET
from services.messaging.domain.model import Channel
from services.messaging.inbound.account import AccountEvents
from services.messaging.inbound.inbox import Inbox
from services.messaging.inbound.wiring import inbound_parts
from services.messaging.outbound.acceptance import Acceptance, OutboundConfig
from services.messaging.outbound.media import MediaUploads
from services.messaging.outbound.sends import Sends
from services.messaging.outbound.template_lifecycle import TemplateLifecycle
from services.messaging.outbound.templates import Templates
from services.messaging.outbound.tier_view import TierReader
from services.messaging.outbound.tracking import Tracking
from services.messaging.outbound.withdrawal import Withdrawals
from services.messaging.servicer import MessagingServicer, UseCases
from wecare.messaging.v1 import messaging_service_pb2_grpc


def dynamodb_outbound(aws: AwsClients, name: str) -> OutboundStores:
    """WhatsAppOutboundTable on DynamoDB, the dispatcher's queue with a fan-out budget of its own (a table's
    writes of one call go CONCURRENCY at a time): acceptance of a big SendMessages fan-out cannot hold up the
    hand-off marks and results a provider call waits on (issue 12, point 4; SQLite's writer takes them first)."""
    stores = dynamodb_store.open_outbound(aws, name)
    return dataclasses.replace(stores, queue=DynamoSendQueue(OutboundTable(aws, name)))


def stores(settings: Settings, aws: AwsClients) -> tuple[OutboundStores, InboundStores]:
    """WhatsAppOutboundTable and WhatsAppInboundTable, each every store protocol over one table."""
    return (
        open_table(
            settings,
            aws,
            settings.whatsapp_outbound_table,
            sqlite=sqlite_store.open_outbound,
            dynamodb=dynamodb_outbound,
        ),
        open_table(
            settings,
            aws,
            settings.whatsapp_inbound_table,
            sqlite=sqlite_store.open_inbound,
            dynamodb=dynamodb_store.open_inbound,
        ),
    )


def provider_options(settings: Settings) -> ProviderOptions:
    return ProviderOptions(
        social_endpoint=settings.social_messaging_endpoint_url or None,
        sms_endpoint=settings.sms_voice_endpoint_url or None,
        meta_api_version=settings.whatsapp_meta_api_version,
        call_timeout=settings.dispatch_call_timeout_seconds,
        media_bucket=settings.media_bucket,
        email_sender=settings.email_sender,
        lean=settings.provider_client == "lean",
    )


def outbound_config(settings: Settings) -> OutboundConfig:
    return OutboundConfig(
        region=settings.default_phone_region,
        senders={
            Channel.WHATSAPP: settings.whatsapp_phone_number_ids,
            Channel.SMS: settings.sms_origination_identities,
            Channel.EMAIL: (settings.email_sender,),
        },
        marketing_requires_opt_in=settings.marketing_requires_opt_in,
        max_batch=settings.send_messages_max,
        window_seconds=TimeScale.of(settings).day,
        marketing_cap=settings.whatsapp_marketing_cap,
        marketing_cap_seconds=TimeScale.of(settings).seconds(settings.whatsapp_marketing_cap_seconds),
    )


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    outbound, inbound = stores(settings, aws)
    options = provider_options(settings)
    whatsapp = WhatsAppProvider(aws, options)
    providers = {
        Channel.WHATSAPP: whatsapp,
        Channel.SMS: SmsProvider(aws, options),
        Channel.EMAIL: EmailProvider(aws, options),
    }
    tokens = ServiceTokens(settings, "messaging")
    contacts = service_channel(settings.contacts_address, tokens.token)
    # Commerce: tracked links minted at acceptance, their clicks, Flow answers and payment statuses from ingest.
    commerce_channel = service_channel(settings.commerce_address, tokens.token)
    commerce = CommerceClient(commerce_channel)
    tracking = Tracking(commerce)
    consent = ContactsConsent(contacts)
    templates = Templates(outbound.templates, whatsapp, settings.whatsapp_wabas)
    template_api = WhatsAppTemplateApi(aws, options.social_endpoint, settings.media_bucket)
    lifecycle = TemplateLifecycle(outbound.templates, template_api, whatsapp, templates)
    config = DispatchConfig.from_settings(settings)
    tier = TierBudget(outbound.portfolio, config.tier, config.tier_reserve, config.tier_window, SystemClock())
    meta_rules = MetaChecks(
        templates.lookup,
        tier,
        outbound.caps,
        CapRule(config.marketing_cap, config.marketing_cap_seconds),
        consent,
        outbound.suppressions,
        settings.marketing_requires_opt_in,
    )
    dispatcher = Dispatcher(
        outbound,
        inbound.windows,
        providers,
        whatsapp,
        SqsQueue(aws, settings.outbound_dlq),
        config,
        group_checks=GroupChecks([meta_rules]),
        tier=tier,
    )
    dispatcher.checks.add(AdmissionAge(tier, SystemClock()))  # the tier's admission holds for a call soon after
    dispatcher.holds.on_template_moved(templates.forget)  # Meta paused a template: the checks know within a second
    acceptance = Acceptance(
        outbound.messages,
        inbound.messages,
        inbound.windows,
        outbound.suppressions,
        consent,
        templates,
        dispatcher,
        outbound_config(settings),
        tracking=tracking,
        caps=outbound.caps,
        quality=tier.quality,
    )
    media = MediaBucket(aws, settings.media_bucket, settings.media_url_ttl_seconds)
    withdrawals = Withdrawals(outbound.messages, outbound.holds)
    inbound_side = inbound_parts(
        settings,
        aws,
        outbound=outbound,
        inbound=inbound,
        source=whatsapp,
        media_slot=lambda: dispatcher.budgets.media_slot(MEDIA_GET),
        on_failed=dispatcher.reactions.react_to_failure,
        on_consent=withdrawals.consent_changed,
        nudge=dispatcher,
        contacts=contacts,
        commerce=commerce,
        account=AccountEvents(lifecycle, outbound.portfolio, holds=outbound.holds),
    )
    cases = UseCases(
        sends=Sends(acceptance, outbound.messages, inbound.conversations, consent, dispatcher),
        withdrawals=withdrawals,
        templates=templates,
        lifecycle=lifecycle,
        tier=TierReader(tier, settings.whatsapp_phone_number_ids),
        uploads=MediaUploads(media),
        inbox=Inbox(
            outbound.messages,
            inbound.messages,
            inbound.conversations,
            inbound.voice_calls,
            media,
            consent,
            settings.default_phone_region,
        ),
        ingest=inbound_side.ingest,
        feed=inbound_side.feed,
        dead_letters=inbound_side.dead_letters,
        tracking=tracking,
    )
    process.add_service(
        messaging_service_pb2_grpc.add_MessagingServiceServicer_to_server,
        MessagingServicer(cases, PageTokens(settings.effective_page_token_key)),
        "wecare.messaging.v1.MessagingService",
    )
    process.depends_on("outbound-store", outbound.ping)
    process.depends_on("inbound-store", inbound.ping)
    process.run_in_background(dispatcher.run)
    if inbound_side.queue is not None:
        process.run_in_background(inbound_side.queue.run)
    process.run_in_background(templates.sync_at_start)
    process.on_close(outbound.close)
    process.on_close(inbound.close)
    process.on_close(contacts.close)
    process.on_close(commerce_channel.close)
    process.on_close(inbound_side.close)  # closers run last-first: the inbox feed stops before the stores close


def main() -> None:
    run_main("messaging", lambda s: s.messaging_address, wire, started=tune_collector)


if __name__ == "__main__":
    main()
