"""HoldStore on DynamoDB: an item per hold under the hour it was noted in (`hold#<hour>`, sorted by time), so a
read of what is new is one strongly consistent query of the current hour (two across an hour's turn) and no
partition grows past an hour of opt-outs. Items carry `expires` (the horizon on) for a TTL, which
WhatsAppOutboundTable has not in deploy/ yet: old hours are never read again, they only take space."""

from __future__ import annotations

from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s, t
from services.messaging.domain.holds import HORIZON, Hold, HoldKind

BUCKET = 3600.0  # seconds of holds under one partition key


def bucket(at: float) -> int:
    return int(at // BUCKET)


class DynamoHoldStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def note_holds(self, holds: list[Hold]) -> None:
        if not holds:
            return
        db = await self._t.db()
        items = [
            {
                **key(f"hold#{bucket(h.time)}", f"{t(h.time)}#{h.kind.value}#{h.subject}"),
                "kind": s(h.kind.value),
                "subject": s(h.subject),
                "time": {"N": repr(h.time)},
                "source": s(h.source),
                "expires": {"N": str(int(h.time + HORIZON) + 1)},
            }
            for h in holds
        ]
        await self._t.gather([db.put_item(TableName=self._t.name, Item=item) for item in items])

    async def holds_since(self, after: float, now: float) -> list[Hold]:
        after = max(after, now - HORIZON)
        # One bucket past now: a process whose clock runs ahead may have noted a hold there.
        pages = await self._t.gather(
            [
                self._t.query(
                    None,
                    "pk",
                    f"hold#{b}",
                    range_condition=" AND sk > :a",
                    values={":a": s(t(after))},
                    ConsistentRead=True,
                )
                for b in range(bucket(after), bucket(now) + 2)
            ]
        )
        out = [
            Hold(HoldKind(i["kind"]["S"]), i["subject"]["S"], float(i["time"]["N"]), i["source"]["S"])
            for items in pages
            for i in items
        ]
        out.sort(key=lambda h: h.time)
        return [h for h in out if h.time > after]
