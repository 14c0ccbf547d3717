"""Withdrawal: queued messages taken back before they are handed to a provider, by idempotency key, by key prefix
(`<kind>/<id>/`, e.g. a bulk job's), or by the streamed send that accepted them (its caller went away). What was
handed off already completes normally and is counted as in flight."""

from __future__ import annotations

import time
from collections.abc import Callable

from services.messaging.adapters.store import MessageStore, Withdrawal
from services.messaging.domain import rules


class Withdrawals:
    def __init__(self, messages: MessageStore, wall: Callable[[], float] = time.time):
        self._messages = messages
        self._wall = wall

    async def withdraw(self, prefix: str) -> Withdrawal:
        """By a key, or a prefix naming at least `<kind>/<id>/` (INVALID_ARGUMENT otherwise)."""
        target = rules.withdrawal_target(prefix)
        now = self._wall()
        if target == "prefix":
            return await self._messages.withdraw_by_key_prefix(prefix, now)
        return await self._messages.withdraw_by_key(prefix, now)

    async def withdraw_batch(self, batch_id: str) -> Withdrawal:
        return await self._messages.withdraw_batch(batch_id, self._wall())
