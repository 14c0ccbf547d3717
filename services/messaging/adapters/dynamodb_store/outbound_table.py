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

A message's index keys (GSI: hash, range; present only while it belongs there) and what each index projects:
  queue     q_pk q#<origination>#<n>  q_sk <lane>#<due>#<id>     while queued                      keys only
  keys      k_pk k#<key scope>#<n>    k_sk <key>                 while queued or in flight          keys only
  batch     b_pk b#<batch>#<n>        b_sk <followed time>#<id>  a streamed send's messages         st
  customer  c_pk c#<recipient>        c_sk <create time>#<id>                                       all
  provider  p_pk p#<provider id>                                 once known                         keys only
  doubt     d_pk doubt#<n>            d_sk <hand-off time>#<id>  handed off, no outcome yet         keys only
  dead      x_pk dead                 x_sk <id>                  failed, not yet in outbound-dlq    all

Hot keys (issue 12): DynamoDB takes 1,000 writes/s on one partition key, and an index entry costs a write when
it enters, one when it leaves and two when its key moves; with a full projection also one whenever the message
changes. So the busy indexes project only their keys (what a read needs then comes from the messages by id,
strongly consistent) and their entries stay put while they are there; and what one phone, one job or one stream
concentrates is spread over shards (n = crc32(message id) mod the index's shard count, below), read back by
querying every shard and merging on the sort key. `batch` moves an entry only when what a streamed send follows
changes (status, with delivered and read counted as sent, provider id, an outcome's error, re-attempt link: a
message's acceptance and its settling), and projects that state (`st`) so a stream's poll reads no message. `keys` holds
only unfinished messages: a pause reads O(queued + in flight) entries, not every key of the job.

Every change of a message is read-modify-write: read the item (strongly consistent), apply the same domain
logic the SQLite store applies in SQL, put it back conditioned on `ver`; a lost race is read again. Where a
change spans items (a new message and its key claim, a status and its seen mark) it is one TransactWriteItems."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.codec import dumps, outbound_from_dict, outbound_to_dict, status_event_from_dict
from services.messaging.adapters.dynamodb_store.table import (
    DynamoTable,
    Indexes,
    Projections,
    definition,
    key,
    s,
    shard,
    t,
)
from services.messaging.domain.model import (
    TERMINAL,
    MessageError,
    MessageState,
    OutboundMessage,
    Status,
    StatusEvent,
    advances,
    as_applied,
)
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
PROJECTIONS: Projections = {"queue": (), "keys": (), "batch": ("st",), "provider": (), "doubt": ()}
OUTBOUND_TABLE = definition(INDEXES, PROJECTIONS)

# Shards: the worst case is one phone, one job or one stream taking the whole 1,000 sends/s; an index's writes a
# send x 1,000 / shards must stay under 500 (half a partition's 1,000 WCU/s), each entry one WCU (under 1 KB).
# A message's shard is fixed by its id and readers query every shard, so changing a count on a live table
# strands entries: a migration (docs/RUNBOOK.md).
QUEUE_SHARDS = 8  # 2 writes a send (in at acceptance, out at hand-off; a deferral moves it): 250 WCU/s a shard
KEY_SHARDS = 8  # 2 writes a message of a job (in at acceptance, out at its outcome): 250 WCU/s a shard
BATCH_SHARDS = 8  # 3 writes a message of a stream (in at acceptance, a move when it settles): 375 WCU/s a shard
DOUBT_SHARDS = 8  # 2 writes a send (in at hand-off, out at its outcome): 250 WCU/s a shard

# change(message, dead-letter flag) -> (message, flag) to write, or None: nothing to change
Change = Callable[[OutboundMessage, bool], "tuple[OutboundMessage, bool] | None"]


async def ensure_outbound_table(client, name: str) -> None:
    """Creates WhatsAppOutboundTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, OUTBOUND_TABLE, time_to_live="expires")  # counted customers age out


def message_key(message_id: str) -> dict[str, Any]:
    return key(f"msg#{message_id}", "msg")


def queue_sort_key(lane: int, due: float, message_id: str) -> str:
    """Lane, then due time, then id: the messages of a lane due by a time are one key range, so a read of the
    queue leaves a lane at its first message not due yet (retries and re-attempts deferred at a lane's head)."""
    return f"{int(lane)}#{t(due)}#{message_id}"


class Stored(NamedTuple):
    """A message as read: its version, whether it waits for outbound-dlq, and the item (its index entries)."""

    message: OutboundMessage
    ver: int
    dead: bool
    item: dict[str, Any]


def followed(m: OutboundMessage) -> tuple:
    """What a streamed send follows of a message: a change of it moves the message's `batch` entry. Not the error
    of a message still accepted (a retry's or a deferral's reason: a stream reports an error with an outcome)."""
    status = Status.SENT if m.status in (Status.DELIVERED, Status.READ) else m.status
    error = None if m.status == Status.ACCEPTED else m.error
    extra = (m.extra.get("reattempt_key", ""), m.extra.get("reattempt_due"))
    return status, m.provider_message_id, error, *extra


def state_json(m: OutboundMessage) -> str:
    return dumps(
        [
            m.status.value,
            m.update_time,
            m.provider_message_id,
            m.error.to_dict() if m.error else None,
            str(m.extra.get("reattempt_key", "")),
            float(m.extra.get("reattempt_due") or 0.0),
        ]
    )


def state_from(item: dict[str, Any]) -> MessageState:
    """A `batch` entry's state (`st`), as of the message's last followed change."""
    status, update_time, provider_id, error, reattempt_key, reattempt_due = json.loads(item["st"]["S"])
    error = MessageError.from_dict(error)
    return MessageState(id_of(item), Status(status), update_time, provider_id, error, reattempt_key, reattempt_due)


def id_of(item: dict[str, Any]) -> str:
    """The message id of an item or of any index entry of it (every index projects the table's keys)."""
    return item["pk"]["S"].removeprefix("msg#")


def item_of(m: OutboundMessage, ver: int, dead_letter: bool, prior: Stored | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        **message_key(m.id),
        "doc": s(dumps(outbound_to_dict(m))),
        "ver": {"N": str(ver)},
        "c_pk": s(f"c#{m.recipient}"),
        "c_sk": s(f"{t(m.create_time)}#{m.id}"),
    }
    if m.queued:
        item["q_pk"] = s(f"q#{m.origination}#{shard(m.id, QUEUE_SHARDS)}")
        item["q_sk"] = s(queue_sort_key(m.lane, m.due_time, m.id))
    if m.idempotency_key and (m.queued or m.in_flight):
        item["k_pk"] = s(f"k#{key_scope(m.idempotency_key)}#{shard(m.id, KEY_SHARDS)}")
        item["k_sk"] = s(m.idempotency_key)
    if m.batch_id:
        item["b_pk"] = s(f"b#{m.batch_id}#{shard(m.id, BATCH_SHARDS)}")
        before = prior.item if prior is not None else {}
        if "st" in before and "b_sk" in before and followed(prior.message) == followed(m):  # type: ignore[union-attr]
            item["b_sk"], item["st"] = before["b_sk"], before["st"]  # nothing followed changed: the entry stays
        else:
            item["b_sk"], item["st"] = s(f"{t(m.update_time)}#{m.id}"), s(state_json(m))
    if m.provider_message_id:
        item["p_pk"] = s(f"p#{m.provider_message_id}")
    if m.in_flight:
        item["d_pk"] = s(f"doubt#{shard(m.id, DOUBT_SHARDS)}")
        item["d_sk"] = s(f"{t(m.handoff_time or 0)}#{m.id}")
    if dead_letter:
        item["x_pk"], item["x_sk"] = s("dead"), s(m.id)
    return item


def read(item: dict[str, Any]) -> Stored:
    return Stored(outbound_from_dict(json.loads(item["doc"]["S"])), int(item["ver"]["N"]), "x_pk" in item, item)


def message_of(item: dict[str, Any]) -> OutboundMessage:
    return read(item)[0]


def applied(m: OutboundMessage, event: StatusEvent) -> tuple[OutboundMessage, bool]:
    """The message after a status event (the same rules as the SQLite store's apply_event); whether it moved."""
    event = as_applied(m, event)
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
        if event.status in TERMINAL:
            changes["error"] = event.error or MessageError("FAILED")
        elif m.status == Status.UNKNOWN or m.error:
            changes["error"] = None
    return m.replace(**changes), moves


class OutboundTable(DynamoTable):
    """WhatsAppOutboundTable's message items, as every outbound store module reads and changes them."""

    async def get_item(self, message_id: str) -> Stored | None:
        db = await self.db()
        reply = await db.get_item(TableName=self.name, Key=message_key(message_id), ConsistentRead=True)
        return read(reply["Item"]) if "Item" in reply else None

    def put(self, m: OutboundMessage, dead: bool, prior: Stored | None) -> dict[str, Any]:
        """PutItem arguments: a new message (prior None) or the stored `prior` replaced by `m`, on its version."""
        put: dict[str, Any] = {"TableName": self.name, "Item": item_of(m, prior.ver + 1 if prior else 1, dead, prior)}
        if prior is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "ver = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(prior.ver)}}
        return put

    async def change(self, message_id: str, change: Change) -> OutboundMessage | None:
        """Applies change(message, dead) -> (message, dead) | None (no change) with optimistic locking; the
        message as it is after (None: there is none)."""
        db = await self.db()
        for _ in range(20):
            found = await self.get_item(message_id)
            if found is None:
                return None
            result = change(found.message, found.dead)
            if result is None:
                return found.message
            new, new_dead = result
            try:
                await db.put_item(**self.put(new, new_dead, found))
                return new
            except ClientError as exc:
                if not dynamo.condition_refused(exc):
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

    async def sharded(
        self, index: str, hashes: list[str], condition: str, values: dict[str, Any], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The entries of one index under several hash keys (its shards), each Query `<hash> = :h<condition>`,
        merged in sort key order; the first `limit` (None: all), each shard read a page of at most that many."""
        hash_attr, range_attr = INDEXES[index]
        requests = []
        for h in hashes:
            request: dict[str, Any] = {
                "TableName": self.name,
                "IndexName": index,
                "KeyConditionExpression": f"{hash_attr} = :h{condition}",
                "ExpressionAttributeValues": {":h": s(h), **values},
            }
            if limit is not None:
                request["Limit"] = max(1, limit)
            requests.append(request)
        db = await self.db()
        if limit is None:
            pages = await self.gather([_every(db, r) for r in requests])
            return sorted((i for page in pages for i in page), key=lambda i: i[range_attr or "pk"]["S"])
        return await dynamo.merged_query(db, requests, range_attr or "pk", limit)

    async def by_provider_id(self, provider_message_id: str) -> OutboundMessage | None:
        items = await self.query("provider", "p_pk", f"p#{provider_message_id}", limit=1)
        return await self.get_message(id_of(items[0])) if items else None

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


async def _every(db, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of one Query, page after page."""
    out: list[dict[str, Any]] = []
    while True:
        reply = await db.query(**request)
        out += reply.get("Items", [])
        if "LastEvaluatedKey" not in reply:
            return out
        request = {**request, "ExclusiveStartKey": reply["LastEvaluatedKey"]}
