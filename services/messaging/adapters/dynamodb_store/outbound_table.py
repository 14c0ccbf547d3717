"""WhatsAppOutboundTable on DynamoDB: its items and indexes, a message as an item, and the optimistic
read-modify-write every change of a message goes through.

  item            pk                      sk            attributes
  message         msg#<id>                msg           doc (the message, JSON), ver (optimistic lock), index keys
  key claim       key#<idempotency key>   key           message_id
  status seen     seen#<provider id>      <status>      (deduplication of (wamid, status))
  orphan status   orphan#<provider id>    <status>      doc (a status event for a message not known yet)
  coordination    coord                   coord         doc (JSON), ver
  sender mark     smark                   <sender key>  paused_until, slow_seen (131048, 130429)
  template        tpl                     <name.lang>   doc, waba, language
  media id        media#<origination>     <s3 key>      media_id, expires_at
  suppression     sup#<recipient>         <kind>        until, reason

A message's index keys (GSI: hash, range; present only while it belongs there):
  queue     q_pk q#<origination>    q_sk <lane>#<due>#<id>     while queued (a lane's due messages are one range)
  keys      k_pk k#<key scope>      k_sk <key>                 while it holds an idempotency key
  batch     b_pk b#<batch>          b_sk <update time>#<id>    a streamed send's messages
  customer  c_pk c#<recipient>      c_sk <create time>#<id>
  provider  p_pk p#<provider id>                               once known
  doubt     d_pk doubt#<0..3>       d_sk <hand-off time>#<id>  handed off, no outcome yet
  dead      x_pk dead               x_sk <id>                  failed, not yet in outbound-dlq

Every change of a message is read-modify-write: read the item (strongly consistent), apply the same domain
logic the SQLite store applies in SQL, put it back conditioned on `ver`; a lost race is read again. Where a
change spans items (a new message and its key claim, a status and its seen mark) it is one TransactWriteItems."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.codec import dumps, outbound_from_dict, outbound_to_dict, status_event_from_dict
from services.messaging.adapters.dynamodb_store.table import (
    DynamoTable,
    Indexes,
    conditional_failed,
    definition,
    key,
    s,
    shard,
    t,
)
from services.messaging.domain.model import FAILURES, MessageError, OutboundMessage, Status, StatusEvent, advances
from services.messaging.domain.rules import key_scope

INDEXES: Indexes = {
    "queue": ("q_pk", "q_sk"),
    "keys": ("k_pk", "k_sk"),
    "batch": ("b_pk", "b_sk"),
    "customer": ("c_pk", "c_sk"),
    "provider": ("p_pk", None),
    "doubt": ("d_pk", "d_sk"),
    "dead": ("x_pk", "x_sk"),
}
OUTBOUND_TABLE = definition(INDEXES)

# change(message, dead-letter flag) -> (message, flag) to write, or None: nothing to change
Change = Callable[[OutboundMessage, bool], "tuple[OutboundMessage, bool] | None"]


async def ensure_outbound_table(client, name: str) -> None:
    """Creates WhatsAppOutboundTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, OUTBOUND_TABLE, time_to_live="expires")  # counted customers age out


def message_key(message_id: str) -> dict[str, Any]:
    return key(f"msg#{message_id}", "msg")


def queue_sort_key(lane: int, due: float, message_id: str) -> str:
    """Lane, then due time, then id: the messages of a lane due by a time are one key range, so a read of the
    queue never walks past messages that are not due yet (retries and re-attempts deferred at a lane's head)."""
    return f"{int(lane)}#{t(due)}#{message_id}"


def item_of(m: OutboundMessage, ver: int, dead_letter: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        **message_key(m.id),
        "doc": s(dumps(outbound_to_dict(m))),
        "ver": {"N": str(ver)},
        "c_pk": s(f"c#{m.recipient}"),
        "c_sk": s(f"{t(m.create_time)}#{m.id}"),
    }
    if m.queued:
        item["q_pk"], item["q_sk"] = s(f"q#{m.origination}"), s(queue_sort_key(m.lane, m.due_time, m.id))
    if m.idempotency_key:
        item["k_pk"], item["k_sk"] = s(f"k#{key_scope(m.idempotency_key)}"), s(m.idempotency_key)
    if m.batch_id:
        item["b_pk"], item["b_sk"] = s(f"b#{m.batch_id}"), s(f"{t(m.update_time)}#{m.id}")
    if m.provider_message_id:
        item["p_pk"] = s(f"p#{m.provider_message_id}")
    if m.in_flight:
        item["d_pk"], item["d_sk"] = s(f"doubt#{shard(m.id)}"), s(f"{t(m.handoff_time or 0)}#{m.id}")
    if dead_letter:
        item["x_pk"], item["x_sk"] = s("dead"), s(m.id)
    return item


def read(item: dict[str, Any]) -> tuple[OutboundMessage, int, bool]:
    """(the message, its version, whether it waits for outbound-dlq)."""
    return outbound_from_dict(json.loads(item["doc"]["S"])), int(item["ver"]["N"]), "x_pk" in item


def message_of(item: dict[str, Any]) -> OutboundMessage:
    return read(item)[0]


def applied(m: OutboundMessage, event: StatusEvent) -> tuple[OutboundMessage, bool]:
    """The message after a status event (the same rules as the SQLite store's apply_event); whether it moved."""
    moves = advances(m.status, event.status)
    changes: dict[str, Any] = {
        "provider_message_id": m.provider_message_id or event.provider_message_id,
        # When the record last changed here, never the event's own (whole-second, maybe older) time.
        "update_time": max(m.update_time, time.time()),
    }
    column = {Status.SENT: "send_time", Status.DELIVERED: "deliver_time", Status.READ: "read_time"}.get(event.status)
    if column and getattr(m, column) is None:
        changes[column] = event.time
    if moves:
        changes["status"] = event.status
        if event.status in FAILURES:
            changes["error"] = event.error or MessageError("FAILED")
        elif m.status == Status.UNKNOWN or m.error:
            changes["error"] = None
    return m.replace(**changes), moves


class OutboundTable(DynamoTable):
    """WhatsAppOutboundTable's message items, as every outbound store module reads and changes them."""

    async def get_item(self, message_id: str) -> tuple[OutboundMessage, int, bool] | None:
        db = await self.db()
        reply = await db.get_item(TableName=self.name, Key=message_key(message_id), ConsistentRead=True)
        return read(reply["Item"]) if "Item" in reply else None

    def put(self, m: OutboundMessage, ver: int, dead: bool, expected: int | None) -> dict[str, Any]:
        """PutItem arguments: a new message (expected None) or version `expected` replaced by `ver`."""
        put: dict[str, Any] = {"TableName": self.name, "Item": item_of(m, ver, dead)}
        if expected is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "ver = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected)}}
        return put

    async def change(self, message_id: str, change: Change) -> OutboundMessage | None:
        """Applies change(message, dead) -> (message, dead) | None (no change) with optimistic locking; the
        message as it is after (None: there is none)."""
        db = await self.db()
        for _ in range(20):
            found = await self.get_item(message_id)
            if found is None:
                return None
            m, ver, dead = found
            result = change(m, dead)
            if result is None:
                return m
            new, new_dead = result
            try:
                await db.put_item(**self.put(new, ver + 1, new_dead, ver))
                return new
            except ClientError as exc:
                if not conditional_failed(exc):
                    raise
        raise RuntimeError(f"messages/{message_id}: too many concurrent changes")

    async def get_message(self, message_id: str) -> OutboundMessage | None:
        found = await self.get_item(message_id)
        return found[0] if found else None

    async def get_many(self, message_ids: list[str]) -> list[OutboundMessage]:
        if not message_ids:
            return []
        db = await self.db()
        items = await dynamo.batch_get(db, self.name, [message_key(i) for i in message_ids])
        by_id = {m.id: m for m in map(message_of, items)}
        return [by_id[i] for i in message_ids if i in by_id]

    async def by_provider_id(self, provider_message_id: str) -> OutboundMessage | None:
        items = await self.query("provider", "p_pk", f"p#{provider_message_id}", limit=1)
        return await self.get_message(message_of(items[0]).id) if items else None

    async def adopt_orphans(self, provider_id: str) -> None:
        """Status events that came before their message had this provider id are applied to it now, in order."""
        items = await self.query(None, "pk", f"orphan#{provider_id}", ConsistentRead=True)
        orphans = sorted((status_event_from_dict(json.loads(i["doc"]["S"])) for i in items), key=lambda e: e.time)
        if not orphans:
            return
        target = await self.by_provider_id(provider_id)
        if target is None:
            return
        db = await self.db()
        for event in orphans:
            await self.change(target.id, lambda m, dead, e=event: (applied(m, e)[0], dead))
            await db.delete_item(TableName=self.name, Key=key(f"orphan#{provider_id}", event.status.value))
