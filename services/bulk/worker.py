"""Bulk workers: take chunks from bulk-queue and send their recipients through messaging, each recipient once.

For each chunk message a worker:
- takes the chunk's hold (a lease as long as the message's visibility; both renewed while it works, one write a
  chunk) and claims its open recipients. Nothing to claim: the chunk is done (the message is deleted) or another
  worker holds it (a message delivered twice: this copy comes back when that worker's lease would have run out);
- streams the claimed recipients through SendMessages, each under `bulkJobs/<job id>/<recipient>`, and records
  each outcome as messaging confirms it (sent with its ids, failed with its code, suppressed by a rule, unknown);
  a repeated key returns the original message (never a second send), so a chunk sent again after a crash, a
  duplicate delivery or a resume only sends to those never sent;
- watches the job's state: on pause or cancel it cancels the stream (messaging withdraws what it had not handed
  to a provider), withdraws the job's prefix again, gives the recipients without an outcome back to PENDING and
  drops the message (ResumeJob queues the job's open chunks again);
- on a fault gives the claims back and lets the message come back after a backoff; past the queue's receive
  limit the chunk goes to bulk-dlq with the reason (ReplayDeadLetterChunks puts it back).
A worker killed with kill -9 leaves its claims to run out with its message's visibility: the next worker to
receive the chunk claims them again and re-sends under the same keys (messaging withdrew the dead worker's
unsent messages when its stream broke; the sent ones come back as duplicates with their outcome)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from enum import Enum

from runtime import metrics
from services.bulk.adapters.chunk_queue import ChunkQueue, Delivery
from services.bulk.adapters.commerce import Commerce, Invitation
from services.bulk.adapters.messaging import Composer, MessagingClient
from services.bulk.adapters.store import ChunkStore
from services.bulk.domain.model import FINISHED, Job, JobState, Recipient, Update
from services.bulk.domain.outcomes import Verdict, halt, verdict
from services.bulk.job_states import JobStates

log = logging.getLogger("wecare.bulk.worker")
MAX_VISIBILITY = 43_200  # SQS's limit (12 h)


class Ending(Enum):
    DONE = "done"  # every claimed recipient has its outcome
    STOPPED = "stopped"  # the job stopped running
    AGAIN = "again"  # some recipients must be sent again (withdrawn by someone else, refused for a passing fault)


class ChunkWorker:
    def __init__(
        self,
        chunks: ChunkStore,
        queue: ChunkQueue,
        messaging: MessagingClient,
        states: JobStates,
        *,
        capacity: int,
        lease_seconds: float,
        max_receive: int,
        process_id: str,
        on_chunk_done: Callable[[Job], Awaitable[None]],
        on_halt: Callable[[str, str], Awaitable[None]] | None = None,
        wall=time.time,
        commerce: Commerce | None = None,
    ):
        self._commerce = commerce
        self._on_halt = on_halt  # (job id, reason): pause the job, Meta paused or disabled its template
        self._halting: set[asyncio.Task] = set()
        self._chunks = chunks
        self._queue = queue
        self._messaging = messaging
        self._states = states
        self._capacity = capacity
        self._lease = lease_seconds
        self._max_receive = max_receive
        self._process_id = process_id
        self._on_chunk_done = on_chunk_done
        self._wall = wall
        self._composers: OrderedDict[tuple[str, int], Composer] = OrderedDict()
        self.working: set[asyncio.Task] = set()

    async def run(self) -> None:
        """Receives while there is room: at most `capacity` chunks at once in this process. On stop, the
        chunks in hand are given back at once (_work's cancellation)."""
        try:
            await self._receive()
        finally:
            for task in list(self.working):
                task.cancel()
            await asyncio.gather(*self.working, return_exceptions=True)

    async def _receive(self) -> None:
        free = self._capacity
        room = asyncio.Event()
        room.set()

        def finished(task: asyncio.Task) -> None:
            nonlocal free
            self.working.discard(task)
            free += 1
            room.set()

        while True:
            await room.wait()
            taking, free = free, 0
            room.clear()
            try:
                deliveries = await self._queue.receive(taking, wait_seconds=1, visibility=int(self._lease))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("receiving from bulk-queue failed")
                deliveries = []
                await asyncio.sleep(1.0)
            free += taking - len(deliveries)
            if free:
                room.set()
            for delivery in deliveries:
                task = asyncio.create_task(self._work(delivery))
                self.working.add(task)
                task.add_done_callback(finished)

    def _composer(self, job: Job) -> Composer:
        key = (job.id, job.version)
        composer = self._composers.get(key)
        if composer is None:
            composer = self._composers[key] = Composer(job)
            if len(self._composers) > 32:
                self._composers.popitem(last=False)
        return composer

    async def _work(self, delivery: Delivery) -> None:
        try:
            await self._handle(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            # SQS or the store failed around the chunk's work: its message comes back when its visibility ends.
            log.exception("handling a chunk message failed", extra={"message_id": delivery.message_id})

    async def _handle(self, delivery: Delivery) -> None:
        ref = delivery.ref
        if ref is None:
            await self._queue.dead_letter(delivery, "not a bulk chunk message")
            return
        job = await self._states.get(ref.job_id, fresh=True)
        if job is None:
            await self._queue.dead_letter(delivery, f"bulkJobs/{ref.job_id} does not exist")
            return
        if job.state in FINISHED or job.state == JobState.PAUSED:
            await self._queue.delete(delivery.receipt)  # ResumeJob queues the open chunks again
            return
        if job.state != JobState.RUNNING:
            await self._queue.extend(delivery.receipt, 5)
            return
        owner = f"{self._process_id}/{uuid.uuid4().hex[:8]}"
        claimed: list[Recipient] = []
        keeper = None
        try:
            now = self._wall()
            claimed = await self._chunks.claim(ref.job_id, ref.seq, owner, now + self._lease, now)
            if not claimed:
                await self._settle_message(delivery, job)
                return
            keeper = asyncio.create_task(self._keep(delivery, ref.job_id, ref.seq, owner))
            ending, unsettled, again = await self._send(job, ref.seq, claimed)
            claimed = []  # given back below, with the hold
            await self._chunks.release(ref.job_id, ref.seq, owner, unsettled)
            if ending == Ending.STOPPED:
                await self._queue.delete(delivery.receipt)
            elif ending == Ending.AGAIN:
                await self._retry(delivery, job, again)
            else:
                await self._settle_message(delivery, job)
        except asyncio.CancelledError:
            # The process is stopping: the stream is cancelled (messaging withdraws what it had not handed off);
            # give the claims and the message back so another worker goes on at once.
            with contextlib.suppress(Exception):
                await self._chunks.release(ref.job_id, ref.seq, owner, [r.index for r in claimed])
                await self._queue.extend(delivery.receipt, 0)
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("chunk %s of %s failed: %s", ref.seq, job.name, reason)
            with contextlib.suppress(Exception):
                await self._chunks.release(ref.job_id, ref.seq, owner, [r.index for r in claimed])
            await self._retry(delivery, job, reason)
        finally:
            if keeper is not None:
                keeper.cancel()

    async def _retry(self, delivery: Delivery, job: Job, reason: str) -> None:
        """The chunk comes back after a backoff; past the receive limit it goes to bulk-dlq with the reason."""
        if delivery.receive_count >= self._max_receive:
            await self._queue.dead_letter(delivery, reason)
        else:
            await self._queue.extend(delivery.receipt, min(60, 2 ** (delivery.receive_count - 1)))

    async def _settle_message(self, delivery: Delivery, job: Job) -> None:
        """After a chunk's claims: delete the message when the chunk is done, else let it come back when the
        claims someone else holds would have run out."""
        ref = delivery.ref
        assert ref is not None
        remaining = await self._chunks.open_count(ref.job_id, ref.seq)
        if remaining is None:
            await self._queue.dead_letter(delivery, f"chunk {ref.seq} of bulkJobs/{ref.job_id} does not exist")
            return
        if remaining == 0:
            await self._queue.delete(delivery.receipt)
            await self._on_chunk_done(job)
            return
        await self._queue.extend(delivery.receipt, int(self._lease) + 1)

    async def _keep(self, delivery: Delivery, job_id: str, seq: int, owner: str) -> None:
        """Renews the message's visibility and the claims while the chunk is worked."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._queue.extend(delivery.receipt, int(self._lease))
                await self._chunks.renew(job_id, seq, owner, self._wall() + self._lease)
            except Exception:
                log.exception("renewing a chunk's lease failed", extra={"job": job_id, "chunk": seq})

    async def _invitations(self, job: Job, claimed: list[Recipient]) -> list[Invitation] | None:
        """A form job's invitations for these recipients (made once: a repeat returns the same ones)."""
        if not job.form:
            return None
        if self._commerce is None:
            raise RuntimeError(f"{job.name} sends a form, and bulk has no commerce service")
        return await self._commerce.invitations(job.form, job.id, [(r.address, r.contact) for r in claimed])

    async def _note_messages(self, carried: list[tuple[str, str]]) -> None:
        """Each invitation learns the message that carried it. Best effort: an answer is taken without it."""
        assert self._commerce is not None
        limit = asyncio.Semaphore(16)

        async def note(invitation: str, message: str) -> None:
            async with limit:
                await self._commerce.note_message(invitation, message)

        results = await asyncio.gather(*(note(i, m) for i, m in carried), return_exceptions=True)
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            log.warning("invitations not told their message", extra={"count": len(failed), "error": str(failed[0])})

    async def _send(self, job: Job, seq: int, claimed: list[Recipient]) -> tuple[Ending, list[int], str]:
        """Streams the claimed recipients through messaging; returns how it ended, the recipients (chunk
        indexes) without an outcome, to give back, and why some must be sent again."""
        invitations = await self._invitations(job, claimed)
        carried: list[tuple[str, str]] = []  # (invitation, message) of a form job, recorded at the end
        stream = self._messaging.send(self._composer(job), claimed, invitations)
        stopped = asyncio.ensure_future(self._states.until_not_running(job.id))
        open_: dict[int, Recipient] = dict(enumerate(claimed))  # by position in the request
        again: Counter[str] = Counter()
        steps = stream.__aiter__()
        try:
            while open_:
                step = asyncio.ensure_future(steps.__anext__())
                await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    stream.cancel()  # messaging withdraws this send's messages not handed off yet
                    with contextlib.suppress(Exception):
                        await self._messaging.withdraw(job.key_prefix)
                    return Ending.STOPPED, [r.index for r in open_.values()], ""
                try:
                    progress = step.result()
                except StopAsyncIteration:
                    break
                updates: list[Update] = []
                for position, state in progress.changed:
                    r = open_.get(position)
                    if r is None:
                        continue
                    kind, update = verdict(r.index, state)
                    why = halt(state)
                    if why and self._on_halt is not None and not self._halting:
                        task = asyncio.ensure_future(self._on_halt(job.id, why))  # the pause stops this stream
                        self._halting.add(task)
                        task.add_done_callback(self._halting.discard)
                    if kind == Verdict.OUTCOME:
                        updates.append(update)
                        del open_[position]
                        if invitations and update.message:
                            carried.append((invitations[position].name, update.message))
                    elif kind == Verdict.WITHDRAWN:
                        again["withdrawn"] += 1  # released below, sent again when the chunk comes back
                    elif kind == Verdict.RETRY:
                        again[f"refused {state.refusal_code} ({state.refusal_message})"] += 1
                if updates:
                    await self._chunks.record(job.id, seq, updates, self._wall())
                    for update in updates:
                        metrics.BULK_RECIPIENTS.labels(update.outcome.name).inc()
        finally:
            stopped.cancel()
            if carried:
                await self._note_messages(carried)
        unsettled = [r.index for r in open_.values()]
        if stopped.done() and not stopped.cancelled() and open_:
            return Ending.STOPPED, unsettled, ""
        if not open_:
            return Ending.DONE, unsettled, ""
        why = "; ".join(f"{n} {what}" for what, n in again.most_common()) or "the stream ended without outcomes"
        return Ending.AGAIN, unsettled, f"{len(unsettled)} recipients to send again: {why}"
