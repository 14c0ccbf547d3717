"""WhatsAppOutboundTable and WhatsAppInboundTable on DynamoDB: the AWS implementation of OutboundStore and
InboundStore, with the semantics of sqlite_store (tests/messaging/test_store_contract.py runs both).

Each table has generic keys `pk`/`sk` and a few sparse GSIs whose key attributes a record carries only while it
belongs in that index (an item without the attribute is not in the index):

WhatsAppOutboundTable
  item            pk                      sk            attributes
  message         msg#<id>                msg           doc (the message, JSON), ver (optimistic lock), index keys
  key claim       key#<idempotency key>   key           message_id
  status seen     seen#<provider id>      <status>      (deduplication of (wamid, status))
  orphan status   orphan#<provider id>    <status>      doc (a status event for a message not known yet)
  coordination    coord                   coord         doc (JSON), ver
  template        tpl                     <name.lang>   doc, waba, language
  media id        media#<origination>     <s3 key>      media_id, expires_at
  suppression     sup#<recipient>         <kind>        until, reason

A message's index keys (GSI: hash, range; present only while it belongs there):
  queue     q_pk q#<origination>    q_sk <lane>#<id>           while queued
  keys      k_pk k#<key scope>      k_sk <key>                 while it holds an idempotency key
  batch     b_pk b#<batch>          b_sk <update time>#<id>    a streamed send's messages
  customer  c_pk c#<recipient>      c_sk <create time>#<id>
  provider  p_pk p#<provider id>                               once known
  doubt     d_pk doubt#<0..3>       d_sk <hand-off time>#<id>  handed off, no outcome yet
  dead      x_pk dead               x_sk <id>                  failed, not yet in outbound-dlq

Every change of a message is read-modify-write: read the item (strongly consistent), apply the same domain
logic the SQLite store applies in SQL, put it back conditioned on `ver`; a lost race is read again. Where a
change spans items (a new message and its key claim, a status and its seen mark) it is one TransactWriteItems.

WhatsAppInboundTable
  inbound message in#<id>                 in            doc, index keys: wamid (w_pk wamid#<wamid>), customer
                                                          (c_pk c#<customer>, c_sk <receive time>#<id>), rate
                                                          (r_pk r#<origination>, r_sk <receive time>#<id>)
  wamid claim     wamid#<wamid>           claim         message_id (stored once per wamid)
  SNS event       sns#<message id>        sns
  window          win#<origination>       <customer>    last_inbound (only ever raised)
  conversation    conv#<id>               conv          doc, ver, latest (l_pk conv#<0..3>, l_sk <update time>#<id>)
  voice call      call#<id>               call          doc, customer (c_pk vc#<customer>), latest (l_pk calls#<0..3>)
  call claim      callev#<call id>#<event> claim
  feed            feed                    <seq>         change (the inbox feed), and feed/head: the last seq (CAS)
  change claim    chkey#<key>             claim

Times in sort keys are fixed-width decimal text so that string order is time order."""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from runtime.aws import AwsClients
from services.messaging.adapters.codec import (
    conversation_from_dict,
    conversation_to_dict,
    dumps,
    inbound_from_dict,
    inbound_to_dict,
    merge_conversation,
    outbound_from_dict,
    outbound_to_dict,
    status_event_from_dict,
    status_event_to_dict,
    template_from_dict,
    template_to_dict,
    voice_call_from_dict,
    voice_call_to_dict,
)
from services.messaging.adapters.store import StatusApplied, Withdrawal
from services.messaging.domain.model import (
    AcceptOutcome,
    Channel,
    Conversation,
    InboundMessage,
    MessageError,
    MessageState,
    OutboundMessage,
    SendResult,
    Status,
    StatusEvent,
    Template,
    VoiceCall,
    advances,
    message_id_of,
    state_of,
    touched_by_inbound,
)
from services.messaging.domain.rules import key_scope

SHARDS = 4
FEED_KEPT_SECONDS = 86_400
FEED_CHANGES_PER_WRITE = 48  # 2 items a change + the head + the SNS mark <= 100 items a transaction
CONCURRENCY = 32
INDEXES = {
    "queue": ("q_pk", "q_sk"),
    "keys": ("k_pk", "k_sk"),
    "batch": ("b_pk", "b_sk"),
    "customer": ("c_pk", "c_sk"),
    "provider": ("p_pk", None),
    "doubt": ("d_pk", "d_sk"),
    "dead": ("x_pk", "x_sk"),
}
INBOUND_INDEXES = {
    "wamid": ("w_pk", None),
    "customer": ("c_pk", "c_sk"),
    "rate": ("r_pk", "r_sk"),
    "latest": ("l_pk", "l_sk"),
}


def _table(indexes: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    attributes = {"pk", "sk"} | {a for pair in indexes.values() for a in pair if a}
    return {
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}]
                + ([{"AttributeName": r, "KeyType": "RANGE"}] if r else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, (h, r) in indexes.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


OUTBOUND_TABLE = _table(INDEXES)
INBOUND_TABLE = _table(INBOUND_INDEXES)


async def ensure_outbound_table(client, name: str) -> None:
    """Creates WhatsAppOutboundTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, OUTBOUND_TABLE)


async def ensure_inbound_table(client, name: str) -> None:
    """Creates WhatsAppInboundTable (TTL on `ttl`: the inbox feed's old changes)."""
    await dynamo.ensure_table(client, name, INBOUND_TABLE, time_to_live="ttl")


async def ensure_tables(client, outbound: str, inbound: str) -> None:
    await asyncio.gather(ensure_outbound_table(client, outbound), ensure_inbound_table(client, inbound))


def _t(seconds: float) -> str:
    """Fixed-width text of a time, so that string order is time order."""
    return f"{seconds:020.6f}"


def _shard(text: str) -> int:
    return zlib.crc32(text.encode()) % SHARDS


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": _s(pk), "sk": _s(sk)}


class _Conflict(Exception):
    """An optimistic write lost a race: read again."""


class DynamoOutboundStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def _db(self):
        return await self._aws.client("dynamodb", max_pool=100)

    # --- message items ------------------------------------------------------------------------------
    def _item(self, m: OutboundMessage, ver: int, dead_letter: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            **_key(f"msg#{m.id}", "msg"),
            "doc": _s(dumps(outbound_to_dict(m))),
            "ver": {"N": str(ver)},
            "c_pk": _s(f"c#{m.recipient}"),
            "c_sk": _s(f"{_t(m.create_time)}#{m.id}"),
        }
        if m.queued:
            item["q_pk"], item["q_sk"] = _s(f"q#{m.origination}"), _s(f"{int(m.lane)}#{m.id}")
        if m.idempotency_key:
            item["k_pk"], item["k_sk"] = _s(f"k#{key_scope(m.idempotency_key)}"), _s(m.idempotency_key)
        if m.batch_id:
            item["b_pk"], item["b_sk"] = _s(f"b#{m.batch_id}"), _s(f"{_t(m.update_time)}#{m.id}")
        if m.provider_message_id:
            item["p_pk"] = _s(f"p#{m.provider_message_id}")
        if m.in_flight:
            item["d_pk"], item["d_sk"] = _s(f"doubt#{_shard(m.id)}"), _s(f"{_t(m.handoff_time or 0)}#{m.id}")
        if dead_letter:
            item["x_pk"], item["x_sk"] = _s("dead"), _s(m.id)
        return item

    @staticmethod
    def _read(item: dict[str, Any]) -> tuple[OutboundMessage, int, bool]:
        return outbound_from_dict(json.loads(item["doc"]["S"])), int(item["ver"]["N"]), "x_pk" in item

    async def _get_item(self, message_id: str) -> tuple[OutboundMessage, int, bool] | None:
        db = await self._db()
        reply = await db.get_item(TableName=self._table, Key=_key(f"msg#{message_id}", "msg"), ConsistentRead=True)
        return self._read(reply["Item"]) if "Item" in reply else None

    def _put(self, m: OutboundMessage, ver: int, dead: bool, expected: int | None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": self._item(m, ver, dead)}
        if expected is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "ver = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected)}}
        return put

    async def _change(self, message_id: str, change) -> OutboundMessage | None:
        """Applies change(message, dead) -> (message, dead) | None (no change) with optimistic locking."""
        db = await self._db()
        for _ in range(20):
            found = await self._get_item(message_id)
            if found is None:
                return None
            m, ver, dead = found
            result = change(m, dead)
            if result is None:
                return m
            new, new_dead = result
            try:
                await db.put_item(**self._put(new, ver + 1, new_dead, ver))
                return new
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"messages/{message_id}: too many concurrent changes")

    async def _gather(self, coros):
        async def limited(coro):
            async with self._limit:
                return await coro

        return await asyncio.gather(*(limited(c) for c in coros))

    # --- accepting ----------------------------------------------------------------------------------
    async def accept(self, messages: list[OutboundMessage]) -> list[AcceptOutcome]:
        # Messages sharing a key go one after the other (the second sees the first); the rest concurrently.
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            groups.setdefault(m.idempotency_key or f"\x00{i}", []).append(i)
        out: list[AcceptOutcome | None] = [None] * len(messages)

        async def group(indexes: list[int]) -> None:
            for i in indexes:
                out[i] = await self._accept_one(messages[i])

        await self._gather([group(g) for g in groups.values()])
        return [o for o in out if o is not None]

    async def _accept_one(self, m: OutboundMessage) -> AcceptOutcome:
        db = await self._db()
        if not m.idempotency_key:
            await db.put_item(**self._put(m, 1, False, None))
            return AcceptOutcome(m, duplicate=False)
        claim_key = _key(f"key#{m.idempotency_key}", "key")
        for _ in range(20):
            claim = (await db.get_item(TableName=self._table, Key=claim_key, ConsistentRead=True)).get("Item")
            items: list[dict[str, Any]] = []
            if claim is None:
                items.append(
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**claim_key, "message_id": _s(m.id)},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
            else:
                held = await self._get_item(claim["message_id"]["S"])
                if held is not None and held[0].status != Status.WITHDRAWN:
                    return AcceptOutcome(held[0], duplicate=True)
                items.append(
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**claim_key, "message_id": _s(m.id)},
                            "ConditionExpression": "message_id = :old",
                            "ExpressionAttributeValues": {":old": claim["message_id"]},
                        }
                    }
                )
                if held is not None:
                    old, ver, dead = held
                    moved = old.replace(idempotency_key="", former_idempotency_key=m.idempotency_key)
                    items.append({"Put": self._put(moved, ver + 1, dead, ver)})
            items.append({"Put": self._put(m, 1, False, None)})
            try:
                await dynamo.transact_write(db, items)
                return AcceptOutcome(m, duplicate=False)
            except dynamo.TransactionRefused:
                continue  # someone else took or moved the key meanwhile: look again
        raise RuntimeError(f"idempotency key {m.idempotency_key!r}: too much contention")

    async def get(self, message_id: str) -> OutboundMessage | None:
        found = await self._get_item(message_id)
        return found[0] if found else None

    async def get_by_key(self, idempotency_key: str) -> OutboundMessage | None:
        found = await self.get_by_keys([idempotency_key])
        return found[0] if found else None

    async def get_by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        if not idempotency_keys:
            return []
        db = await self._db()
        claims = await dynamo.batch_get(db, self._table, [_key(f"key#{k}", "key") for k in set(idempotency_keys)])
        found = await self.get_many([c["message_id"]["S"] for c in claims])
        return [m for m in found if m.idempotency_key]

    async def get_many(self, message_ids: list[str]) -> list[OutboundMessage]:
        if not message_ids:
            return []
        db = await self._db()
        items = await dynamo.batch_get(db, self._table, [_key(f"msg#{i}", "msg") for i in message_ids])
        by_id = {m.id: m for m in (self._read(item)[0] for item in items)}
        return [by_id[i] for i in message_ids if i in by_id]

    async def get_by_provider_id(self, provider_message_id: str) -> OutboundMessage | None:
        items = await self._query("provider", "p_pk", f"p#{provider_message_id}", limit=1)
        return await self.get(self._read(items[0])[0].id) if items else None

    async def _query(
        self, index: str, hash_attr: str, value: str, *, limit: int | None = None, forward: bool = True, **extra
    ) -> list[dict[str, Any]]:
        db = await self._db()
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{hash_attr} = :h" + extra.pop("range_condition", ""),
            "ExpressionAttributeValues": {":h": _s(value), **extra.pop("values", {})},
            "ScanIndexForward": forward,
            **extra,
        }
        out: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                request["Limit"] = max(1, limit - len(out))
            reply = await db.query(**request)
            out += reply.get("Items", [])
            start = reply.get("LastEvaluatedKey")
            if not start or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request["ExclusiveStartKey"] = start

    # --- the send queue -----------------------------------------------------------------------------
    async def queued(
        self, origination: str, now: float, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[OutboundMessage]:
        # The GSI is eventually consistent: what it lists is checked by the hand-off's condition anyway.
        items = await self._query("queue", "q_pk", f"q#{origination}", limit=limit)
        out = []
        for item in items:
            m = self._read(item)[0]
            if m.id not in exclude and m.queued and m.due_time <= now:
                out.append(m)
        return out

    async def hand_off(self, message_ids: list[str], now: float) -> list[str]:
        def change(m: OutboundMessage, dead: bool):
            if not m.queued:
                return None
            return m.replace(handoff_time=now, attempts=m.attempts + 1, update_time=now), dead

        results = await self._gather([self._change(i, change) for i in message_ids])
        return [i for i, m in zip(message_ids, results, strict=True) if m is not None and m.handoff_time == now]

    async def record_results(self, results: list[SendResult], fetch: bool = True) -> list[OutboundMessage]:
        async def one(r: SendResult) -> OutboundMessage | None:
            def change(m: OutboundMessage, dead: bool):
                if r.outcome == "sent":
                    if m.status in (Status.FAILED, Status.WITHDRAWN):
                        return None
                    status = Status.SENT if m.status in (Status.ACCEPTED, Status.UNKNOWN) else m.status
                    return (
                        m.replace(
                            status=status,
                            provider_message_id=m.provider_message_id or r.provider_message_id,
                            send_time=m.send_time if m.send_time is not None else r.time,
                            handoff_time=m.handoff_time if m.handoff_time is not None else r.time,
                            error=None,
                            update_time=r.time,
                            extra={**m.extra, **r.extra},
                        ),
                        dead,
                    )
                if r.outcome == "failed":
                    if m.status not in (Status.ACCEPTED, Status.UNKNOWN):
                        return None
                    return m.replace(status=Status.FAILED, error=r.error, update_time=r.time), True
                if r.outcome == "retry":
                    if not m.in_flight:
                        return None
                    return m.replace(handoff_time=None, due_time=r.retry_at, error=r.error, update_time=r.time), dead
                if r.outcome == "in_doubt":
                    if m.status != Status.ACCEPTED:
                        return None
                    return m.replace(error=r.error, update_time=r.time), dead
                raise ValueError(f"unknown send outcome {r.outcome!r}")

            m = await self._change(r.message_id, change)
            if m is not None and r.outcome == "sent" and r.provider_message_id:
                await self._adopt_orphans(r.provider_message_id)
                m = await self.get(m.id)
            return m

        found = await self._gather([one(r) for r in results])
        return [m for m in found if m is not None]

    async def in_doubt(self, handed_off_before: float, limit: int) -> list[OutboundMessage]:
        requests = [
            {
                "TableName": self._table,
                "IndexName": "doubt",
                "KeyConditionExpression": "d_pk = :h AND d_sk < :t",
                "ExpressionAttributeValues": {":h": _s(f"doubt#{s}"), ":t": _s(_t(handed_off_before))},
            }
            for s in range(SHARDS)
        ]
        items = await dynamo.merged_query(await self._db(), requests, "d_sk", limit)
        return [m for m in (self._read(i)[0] for i in items) if m.in_flight]

    async def mark_unknown(self, message_ids: list[str], now: float) -> list[str]:
        error = MessageError(
            "OUTCOME_UNKNOWN",
            "no answer from the provider and no status event",
            "handed to the provider, then no answer and no status event arrived within the window",
        )

        def change(m: OutboundMessage, dead: bool):
            if not m.in_flight:
                return None
            return m.replace(status=Status.UNKNOWN, error=error, update_time=now), dead

        results = await self._gather([self._change(i, change) for i in message_ids])
        return [i for i, m in zip(message_ids, results, strict=True) if m is not None and m.status == Status.UNKNOWN]

    @staticmethod
    def _applied(m: OutboundMessage, event: StatusEvent) -> tuple[OutboundMessage, bool]:
        """The message after a status event (the same rules as the SQLite store's _apply)."""
        moves = advances(m.status, event.status)
        changes: dict[str, Any] = {
            "provider_message_id": m.provider_message_id or event.provider_message_id,
            # When the record last changed here, never the event's own (whole-second, maybe older) time.
            "update_time": max(m.update_time, time.time()),
        }
        column = {Status.SENT: "send_time", Status.DELIVERED: "deliver_time", Status.READ: "read_time"}.get(
            event.status
        )
        if column and getattr(m, column) is None:
            changes[column] = event.time
        if moves:
            changes["status"] = event.status
            if event.status == Status.FAILED:
                changes["error"] = event.error or MessageError("FAILED")
            elif m.status == Status.UNKNOWN or m.error:
                changes["error"] = None
        return m.replace(**changes), moves

    async def apply_status(self, event: StatusEvent) -> StatusApplied:
        db = await self._db()
        seen = {
            "Put": {
                "TableName": self._table,
                "Item": _key(f"seen#{event.provider_message_id}", event.status.value),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for _ in range(20):
            found = None
            if event.callback_data:
                found = await self._get_item(message_id_of(event.callback_data))
            if found is None:
                by_provider = await self._query("provider", "p_pk", f"p#{event.provider_message_id}", limit=1)
                if by_provider:
                    found = await self._get_item(self._read(by_provider[0])[0].id)
            if found is None:
                orphan = {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_key(f"orphan#{event.provider_message_id}", event.status.value),
                            "doc": _s(dumps(status_event_to_dict(event))),
                        },
                    }
                }
                try:
                    await dynamo.transact_write(db, [seen, orphan])
                except dynamo.TransactionRefused:
                    return StatusApplied(None, changed=False, duplicate=True)
                return StatusApplied(None, changed=False)
            m, ver, dead = found
            new, moves = self._applied(m, event)
            try:
                await dynamo.transact_write(db, [seen, {"Put": self._put(new, ver + 1, dead, ver)}])
            except dynamo.TransactionRefused as exc:
                if exc.failed(0):
                    return StatusApplied(m, changed=False, duplicate=True)
                continue  # the message changed meanwhile
            return StatusApplied(new, changed=moves)
        raise RuntimeError("status event: too much contention")

    async def _adopt_orphans(self, provider_id: str) -> None:
        db = await self._db()
        reply = await db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": _s(f"orphan#{provider_id}")},
            ConsistentRead=True,
        )
        orphans = sorted(
            (status_event_from_dict(json.loads(i["doc"]["S"])) for i in reply.get("Items", [])), key=lambda e: e.time
        )
        if not orphans:
            return
        target = await self.get_by_provider_id(provider_id)
        if target is None:
            return
        for event in orphans:
            await self._change(target.id, lambda m, dead, e=event: (self._applied(m, e)[0], dead))
            await db.delete_item(TableName=self._table, Key=_key(f"orphan#{provider_id}", event.status.value))

    # --- withdrawal ---------------------------------------------------------------------------------
    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        items = await self._query(
            "keys",
            "k_pk",
            f"k#{key_scope(prefix + 'x')}",
            range_condition=" AND begins_with(k_sk, :p)",
            values={":p": _s(prefix)},
        )
        return await self._withdraw([self._read(i)[0] for i in items], now)

    async def withdraw_by_key(self, idempotency_key: str, now: float) -> Withdrawal:
        found = await self.get_by_key(idempotency_key)
        return await self._withdraw([found] if found else [], now)

    async def withdraw_batch(self, batch_id: str, now: float) -> Withdrawal:
        items = await self._query("batch", "b_pk", f"b#{batch_id}")
        return await self._withdraw([self._read(i)[0] for i in items], now)

    async def _withdraw(self, candidates: list[OutboundMessage], now: float) -> Withdrawal:
        def change(m: OutboundMessage, dead: bool):
            if not m.queued:
                return None
            return m.replace(status=Status.WITHDRAWN, update_time=now), dead

        results = await self._gather([self._change(m.id, change) for m in candidates if m.status == Status.ACCEPTED])
        withdrawn = [m for m in results if m is not None and m.status == Status.WITHDRAWN and m.update_time == now]
        fresh = await self.get_many([m.id for m in candidates])
        in_flight = sum(1 for m in fresh if m.in_flight)
        return Withdrawal(withdrawn, in_flight)

    async def batch_changes(self, batch_id: str, since: float) -> list[MessageState]:
        items = await self._query(
            "batch", "b_pk", f"b#{batch_id}", range_condition=" AND b_sk >= :s", values={":s": _s(_t(since))}
        )
        return [state_of(self._read(i)[0]) for i in items]

    # --- outbound-dlq outbox ------------------------------------------------------------------------
    async def dead_letters_pending(self, limit: int) -> list[OutboundMessage]:
        items = await self._query("dead", "x_pk", "dead", limit=limit)
        found = await self.get_many([self._read(i)[0].id for i in items])
        return found

    async def dead_letters_sent(self, message_ids: list[str]) -> None:
        await self._gather([self._change(i, lambda m, dead: (m, False) if dead else None) for i in message_ids])

    async def requeue(self, message_id: str, now: float) -> OutboundMessage | None:
        def change(m: OutboundMessage, dead: bool):
            if m.status != Status.FAILED or m.provider_message_id or m.send_time is not None:
                return None
            return (
                m.replace(
                    status=Status.ACCEPTED, handoff_time=None, due_time=now, attempts=0, error=None, update_time=now
                ),
                False,
            )

        m = await self._change(message_id, change)
        return m if m is not None and m.status == Status.ACCEPTED and m.update_time == now else None

    async def retry_later(self, message_id: str, due: float, now: float) -> OutboundMessage | None:
        def change(m: OutboundMessage, dead: bool):
            if m.status != Status.FAILED or not m.error or m.error.code != "131049":
                return None
            previous = [*m.extra.get("previous_provider_ids", []), m.provider_message_id]
            return (
                m.replace(
                    status=Status.ACCEPTED,
                    handoff_time=None,
                    due_time=due,
                    attempts=0,
                    update_time=now,
                    send_time=None,
                    deliver_time=None,
                    read_time=None,
                    provider_message_id="",
                    extra={**m.extra, "previous_provider_ids": previous},
                ),
                False,
            )

        m = await self._change(message_id, change)
        return m if m is not None and m.status == Status.ACCEPTED and m.due_time == due else None

    # --- conversations ------------------------------------------------------------------------------
    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[OutboundMessage]:
        bound = f"{_t(before[0])}#{before[1]}" if before else "\U0010ffff"
        out: list[OutboundMessage] = []
        db = await self._db()
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "customer",
            "KeyConditionExpression": "c_pk = :h AND c_sk < :b",
            "ExpressionAttributeValues": {":h": _s(f"c#{customer}"), ":b": _s(bound)},
            "ScanIndexForward": False,
        }
        while len(out) < limit:
            reply = await db.query(**request)
            for item in reply.get("Items", []):
                m = self._read(item)[0]
                if channel is None or m.channel == channel:
                    out.append(m)
            if "LastEvaluatedKey" not in reply:
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return out[:limit]

    async def delete(self, message_id: str) -> OutboundMessage | None:
        db = await self._db()
        reply = await db.delete_item(
            TableName=self._table, Key=_key(f"msg#{message_id}", "msg"), ReturnValues="ALL_OLD"
        )
        if "Attributes" not in reply:
            return None
        m = self._read(reply["Attributes"])[0]
        if m.idempotency_key:
            try:  # the key claim goes with it, unless the key moved on to a newer message
                await db.delete_item(
                    TableName=self._table,
                    Key=_key(f"key#{m.idempotency_key}", "key"),
                    ConditionExpression="message_id = :m",
                    ExpressionAttributeValues={":m": _s(m.id)},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return m

    # --- coordination, catalogue, media, suppressions -----------------------------------------------
    async def load_coordination(self) -> tuple[dict[str, Any], int]:
        db = await self._db()
        item = (await db.get_item(TableName=self._table, Key=_key("coord", "coord"), ConsistentRead=True)).get("Item")
        return (json.loads(item["doc"]["S"]), int(item["ver"]["N"])) if item else ({}, 0)

    async def save_coordination(self, doc: dict[str, Any], expected_version: int) -> bool:
        db = await self._db()
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**_key("coord", "coord"), "doc": _s(dumps(doc)), "ver": {"N": str(expected_version + 1)}},
        }
        if expected_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "ver = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        try:
            await db.put_item(**put)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def _templates(self) -> list[dict[str, Any]]:
        db = await self._db()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": _s("tpl")},
            "ConsistentRead": True,
        }
        out: list[dict[str, Any]] = []
        while True:
            reply = await db.query(**request)
            out += reply.get("Items", [])
            if "LastEvaluatedKey" not in reply:
                return out
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    async def replace_templates(self, waba: str, templates: list[Template]) -> tuple[int, int]:
        db = await self._db()
        before = {i["sk"]["S"] for i in await self._templates() if i["waba"]["S"] == waba}
        after = {t.key for t in templates}
        for key in before - after:
            await db.delete_item(TableName=self._table, Key=_key("tpl", key))
        for t in templates:
            await db.put_item(
                TableName=self._table,
                Item={
                    **_key("tpl", t.key),
                    "waba": _s(waba),
                    "language": _s(t.language),
                    "doc": _s(dumps(template_to_dict(t))),
                },
            )
        return len(after - before), len(before - after)

    async def list_templates(self, language: str, after: str, limit: int) -> list[Template]:
        items = [i for i in await self._templates() if i["sk"]["S"] > after]
        if language:
            items = [i for i in items if i["language"]["S"] == language]
        items.sort(key=lambda i: i["sk"]["S"])
        return [template_from_dict(json.loads(i["doc"]["S"])) for i in items[:limit]]

    async def get_template(self, template_name: str, language: str) -> Template | None:
        db = await self._db()
        item = (
            await db.get_item(
                TableName=self._table, Key=_key("tpl", f"{template_name}.{language}"), ConsistentRead=True
            )
        ).get("Item")
        return template_from_dict(json.loads(item["doc"]["S"])) if item else None

    async def media_id(self, origination: str, media_key: str, now: float) -> str | None:
        db = await self._db()
        item = (
            await db.get_item(TableName=self._table, Key=_key(f"media#{origination}", media_key), ConsistentRead=True)
        ).get("Item")
        if item is None or float(item["expires_at"]["N"]) <= now:
            return None
        return item["media_id"]["S"]

    async def put_media_id(self, origination: str, media_key: str, media_id: str, expires_at: float) -> None:
        db = await self._db()
        await db.put_item(
            TableName=self._table,
            Item={
                **_key(f"media#{origination}", media_key),
                "media_id": _s(media_id),
                "expires_at": {"N": repr(expires_at)},
            },
        )

    async def suppress(self, recipient: str, kind: str, until: float, reason: str) -> None:
        db = await self._db()
        try:
            await db.put_item(
                TableName=self._table,
                Item={**_key(f"sup#{recipient}", kind), "until": {"N": repr(until)}, "reason": _s(reason)},
                ConditionExpression="attribute_not_exists(pk) OR #u < :u",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues={":u": {"N": repr(until)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else: a longer suppression is already there

    async def suppressed(self, recipient: str, kind: str, now: float) -> str | None:
        return (await self.suppressed_many([recipient], kind, now)).get(recipient)

    async def suppressed_many(self, recipients: list[str], kind: str, now: float) -> dict[str, str]:
        if not recipients:
            return {}
        db = await self._db()
        keys = [_key(f"sup#{r}", k) for r in set(recipients) for k in {kind, "all"}]
        out: dict[str, str] = {}
        for item in await dynamo.batch_get(db, self._table, keys):
            if float(item["until"]["N"]) > now:
                out[item["pk"]["S"].removeprefix("sup#")] = item["reason"]["S"]
        return out

    async def ping(self) -> None:
        db = await self._db()
        await db.describe_table(TableName=self._table)

    async def close(self) -> None:
        """The clients belong to AwsClients, closed with the process."""


class DynamoInboundStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _db(self):
        return await self._aws.client("dynamodb", max_pool=100)

    async def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        db = await self._db()
        return (await db.get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=True)).get("Item")

    async def _put_new(self, item: dict[str, Any]) -> bool:
        db = await self._db()
        try:
            await db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def event_seen(self, sns_message_id: str) -> bool:
        return await self._get(f"sns#{sns_message_id}", "sns") is not None

    async def mark_event(self, sns_message_id: str, now: float) -> bool:
        return await self._put_new({**_key(f"sns#{sns_message_id}", "sns"), "time": {"N": repr(now)}})

    def _message_item(self, m: InboundMessage) -> dict[str, Any]:
        return {
            **_key(f"in#{m.id}", "in"),
            "doc": _s(dumps(inbound_to_dict(m))),
            "w_pk": _s(f"wamid#{m.provider_message_id}"),
            "c_pk": _s(f"c#{m.customer}"),
            "c_sk": _s(f"{_t(m.receive_time)}#{m.id}"),
            "r_pk": _s(f"r#{m.origination}"),
            "r_sk": _s(f"{_t(m.receive_time)}#{m.id}"),
        }

    async def add_message(self, message: InboundMessage) -> tuple[InboundMessage, bool]:
        db = await self._db()
        claim = {
            "Put": {
                "TableName": self._table,
                "Item": {**_key(f"wamid#{message.provider_message_id}", "claim"), "message_id": _s(message.id)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        put = {"Put": {"TableName": self._table, "Item": self._message_item(message)}}
        try:
            await dynamo.transact_write(db, [claim, put])
        except dynamo.TransactionRefused:
            held = await self.get_by_provider_id(message.provider_message_id)
            if held is None:
                raise
            return held, False
        # The window only ever moves later; an older message leaves it as it is.
        try:
            await db.update_item(
                TableName=self._table,
                Key=_key(f"win#{message.origination}", message.customer),
                UpdateExpression="SET last_inbound = :t",
                ConditionExpression="attribute_not_exists(last_inbound) OR last_inbound < :t",
                ExpressionAttributeValues={":t": {"N": repr(message.receive_time)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        await self._touch(touched_by_inbound(message))
        return message, True

    async def _touch(self, new: Conversation) -> None:
        db = await self._db()
        for _ in range(20):
            item = await self._get(f"conv#{new.id}", "conv")
            old = conversation_from_dict(json.loads(item["doc"]["S"])) if item else None
            ver = int(item["ver"]["N"]) if item else 0
            merged = merge_conversation(old, new)
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": {
                    **_key(f"conv#{merged.id}", "conv"),
                    "doc": _s(dumps(conversation_to_dict(merged))),
                    "ver": {"N": str(ver + 1)},
                    "channel": _s(merged.channel.value),
                    "l_pk": _s(f"conv#{_shard(merged.id)}"),
                    "l_sk": _s(f"{_t(merged.update_time)}#{merged.id}"),
                },
            }
            if item is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "ver = :v"
                put["ExpressionAttributeValues"] = {":v": {"N": str(ver)}}
            try:
                await db.put_item(**put)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"conversations/{new.id}: too many concurrent changes")

    async def get(self, message_id: str) -> InboundMessage | None:
        item = await self._get(f"in#{message_id}", "in")
        return inbound_from_dict(json.loads(item["doc"]["S"])) if item else None

    async def get_by_provider_id(self, provider_message_id: str) -> InboundMessage | None:
        claim = await self._get(f"wamid#{provider_message_id}", "claim")
        return await self.get(claim["message_id"]["S"]) if claim else None

    async def update_message(self, message: InboundMessage) -> None:
        db = await self._db()
        await db.put_item(
            TableName=self._table,
            Item=self._message_item(message),
            ConditionExpression="attribute_exists(pk)",
        )

    async def delete(self, message_id: str) -> InboundMessage | None:
        db = await self._db()
        reply = await db.delete_item(TableName=self._table, Key=_key(f"in#{message_id}", "in"), ReturnValues="ALL_OLD")
        return inbound_from_dict(json.loads(reply["Attributes"]["doc"]["S"])) if "Attributes" in reply else None

    async def last_inbound(self, origination: str, customer: str) -> float | None:
        item = await self._get(f"win#{origination}", customer)
        return float(item["last_inbound"]["N"]) if item else None

    async def last_inbound_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
        if not pairs:
            return {}
        db = await self._db()
        items = await dynamo.batch_get(db, self._table, [_key(f"win#{o}", c) for o, c in set(pairs)])
        return {(i["pk"]["S"].removeprefix("win#"), i["sk"]["S"]): float(i["last_inbound"]["N"]) for i in items}

    async def inbound_count(self, origination: str, since: float) -> int:
        db = await self._db()
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "rate",
            "KeyConditionExpression": "r_pk = :h AND r_sk >= :s",
            "ExpressionAttributeValues": {":h": _s(f"r#{origination}"), ":s": _s(_t(since))},
            "Select": "COUNT",
        }
        total = 0
        while True:
            reply = await db.query(**request)
            total += reply.get("Count", 0)
            if "LastEvaluatedKey" not in reply:
                return total
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[InboundMessage]:
        bound = f"{_t(before[0])}#{before[1]}" if before else "\U0010ffff"
        db = await self._db()
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "customer",
            "KeyConditionExpression": "c_pk = :h AND c_sk < :b",
            "ExpressionAttributeValues": {":h": _s(f"c#{customer}"), ":b": _s(bound)},
            "ScanIndexForward": False,
        }
        out: list[InboundMessage] = []
        while len(out) < limit:
            reply = await db.query(**request)
            for item in reply.get("Items", []):
                m = inbound_from_dict(json.loads(item["doc"]["S"]))
                if channel is None or m.channel == channel:
                    out.append(m)
            if "LastEvaluatedKey" not in reply:
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return out[:limit]

    async def note_outbound(self, conversations: list[Conversation]) -> None:
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(c: Conversation) -> None:
            async with sem:
                await self._touch(c)

        await asyncio.gather(*(one(c) for c in conversations))

    async def _latest(self, prefix: str, before: tuple[float, str] | None, limit: int, channel: Channel | None):
        bound = f"{_t(before[0])}#{before[1]}" if before else "\U0010ffff"
        requests = []
        for s in range(SHARDS):
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": "latest",
                "KeyConditionExpression": "l_pk = :h AND l_sk < :b",
                "ExpressionAttributeValues": {":h": _s(f"{prefix}#{s}"), ":b": _s(bound)},
                "ScanIndexForward": False,
            }
            if channel is not None:
                request["FilterExpression"] = "channel = :c"
                request["ExpressionAttributeValues"][":c"] = _s(channel.value)
            requests.append(request)
        return await dynamo.merged_query(await self._db(), requests, "l_sk", limit, descending=True)

    async def list_conversations(
        self, channel: Channel | None, before: tuple[float, str] | None, limit: int
    ) -> list[Conversation]:
        items = await self._latest("conv", before, limit, channel)
        return [conversation_from_dict(json.loads(i["doc"]["S"])) for i in items]

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        item = await self._get(f"conv#{conversation_id}", "conv")
        return conversation_from_dict(json.loads(item["doc"]["S"])) if item else None

    async def add_voice_call(self, call: VoiceCall) -> bool:
        db = await self._db()
        claim = {
            "Put": {
                "TableName": self._table,
                "Item": _key(f"callev#{call.call_id}#{call.event}", "claim"),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        put = {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **_key(f"call#{call.id}", "call"),
                    "doc": _s(dumps(voice_call_to_dict(call))),
                    "c_pk": _s(f"vc#{call.customer}"),
                    "c_sk": _s(f"{_t(call.time)}#{call.id}"),
                    "l_pk": _s(f"calls#{_shard(call.id)}"),
                    "l_sk": _s(f"{_t(call.time)}#{call.id}"),
                },
            }
        }
        try:
            await dynamo.transact_write(db, [claim, put])
        except dynamo.TransactionRefused:
            return False
        return True

    async def list_voice_calls(self, customer: str, before: tuple[float, str] | None, limit: int) -> list[VoiceCall]:
        if not customer:
            items = await self._latest("calls", before, limit, None)
            return [voice_call_from_dict(json.loads(i["doc"]["S"])) for i in items]
        bound = f"{_t(before[0])}#{before[1]}" if before else "\U0010ffff"
        db = await self._db()
        reply = await db.query(
            TableName=self._table,
            IndexName="customer",
            KeyConditionExpression="c_pk = :h AND c_sk < :b",
            ExpressionAttributeValues={":h": _s(f"vc#{customer}"), ":b": _s(bound)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [voice_call_from_dict(json.loads(i["doc"]["S"])) for i in reply.get("Items", [])]

    # --- the inbox's change feed --------------------------------------------------------------------
    async def commit_event(self, sns_message_id: str, changes: list, now: float) -> bool:
        """The feed head moves from n to n + k by compare-and-swap in the same transaction that appends the k
        changes not seen before (a key claim each), so seq grows in commit order. A transaction takes at most
        100 items: many changes go in several, the SNS mark with the last; a crash in between leaves the
        appended ones claimed, so a redelivery appends only the rest."""
        if await self.event_seen(sns_message_id):
            return False
        db = await self._db()
        pending = list(changes)
        while True:
            part, rest = pending[:FEED_CHANGES_PER_WRITE], pending[FEED_CHANGES_PER_WRITE:]
            last = not rest
            for _ in range(30):
                try:
                    await self._append(db, sns_message_id if last else "", part, now)
                    break
                except dynamo.TransactionRefused as exc:
                    if last and exc.failed(0):
                        return False  # this SNS message was applied meanwhile
                    continue  # another writer moved the head, or took a key: read again
            else:
                raise RuntimeError("inbox feed: too much contention")
            if last:
                return True
            pending = rest

    async def _append(self, db, sns_message_id: str, changes: list, now: float) -> None:
        from services.messaging.domain.inbound import Change  # the inbound domain's record

        head = await self._get("feed", "head")
        seq = int(head["seq"]["N"]) if head else 0
        keys = [_key(f"chkey#{c.key}", "claim") for c in changes]
        claimed = await dynamo.batch_get(db, self._table, keys) if keys else []
        taken = {i["pk"]["S"].removeprefix("chkey#") for i in claimed}
        fresh = [c for c in changes if c.key not in taken]
        items: list[dict[str, Any]] = []
        if sns_message_id:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**_key(f"sns#{sns_message_id}", "sns"), "time": {"N": repr(now)}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if fresh:
            condition = (
                {"ConditionExpression": "seq = :s", "ExpressionAttributeValues": {":s": {"N": str(seq)}}}
                if head
                else {"ConditionExpression": "attribute_not_exists(pk)"}
            )
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**_key("feed", "head"), "seq": {"N": str(seq + len(fresh))}},
                        **condition,
                    }
                }
            )
        for n, c in enumerate(fresh, start=seq + 1):
            assert isinstance(c, Change)
            record = {
                "key": c.key,
                "kind": c.kind,
                "conversation": c.conversation_id,
                "time": c.time,
                "record": c.record,
            }
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _key(f"chkey#{c.key}", "claim"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_key("feed", f"{n:020d}"),
                            "change": _s(dumps(record)),
                            "written": {"N": repr(now)},
                            "ttl": {"N": str(int(now + FEED_KEPT_SECONDS))},  # DynamoDB drops it after a day
                        },
                    }
                }
            )
        if items:
            await dynamo.transact_write(db, items)

    async def changes_after(self, seq: int, limit: int) -> list:
        from services.messaging.domain.inbound import Change

        db = await self._db()
        reply = await db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":p": _s("feed"),
                ":a": _s(f"{seq + 1:020d}"),
                ":b": _s(f"{10**20 - 1:020d}"),
            },
            ConsistentRead=True,
            Limit=limit,
        )
        out = []
        for item in reply.get("Items", []):
            d = json.loads(item["change"]["S"])
            out.append(Change(d["key"], d["kind"], d["conversation"], d["time"], d["record"], seq=int(item["sk"]["S"])))
        return out

    async def last_change_seq(self) -> int:
        head = await self._get("feed", "head")
        return int(head["seq"]["N"]) if head else 0

    async def ping(self) -> None:
        db = await self._db()
        await db.describe_table(TableName=self._table)

    async def close(self) -> None:
        """The clients belong to AwsClients, closed with the process."""
