"""WhatsAppOutboundTable and WhatsAppInboundTable on DynamoDB: the AWS implementation of the store protocols
(adapters.store) with the semantics of sqlite_store (tests/messaging/test_store_contract.py runs both), one
module per protocol over one table helper per table (outbound_table, inbound_table: their items and indexes)."""

from __future__ import annotations

import asyncio

from runtime.aws import AwsClients
from services.messaging.adapters.dynamodb_store.caps import DynamoMarketingCapStore
from services.messaging.adapters.dynamodb_store.conversations import DynamoConversationStore
from services.messaging.adapters.dynamodb_store.coordination import DynamoCoordinationStore
from services.messaging.adapters.dynamodb_store.feed import DynamoEventFeedStore
from services.messaging.adapters.dynamodb_store.holds import DynamoHoldStore
from services.messaging.adapters.dynamodb_store.inbound_messages import DynamoInboundMessageStore
from services.messaging.adapters.dynamodb_store.inbound_table import InboundTable, ensure_inbound_table
from services.messaging.adapters.dynamodb_store.media_ids import DynamoMediaIdStore
from services.messaging.adapters.dynamodb_store.messages import DynamoMessageStore
from services.messaging.adapters.dynamodb_store.outbound_table import OutboundTable, ensure_outbound_table
from services.messaging.adapters.dynamodb_store.outbox import DynamoDeadLetterOutbox
from services.messaging.adapters.dynamodb_store.pairs import DynamoPairLogStore
from services.messaging.adapters.dynamodb_store.portfolio import DynamoPortfolioStore
from services.messaging.adapters.dynamodb_store.send_queue import DynamoSendQueue
from services.messaging.adapters.dynamodb_store.suppressions import DynamoSuppressionStore
from services.messaging.adapters.dynamodb_store.templates import DynamoTemplateStore
from services.messaging.adapters.dynamodb_store.voice_calls import DynamoVoiceCallStore
from services.messaging.adapters.dynamodb_store.windows import DynamoWindowStore
from services.messaging.adapters.store import InboundStores, OutboundStores

__all__ = ["ensure_inbound_table", "ensure_outbound_table", "ensure_tables", "open_inbound", "open_outbound"]


def open_outbound(aws: AwsClients, table_name: str) -> OutboundStores:
    table = OutboundTable(aws, table_name)
    return OutboundStores(
        messages=DynamoMessageStore(table),
        queue=DynamoSendQueue(table),
        coordination=DynamoCoordinationStore(table),
        templates=DynamoTemplateStore(table),
        media_ids=DynamoMediaIdStore(table),
        suppressions=DynamoSuppressionStore(table),
        outbox=DynamoDeadLetterOutbox(table),
        portfolio=DynamoPortfolioStore(table),
        caps=DynamoMarketingCapStore(table),
        pairs=DynamoPairLogStore(table),
        table=table,
        holds=DynamoHoldStore(table),
    )


def open_inbound(aws: AwsClients, table_name: str) -> InboundStores:
    table = InboundTable(aws, table_name)
    return InboundStores(
        messages=DynamoInboundMessageStore(table),
        windows=DynamoWindowStore(table),
        conversations=DynamoConversationStore(table),
        voice_calls=DynamoVoiceCallStore(table),
        feed=DynamoEventFeedStore(table),
        table=table,
    )


async def ensure_tables(client, outbound: str, inbound: str) -> None:
    await asyncio.gather(ensure_outbound_table(client, outbound), ensure_inbound_table(client, inbound))
