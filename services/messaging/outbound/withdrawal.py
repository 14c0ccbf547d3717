"""Withdrawal: queued messages taken back before they are handed to a provider, by idempotency key, by key prefix
(`<kind>/<id>/`, e.g. a bulk job's), by the streamed send that accepted them (its caller went away), or by the
recipient's own word: a STOP (or a 131050 suppression of marketing) on a channel. What was handed off already
completes normally and is counted as in flight, unless a hold stops it at its call: every withdrawal by key or
prefix, and every opt-out, opt-in and suppression, is also noted as a hold (domain.holds), which every
dispatcher reads back within a second and checks immediately before each call (dispatch.holds)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from services.messaging.adapters.store import HoldStore, MessageStore, Withdrawal
from services.messaging.domain import holds, rules
from services.messaging.domain.model import Channel

log = logging.getLogger("wecare.messaging")


class Withdrawals:
    def __init__(self, messages: MessageStore, held: HoldStore, wall: Callable[[], float] = time.time):
        self._messages = messages
        self._held = held
        self._wall = wall
        self._running: set[asyncio.Future] = set()  # withdrawals whose caller stopped waiting, still at work

    async def withdraw(self, prefix: str) -> Withdrawal:
        """By a key, or a prefix naming at least `<kind>/<id>/` (INVALID_ARGUMENT otherwise)."""
        target = rules.withdrawal_target(prefix)
        now = self._wall()
        # The hold first: a message handed off while the queue is being withdrawn is still stopped at its call.
        await self._held.note_holds([holds.withdrawn(prefix, now)])
        if target == "prefix":
            # A big job's queue takes a while (a page at a time): the work goes on if the caller stops waiting (its
            # deadline), so a retry or the caller's next pass finds less, never a withdrawal cut off halfway.
            work = asyncio.ensure_future(self._messages.withdraw_by_key_prefix(prefix, now))
            self._running.add(work)
            work.add_done_callback(lambda done: self._finished(prefix, done))
            return await asyncio.shield(work)
        return await self._messages.withdraw_by_key(prefix, now)

    def _finished(self, prefix: str, work: asyncio.Future) -> None:
        """A withdrawal by prefix that failed is said here: its caller may have stopped waiting for it."""
        self._running.discard(work)
        if work.cancelled() or work.exception() is None:
            return
        log.error(
            "withdrawal by key prefix failed: its hold stands (nothing of it is called), the queued messages stay"
            " withdrawable; withdraw the prefix again (a pause or cancel retried does)",
            extra={"prefix": prefix, "error": repr(work.exception())},
        )

    async def withdraw_batch(self, batch_id: str) -> Withdrawal:
        return await self._messages.withdraw_batch(batch_id, self._wall())

    async def consent_changed(self, channel: Channel, address: str, opted_out: bool, source: str) -> int:
        """A STOP (opted_out) or START from the customer, as ingested now: noted as a hold; on a STOP every queued
        message to them on that channel but the opt-out confirmation is withdrawn. How many were."""
        now = self._wall()
        make = holds.opted_out if opted_out else holds.opted_in
        await self._held.note_holds([make(channel, address, now, source)])
        if not opted_out:
            return 0
        withdrawn = await self._messages.withdraw_for_recipient(
            channel, address, now, now, keep_extra=holds.OPT_OUT_CONFIRMATION
        )
        if withdrawn:
            log.info(
                "opt-out withdrew queued messages",
                extra={"channel": channel.value, "recipient_suffix": address[-4:], "withdrawn": len(withdrawn)},
            )
        return len(withdrawn)

    async def marketing_suppressed(self, address: str, source: str) -> None:
        """131050: marketing to the address stops; what is handed off or queued is stopped at its call."""
        await self._held.note_holds([holds.suppressed(address, self._wall(), source)])
