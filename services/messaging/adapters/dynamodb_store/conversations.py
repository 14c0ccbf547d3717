"""ConversationStore on DynamoDB: an item per conversation (touched by optimistic read-merge-write), listed newest
first from the sharded `latest` index."""

from __future__ import annotations

import json

from services.messaging.adapters.codec import conversation_from_dict
from services.messaging.adapters.dynamodb_store.inbound_table import CONVERSATION_SHARDS, InboundTable
from services.messaging.domain.model import Channel, Conversation


class DynamoConversationStore:
    def __init__(self, table: InboundTable):
        self._t = table

    async def note_outbound(self, conversations: list[Conversation]) -> None:
        await self._t.gather([self._t.touch(c) for c in conversations])

    async def list_conversations(
        self, channel: Channel | None, before: tuple[float, str] | None, limit: int
    ) -> list[Conversation]:
        items = await self._t.latest("conv", CONVERSATION_SHARDS, before, limit, channel)
        return [conversation_from_dict(json.loads(i["doc"]["S"])) for i in items]

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        item = await self._t.get(f"conv#{conversation_id}", "conv")
        return conversation_from_dict(json.loads(item["doc"]["S"])) if item else None
