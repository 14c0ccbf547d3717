"""WhatsAppOutboundTable and WhatsAppInboundTable on the embedded SQLite engine: one file each, WAL, shared safely
by several messaging processes; one module per store protocol (adapters.store), all over one database per table."""

from __future__ import annotations

from pathlib import Path

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.caps import SqliteMarketingCapStore
from services.messaging.adapters.sqlite_store.conversations import SqliteConversationStore
from services.messaging.adapters.sqlite_store.coordination import SqliteCoordinationStore
from services.messaging.adapters.sqlite_store.feed import SqliteEventFeedStore
from services.messaging.adapters.sqlite_store.holds import SqliteHoldStore
from services.messaging.adapters.sqlite_store.inbound_messages import SqliteInboundMessageStore
from services.messaging.adapters.sqlite_store.inbound_table import INBOUND_SCHEMA
from services.messaging.adapters.sqlite_store.media_ids import SqliteMediaIdStore
from services.messaging.adapters.sqlite_store.messages import SqliteMessageStore
from services.messaging.adapters.sqlite_store.outbound_table import OUTBOUND_SCHEMA
from services.messaging.adapters.sqlite_store.outbox import SqliteDeadLetterOutbox
from services.messaging.adapters.sqlite_store.pairs import SqlitePairLogStore
from services.messaging.adapters.sqlite_store.portfolio import SqlitePortfolioStore
from services.messaging.adapters.sqlite_store.send_queue import SqliteSendQueue
from services.messaging.adapters.sqlite_store.suppressions import SqliteSuppressionStore
from services.messaging.adapters.sqlite_store.table import SqliteTable
from services.messaging.adapters.sqlite_store.templates import SqliteTemplateStore
from services.messaging.adapters.sqlite_store.voice_calls import SqliteVoiceCallStore
from services.messaging.adapters.sqlite_store.windows import SqliteWindowStore
from services.messaging.adapters.store import InboundStores, OutboundStores


def outbound_stores(db: SqliteDatabase) -> OutboundStores:
    return OutboundStores(
        messages=SqliteMessageStore(db),
        queue=SqliteSendQueue(db),
        coordination=SqliteCoordinationStore(db),
        templates=SqliteTemplateStore(db),
        media_ids=SqliteMediaIdStore(db),
        suppressions=SqliteSuppressionStore(db),
        outbox=SqliteDeadLetterOutbox(db),
        portfolio=SqlitePortfolioStore(db),
        caps=SqliteMarketingCapStore(db),
        pairs=SqlitePairLogStore(db),
        table=SqliteTable(db),
        holds=SqliteHoldStore(db),
    )


def inbound_stores(db: SqliteDatabase) -> InboundStores:
    return InboundStores(
        messages=SqliteInboundMessageStore(db),
        windows=SqliteWindowStore(db),
        conversations=SqliteConversationStore(db),
        voice_calls=SqliteVoiceCallStore(db),
        feed=SqliteEventFeedStore(db),
        table=SqliteTable(db),
    )


def open_outbound(path: Path) -> OutboundStores:
    return outbound_stores(SqliteDatabase(path, OUTBOUND_SCHEMA))


def open_inbound(path: Path) -> InboundStores:
    return inbound_stores(SqliteDatabase(path, INBOUND_SCHEMA))
