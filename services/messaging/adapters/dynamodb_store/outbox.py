"""DeadLetterOutbox on DynamoDB: a failed message carries the `dead` index's keys until outbound-dlq has taken it,
so a letter is never lost between the failure and the queue."""

from __future__ import annotations

from services.messaging.adapters.dynamodb_store.outbound_table import OutboundTable, message_of
from services.messaging.domain.model import OutboundMessage


class DynamoDeadLetterOutbox:
    def __init__(self, table: OutboundTable):
        self._t = table

    async def dead_letters_pending(self, limit: int) -> list[OutboundMessage]:
        items = await self._t.query("dead", "x_pk", "dead", limit=limit)
        return await self._t.get_many([message_of(i).id for i in items])

    async def dead_letters_sent(self, message_ids: list[str]) -> None:
        await self._t.gather([self._t.change(i, lambda m, dead: (m, False) if dead else None) for i in message_ids])
