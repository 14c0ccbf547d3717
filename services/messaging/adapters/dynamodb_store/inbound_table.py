"""WhatsAppInboundTable on DynamoDB: its items and indexes, an inbound message as an item, a conversation touched
by optimistic read-merge-write, and the sharded "latest" index read newest first.

  item            pk                      sk            attributes
  inbound message in#<id>                 in            doc, index keys: wamid (w_pk wamid#<wamid>), customer
                                                          (c_pk c#<customer>, c_sk <receive time>#<id>), rate
                                                          (r_pk r#<origination>#<n>, r_sk <receive time>#<id>;
                                                          keys only: it is only counted)
  wamid claim     wamid#<wamid>           claim         message_id (stored once per wamid)
  SNS event       sns#<message id>        sns
  window          win#<origination>#<n>   <customer>    last_inbound (only ever raised; n by the customer)
  conversation    conv#<id>               conv          doc, ver, latest (l_pk conv#<0..7>, l_sk <update time>#<id>)
  voice call      call#<id>               call          doc, customer (c_pk vc#<customer>), latest (l_pk calls#<0..3>)
  call claim      callev#<call id>#<event> claim
  feed            feed#<shard>            <seq>#<key>   change (the inbox feed, adapters/dynamodb_store/feed.py)
  feed head       feed#<shard>            #head         seq: the shard's last number (an atomic counter)"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.codec import (
    conversation_from_dict,
    conversation_to_dict,
    dumps,
    inbound_to_dict,
    merge_conversation,
)
from services.messaging.adapters.dynamodb_store.feed import FEED_SHARDS, head_key
from services.messaging.adapters.dynamodb_store.table import (
    SHARDS,
    TOP,
    DynamoTable,
    Indexes,
    definition,
    key,
    s,
    shard,
    t,
)
from services.messaging.domain.model import Channel, Conversation, InboundMessage

INBOUND_INDEXES: Indexes = {
    "wamid": ("w_pk", None),
    "customer": ("c_pk", "c_sk"),
    "rate": ("r_pk", "r_sk"),
    "latest": ("l_pk", "l_sk"),
}
INBOUND_TABLE = definition(INBOUND_INDEXES, {"rate": ()})

# One phone's inbound messages (after Meta's upgrade up to 1,000/s, counted against its limit) each write a rate
# entry and a window: spread over shards so that a phone at 1,000/s puts 250 and 125 writes/s on a partition.
# Fixed on a live table (readers compute the shard or query every one): changing one is a migration.
RATE_SHARDS = 4
WINDOW_SHARDS = 8
# Every status event of a send and every inbound message touches its conversation, which moves its `latest` entry
# (a delete and a put under conv#<n>): about 2 index writes a recipient in a bulk run, 8 shards keep each under 0.3
# of a partition at 1,000/s. Calls are far rarer and stay at 4. Readers query every shard, so raising a count
# finds the entries written under the old one (they sit in a lower shard until their next touch moves them).
CONVERSATION_SHARDS = 8
CALL_SHARDS = SHARDS


def window_key(origination: str, customer: str) -> dict[str, Any]:
    return key(f"win#{origination}#{shard(customer, WINDOW_SHARDS)}", customer)


async def ensure_inbound_table(client, name: str) -> None:
    """Creates WhatsAppInboundTable (TTL on `ttl`: the inbox feed's old changes) with the feed's shard heads at 0.
    DynamoDB creates a head on its first ADD; moto does not do that atomically (two first writers may both
    create it), so a local or test table starts with them."""
    await dynamo.ensure_table(client, name, INBOUND_TABLE, time_to_live="ttl")
    heads = [{"PutRequest": {"Item": {**head_key(n), "seq": {"N": "0"}}}} for n in range(FEED_SHARDS)]
    existing = await dynamo.batch_get(client, name, [head_key(n) for n in range(FEED_SHARDS)])
    if not existing:
        await dynamo.batch_write(client, name, heads)


def message_item(m: InboundMessage) -> dict[str, Any]:
    return {
        **key(f"in#{m.id}", "in"),
        "doc": s(dumps(inbound_to_dict(m))),
        "w_pk": s(f"wamid#{m.provider_message_id}"),
        "c_pk": s(f"c#{m.customer}"),
        "c_sk": s(f"{t(m.receive_time)}#{m.id}"),
        "r_pk": s(f"r#{m.origination}#{shard(m.id, RATE_SHARDS)}"),
        "r_sk": s(f"{t(m.receive_time)}#{m.id}"),
    }


class InboundTable(DynamoTable):
    """WhatsAppInboundTable as every inbound store module reads and changes it."""

    async def touch(self, new: Conversation) -> None:
        """Merges what a message says of its conversation into the stored one (optimistic, on `ver`)."""
        db = await self.db()
        for _ in range(20):
            item = await self.get(f"conv#{new.id}", "conv")
            old = conversation_from_dict(json.loads(item["doc"]["S"])) if item else None
            ver = int(item["ver"]["N"]) if item else 0
            merged = merge_conversation(old, new)
            put: dict[str, Any] = {
                "TableName": self.name,
                "Item": {
                    **key(f"conv#{merged.id}", "conv"),
                    "doc": s(dumps(conversation_to_dict(merged))),
                    "ver": {"N": str(ver + 1)},
                    "channel": s(merged.channel.value),
                    "l_pk": s(f"conv#{shard(merged.id, CONVERSATION_SHARDS)}"),
                    "l_sk": s(f"{t(merged.update_time)}#{merged.id}"),
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
                if not dynamo.condition_refused(exc):
                    raise
        raise RuntimeError(f"conversations/{new.id}: too many concurrent changes")

    async def latest(
        self, prefix: str, shards: int, before: tuple[float, str] | None, limit: int, channel: Channel | None
    ) -> list[dict[str, Any]]:
        """Items of the `latest` index under `prefix` (`shards` of them), newest first, strictly before `before`."""
        bound = f"{t(before[0])}#{before[1]}" if before else TOP
        requests = []
        for n in range(shards):
            request: dict[str, Any] = {
                "TableName": self.name,
                "IndexName": "latest",
                "KeyConditionExpression": "l_pk = :h AND l_sk < :b",
                "ExpressionAttributeValues": {":h": s(f"{prefix}#{n}"), ":b": s(bound)},
                "ScanIndexForward": False,
            }
            if channel is not None:
                request["FilterExpression"] = "channel = :c"
                request["ExpressionAttributeValues"][":c"] = s(channel.value)
            requests.append(request)
        return await dynamo.merged_query(await self.db(), requests, "l_sk", limit, descending=True)
