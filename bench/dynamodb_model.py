"""The DynamoDB capacity model: turns a capacity log (runtime/capacity_log.py, every request of a real run) into
read and write units per partition key, of each table and of each of its GSIs, and extrapolates them.

- Writes: each item written costs 1 unit per KB (rounded up) of the larger of the item before and after the
  write; twice that in a transaction. A refused condition (and each item of a cancelled transaction) still costs
  what the write would have: counted as `failed`. The item before a write is the model's own copy of the table
  (a shadow built from every earlier write of the run, whatever process made it), unless the call returned it.
- GSI writes: an item that carries an index's key attributes is in that index. A write that puts an item into
  it, or changes a projected attribute, is one index write (of the projected size) to the item's index
  partition; one that moves it to another index key is two (a delete at the old key, a put at the new one);
  one that takes the key attributes away is one delete at the old key. Index writes are not doubled in a
  transaction (they are applied after it, like any index update).
- Reads: GetItem, each key of a BatchGetItem and TransactGetItems cost by their item's size (the whole item,
  whatever the projection; a missing item still one block), 4 KB a unit strongly consistent, half that
  eventually consistent, twice that in a transaction. A Query or Scan page costs by the sum of the items it
  read, filtered out or not (the ones a filter or Select=COUNT left out are counted at the average size of the
  index partition's items in the shadow).

Keys are shown as runtime/capacity_log.display() writes them (`msg#~3f2a9c01d4`); `pattern()` groups them
(`msg#*`), and a key with nothing hashed in it (`feed`, `coord`) is its own pattern."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runtime.dynamo_capacity import PARTITION_RCU, PARTITION_WCU, query_read_units, read_units, write_units

Attrs = dict[str, tuple[int, str | None]]  # attribute -> (size with its name, display or None)
FAILED_CODES = {"ConditionalCheckFailedException", "TransactionCanceledException"}
HOT_SHARE = 0.5  # the target: no key above half a partition's limit
SHARD = re.compile(r"#(\d{1,3})$")  # a trailing shard number: `b#<stream>#3`, `doubt#5`
SPREAD_Z = 3.0  # the hottest shard: its mean + 3 sigma (about the 99th percentile of the hottest of 8 in a second)


@dataclass(frozen=True)
class Index:
    name: str  # "" for the table itself
    hash: str
    range: str | None = None
    projection: str = "ALL"
    include: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Schema:
    table: str
    key: Index
    indexes: tuple[Index, ...] = ()


def schema_of(description: Mapping[str, Any]) -> Schema:
    """A table's keys and GSIs from DescribeTable's `Table`."""

    def keys(schema):
        by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
        return by_type["HASH"], by_type.get("RANGE")

    h, r = keys(description["KeySchema"])
    indexes = []
    for gsi in description.get("GlobalSecondaryIndexes", []):
        gh, gr = keys(gsi["KeySchema"])
        projection = gsi.get("Projection", {})
        indexes.append(
            Index(
                gsi["IndexName"],
                gh,
                gr,
                projection.get("ProjectionType", "ALL"),
                frozenset(projection.get("NonKeyAttributes", [])),
            )
        )
    return Schema(description["TableName"], Index("", h, r), tuple(indexes))


def pattern(partition: str) -> str:
    """`msg#~3f2a9c01d4` -> `msg#*`, `doubt#2` -> `doubt#*`; `feed` stays `feed`."""
    parts = partition.split("#")
    if len(parts) == 1 and not partition.startswith("~"):
        return partition
    return "#".join("*" if p.startswith("~") or p.isdigit() else p for p in parts)


@dataclass
class KeyLoad:
    wcu: float = 0.0
    rcu: float = 0.0
    writes: int = 0  # items written (index entries for an index)
    reads: int = 0  # read requests that touched the key
    failed_wcu: float = 0.0  # of wcu: refused conditions and cancelled transactions
    largest_item: int = 0

    def add(self, other: KeyLoad) -> None:
        self.wcu += other.wcu
        self.rcu += other.rcu
        self.writes += other.writes
        self.reads += other.reads
        self.failed_wcu += other.failed_wcu
        self.largest_item = max(self.largest_item, other.largest_item)


KeyId = tuple[str, str, str]  # (table, index or "", partition key display)


@dataclass
class Tally:
    """What one window of the run cost, per key."""

    loads: dict[KeyId, KeyLoad] = field(default_factory=lambda: defaultdict(KeyLoad))
    requests: int = 0
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "<op> <error>" -> count
    retries: int = 0  # SDK retries (throttling, 5xx)
    largest_item: tuple[int, str] = (0, "")  # (size, "table key-pattern")
    largest_request: tuple[int, str] = (0, "")  # (body bytes, "op on tables, by whom")
    item_max: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "table pattern" -> largest item
    request_max: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "op table" -> largest body
    request_items: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "op table" -> most items

    def load(self, table: str, index: str, partition: str) -> KeyLoad:
        return self.loads[(table, index, partition)]


def _size(attrs: Attrs | None) -> int:
    return sum(size for size, _ in attrs.values()) if attrs else 0


def _attrs(summary: Mapping[str, Any] | None) -> Attrs | None:
    return None if summary is None else {k: (int(v[0]), v[1]) for k, v in summary.items()}


def apply_update(before: Attrs, ops: Iterable[list]) -> tuple[Attrs, set[str]]:
    """The item after an update's ops (runtime/capacity_log.update_ops), and the attributes it touched."""
    after = dict(before)
    touched = set()
    for op, name, size, shown in ops:
        touched.add(name)
        old = after.get(name)
        if op == "set" or (op == "set_if_absent" and old is None):
            after[name] = (size, shown)
        elif op in ("num", "add_num"):
            after[name] = (max(size, old[0] if old else 0), None)
        elif op in ("grow", "add_set"):  # the value's size is added to what was there (or to an empty list)
            after[name] = ((old[0] if old else len(name.encode()) + 3) + size, None)
        elif op == "remove":
            after.pop(name, None)
    return after, touched


def _in_index(attrs: Attrs | None, index: Index) -> bool:
    return bool(attrs) and index.hash in attrs and (index.range is None or index.range in attrs)


def _projected(attrs: Attrs, schema: Schema, index: Index) -> Attrs:
    if index.projection == "ALL":
        return attrs
    names = {schema.key.hash, schema.key.range, index.hash, index.range} | set(index.include)
    return {k: v for k, v in attrs.items() if k in names}


class Model:
    """Reads a run's records in time order and charges each to the window it falls in."""

    def __init__(self, schemas: Mapping[str, Schema]):
        self.schemas = dict(schemas)
        self.shadow: dict[tuple[str, str | None, str | None], Attrs] = {}

    def _schema(self, table: str) -> Schema:
        return self.schemas.get(table) or Schema(table, Index("", "pk", "sk"))

    @staticmethod
    def _ident(schema: Schema, attrs: Attrs) -> tuple[str, str | None, str | None]:
        key = schema.key
        h = attrs.get(key.hash, (0, None))[1]
        r = attrs.get(key.range, (0, None))[1] if key.range else None
        return schema.table, h, r

    def tally(
        self, records: Iterable[Mapping[str, Any]], windows: Mapping[str, tuple[float, float]]
    ) -> dict[str, Tally]:
        out = {name: Tally() for name in windows}
        for record in sorted(records, key=lambda r: r["t"]):
            tally = next((out[n] for n, (a, b) in windows.items() if a <= record["t"] < b), None)
            self.apply(record, tally if tally is not None else Tally())
        return out

    def apply(self, record: Mapping[str, Any], tally: Tally) -> None:
        tally.requests += 1
        tally.retries += int(record.get("try", 0))
        ok = bool(record.get("ok"))
        error = record.get("err", "")
        if not ok:
            tally.refused[f"{record['op']} {error}"] += 1
        tables = sorted({e["tb"] for e in record.get("w", []) + record.get("r", [])})
        size = int(record.get("req", 0))
        where = f"{record['op']} {'+'.join(tables)}"
        tally.request_max[where] = max(tally.request_max[where], size)
        items = len(record.get("w", [])) + sum(len(e.get("keys", [])) or 1 for e in record.get("r", []))
        tally.request_items[where] = max(tally.request_items[where], items)
        if size > tally.largest_request[0]:
            tally.largest_request = (size, f"{where} by {record.get('o') or '?'} ({record.get('c') or 'background'})")
        if ok or error in FAILED_CODES:
            transactional = bool(record.get("tx"))
            for entry in record.get("w", []):
                self._write(entry, transactional, ok, tally)
        if ok:
            for entry in record.get("r", []):
                self._read(entry, bool(record.get("tx")), tally)

    def _write(self, entry: Mapping[str, Any], transactional: bool, ok: bool, tally: Tally) -> None:
        if entry.get("skip"):
            return
        schema = self._schema(entry["tb"])
        act = entry["act"]
        given = _attrs(entry.get("a")) if act == "put" else _attrs(entry.get("k"))
        ident = self._ident(schema, given or {})
        before = _attrs(entry.get("old")) if "old" in entry else self.shadow.get(ident)
        touched: set[str] = set()
        if act == "put":
            after = given
        elif act == "update":
            after = _attrs(entry["new"]) if "new" in entry else None
            computed, touched = apply_update(before or dict(given or {}), entry.get("u", []))
            after = after or computed
        elif act == "delete":
            after = None
        else:  # a ConditionCheck: nothing changes
            after = before
        units = write_units(max(_size(before), _size(after)), transactional)
        load = tally.load(schema.table, "", ident[1] or "?")
        load.wcu += units
        if not ok:
            load.failed_wcu += units
            return
        load.writes += 1
        if act == "check":
            return
        if after is None:
            self.shadow.pop(ident, None)
        else:
            self.shadow[ident] = after
            load.largest_item = max(load.largest_item, _size(after))
            where = f"{schema.table} {pattern(ident[1] or '?')}"
            tally.item_max[where] = max(tally.item_max[where], _size(after))
            if _size(after) > tally.largest_item[0]:
                tally.largest_item = (_size(after), where)
        for index in schema.indexes:
            self._index_writes(schema, index, before, after, act, touched, tally)

    @staticmethod
    def _index_writes(schema, index, before, after, act, touched, tally: Tally) -> None:
        was, now = _in_index(before, index), _in_index(after, index)

        def key(attrs: Attrs) -> tuple:
            return attrs[index.hash][1], attrs[index.range][1] if index.range else None

        def charge(attrs: Attrs) -> None:
            entry = _projected(attrs, schema, index)
            load = tally.load(schema.table, index.name, attrs[index.hash][1] or "?")
            load.wcu += write_units(_size(entry))
            load.writes += 1
            load.largest_item = max(load.largest_item, _size(entry))

        if was and now and key(before) != key(after):
            charge(before)  # the entry leaves its old key
            charge(after)
        elif now:
            old, new = (_projected(before, schema, index) if was else None), _projected(after, schema, index)
            changed = (
                not was
                or old != new
                or (act == "put" and any(shown is None for _, shown in new.values()))
                or (act == "update" and bool(touched & set(new)))
            )
            if changed:
                charge(after)
        elif was:
            charge(before)  # the entry is deleted

    def _mean_entry(self, table: str, index: Index, partition: str | None) -> int:
        sizes = [
            _size(attrs)
            for (t, _h, _r), attrs in self.shadow.items()
            if t == table and _in_index(attrs, index) and attrs[index.hash][1] == partition
        ]
        return round(sum(sizes) / len(sizes)) if sizes else 1024

    def _read(self, entry: Mapping[str, Any], transactional: bool, tally: Tally) -> None:
        schema = self._schema(entry["tb"])
        consistent = bool(entry.get("cons"))
        if "keys" in entry:  # BatchGetItem: each key on its own, found or not (unprocessed ones left out)
            found = {self._ident(schema, _attrs(k) or {}): int(size) for k, size in entry.get("got", [])}
            asked = [self._ident(schema, _attrs(k) or {}) for k in entry["keys"]]
            for ident in asked[: len(asked) - int(entry.get("left", 0))]:
                size = max(found.get(ident, 0), _size(self.shadow.get(ident)))
                load = tally.load(schema.table, "", ident[1] or "?")
                load.rcu += read_units(size, consistent)
                load.reads += 1
            return
        if "k" in entry:  # GetItem, TransactGetItems
            ident = self._ident(schema, _attrs(entry["k"]) or {})
            size = max(int(entry.get("sz", [0])[0]), _size(self.shadow.get(ident)))
            load = tally.load(schema.table, "", ident[1] or "?")
            load.rcu += read_units(size, consistent, transactional)
            load.reads += 1
            return
        index = next((i for i in schema.indexes if i.name == entry.get("ix")), schema.key)
        partition = "(scan)" if entry.get("scan") else (entry.get("eq") or {}).get(index.hash) or "?"
        sizes = list(entry.get("sz", []))
        unseen = int(entry.get("sc", len(sizes))) - len(sizes)
        if entry.get("proj") or unseen > 0:  # projected, filtered or counted: the items read were larger/more
            mean = self._mean_entry(schema.table, index, partition)
            sizes = [max(s, mean) for s in sizes] + [mean] * max(0, unseen)
        load = tally.load(schema.table, index.name, partition)
        load.rcu += query_read_units(sizes, consistent and not index.name)
        load.reads += 1


def read_log(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# --- extrapolation ------------------------------------------------------------------------------------------------


@dataclass
class Scaled:
    """One key at scale: units per unit of work, and units a second at `rate` units of work a second."""

    key: KeyId
    wcu_per: float
    rcu_per: float
    wcu_rate: float
    rcu_rate: float
    load: KeyLoad
    failed_per: float = 0.0  # refused conditions and cancelled transactions, per unit of work (in wcu_per)
    wcu_timed: float = 0.0  # units a second while the work runs, whatever its rate (polls), beyond the idle
    rcu_timed: float = 0.0

    @property
    def wcu_share(self) -> float:
        return self.wcu_rate / PARTITION_WCU

    @property
    def rcu_share(self) -> float:
        return self.rcu_rate / PARTITION_RCU

    @property
    def hot(self) -> bool:
        return max(self.wcu_share, self.rcu_share) > HOT_SHARE


def _idle_rates(key: KeyId, idle: Tally | None, idle_seconds: float) -> tuple[float, float]:
    base = idle.loads.get(key) if idle and idle_seconds else None
    return (base.wcu / idle_seconds, base.rcu / idle_seconds) if base else (0.0, 0.0)


def scale(
    tally: Tally, seconds: float, work: int, rate: float, idle: Tally | None, idle_seconds: float
) -> list[Scaled]:
    """Each key at `rate` units of work a second: what the run spent on it beyond its idle background, per unit
    of work, times the rate, plus the background itself (a heartbeat costs the same at any send rate)."""
    out = []
    for key, load in tally.loads.items():
        bw, br = _idle_rates(key, idle, idle_seconds)
        wcu_per = max(0.0, load.wcu - bw * seconds) / max(1, work)
        rcu_per = max(0.0, load.rcu - br * seconds) / max(1, work)
        failed = load.failed_wcu / max(1, work)
        out.append(Scaled(key, wcu_per, rcu_per, wcu_per * rate + bw, rcu_per * rate + br, load, failed))
    return out


def timed(points: list[tuple[float, float, float]]) -> float | None:
    """units a second, if two runs' (work, seconds, units) say a key's units follow the time the work ran rather
    than the work (a poll): fitted as per_work * work + per_second * seconds, the seconds explain at least 80%
    of the larger run. None otherwise."""
    (w1, s1, u1), (w2, s2, u2) = points
    det = w1 * s2 - w2 * s1
    if not det or u2 <= 0:
        return None
    per_second = (w1 * u2 - w2 * u1) / det
    return (u1 + u2) / (s1 + s2) if per_second * s2 >= 0.8 * u2 else None


def scale_fitted(
    runs: list[tuple[Tally, float, int]], rate: float, idle: Tally | None, idle_seconds: float
) -> list[Scaled]:
    """Like scale() on the larger of two runs of the same work at two sizes (tally, seconds, work), except for
    reads whose units beyond the idle background follow the time the work ran rather than the work (a job's state
    polled every quarter second costs the same whether the job sends 20 messages a second or 1,000): those are
    counted a second, at any rate. Writes are always counted per unit of work (an upper bound for a lease
    renewed on a timer): how many a status event takes varies with contention, too much to split two points."""
    (small, s1, w1), (large, s2, w2) = runs
    out = []
    for key in set(small.loads) | set(large.loads):
        bw, br = _idle_rates(key, idle, idle_seconds)
        a, b = small.loads.get(key, KeyLoad()), large.loads.get(key, KeyLoad())
        wu = [max(0.0, a.wcu - bw * s1), max(0.0, b.wcu - bw * s2)]
        ru = [max(0.0, a.rcu - br * s1), max(0.0, b.rcu - br * s2)]
        wt = None  # writes are always counted per unit of work: contention makes their two points noisy
        rt = timed([(w1, s1, ru[0]), (w2, s2, ru[1])])
        wcu_per = 0.0 if wt is not None else wu[1] / max(1, w2)
        rcu_per = 0.0 if rt is not None else ru[1] / max(1, w2)
        wt, rt = wt or 0.0, rt or 0.0
        failed = b.failed_wcu / max(1, w2)
        out.append(Scaled(key, wcu_per, rcu_per, wcu_per * rate + wt + bw, rcu_per * rate + rt + br, b, failed, wt, rt))
    return out


def shard_scope(partition: str) -> tuple[str, int] | None:
    """`b#~3f2a9c01d4#3` -> (`b#~3f2a9c01d4`, 3): the key one phone, job or stream shares, and the shard."""
    found = SHARD.search(partition)
    return (partition[: found.start()], int(found.group(1))) if found else None


@dataclass
class Spread:
    """A sharded scope's writes at the rate. The shard of a write is a hash of its message id (crc32), so at the
    rate the shards take the scope's units evenly up to sampling: the hottest shard in a second is its mean plus
    SPREAD_Z sigma of a binomial count of units of work (a unit's writes all on one shard: the worst case). The
    run's own sample is checked against the same law at its size: a shard hotter than sampling at that size
    explains is a real hot shard (a skewed choice), and is reported as measured, scaled to the rate."""

    scope: str
    shards: int
    mean: float  # WCU/s a shard at the rate
    figure: float  # WCU/s of the hottest shard at the rate, as reported
    sample_hottest: float  # units of work the run's hottest shard took (its units / units per work)
    sample_bound: float  # what sampling explains at the run's size: mean + SPREAD_Z sigma
    real: bool  # the run's hottest shard is over the bound: a real hot shard, reported as measured

    def text(self, unit: str = "unit") -> str:
        how = (
            "OVER what sampling explains: a real hot shard, reported as measured"
            if self.real
            else f"within sampling, reported as the mean + {SPREAD_Z:g} sigma of a second at the rate"
        )
        return (
            f"{self.scope} over {self.shards} shards: {self.mean:,.0f} WCU/s the mean shard, {self.figure:,.0f} "
            f"the hottest; the run's hottest shard took {self.sample_hottest:.1f} {unit}s' writes against a "
            f"bound of {self.sample_bound:.1f} ({how})"
        )


def spread(
    members: list[Scaled], work: int, rate: float, all_shards: int = 0, share: float = 1.0
) -> tuple[Scaled, Spread] | None:
    """The hottest shard of one sharded scope at `rate` (see Spread), or None when it is not sharded. `share`: the
    scope's part of its pattern's units (two phones of a job: about half each), so of the work and of the rate."""
    numbered = [(shard_scope(m.key[2]), m) for m in members]
    if work <= 0 or rate <= 0 or len(members) < 2 or any(n is None for n, _ in numbered):
        return None
    shards = max(all_shards, max(n[1] for n, _ in numbered) + 1)
    per = sum(m.wcu_per for m in members)  # units a unit of work (of all the window's), over all the shards
    if per <= 0 or share <= 0:
        return None
    p, unit = 1 / shards, per / share  # unit: what one unit of work that lands on this scope puts on its shard
    hottest = max(members, key=lambda m: m.wcu_per)
    sample_hottest = hottest.wcu_per * work / unit
    n, at = work * share, rate * share
    sample_bound = n * p + SPREAD_Z * math.sqrt(n * p * (1 - p))
    background = max(m.wcu_rate - m.wcu_per * rate for m in members)  # timed and idle units: not spread
    mean = per * rate * p
    real = sample_hottest > sample_bound
    if real:
        figure = hottest.wcu_rate
    else:
        figure = unit * (at * p + SPREAD_Z * math.sqrt(at * p * (1 - p))) + background
    scope = numbered[0][0][0]
    key = (hottest.key[0], hottest.key[1], hottest.key[2] if real else f"{scope}#<hottest of {shards}>")
    shown = replace(hottest, key=key, wcu_rate=figure)
    return shown, Spread(scope, shards, mean + background, figure, sample_hottest, sample_bound, real)


@dataclass
class PatternRow:
    table: str
    index: str
    pattern: str
    keys: int
    wcu_per: float
    rcu_per: float
    wcu_rate: float  # all keys of the pattern together
    rcu_rate: float
    hottest_wcu: Scaled
    hottest_rcu: Scaled
    failed_per: float  # of wcu_per: refused conditions and cancelled transactions
    wcu_timed: float  # a second while the work runs, at any rate (polls)
    rcu_timed: float
    largest_item: int
    per_item: bool = False  # a key a unit of work: the hottest key's figures are its whole run's units, unscaled
    spreads: list[Spread] = field(default_factory=list)  # its sharded scopes, when scaled to a rate

    @property
    def hot(self) -> bool:
        return self.hottest_wcu.hot or self.hottest_rcu.hot

    @property
    def where(self) -> str:
        return f"{self.table}{'/' + self.index if self.index else ''} {self.pattern}"


def by_pattern(scaled: list[Scaled], work: int = 0, rate: float = 0.0) -> list[PatternRow]:
    """Keys grouped by (table, index, pattern), the hottest first; each row names its hottest key.

    A pattern with a key of its own for (about) every unit of work (`msg#*`: one a message) does not get hotter
    a key with the rate, it gets more keys: its hottest key is shown with all the units it took in the run (as if
    in one second, a bound), not scaled. Shared keys (`feed`, `q#<phone>`, `b#<batch>`) are scaled; a shared key
    spread over shards (`q#<phone>#<n>`: one scope, see Spread) counts as one key for that, and with a `rate` its
    hottest shard's writes are the scope's at that rate (Spread), not the run's small sample's."""
    groups: dict[tuple[str, str, str], list[Scaled]] = defaultdict(list)
    for s in scaled:
        table, index, partition = s.key
        groups[(table, index, pattern(partition))].append(s)
    rows = []
    for (table, index, pat), members in groups.items():
        scopes: dict[str, list[Scaled]] = defaultdict(list)
        for m in members:
            found = shard_scope(m.key[2])
            scopes[found[0] if found else m.key[2]].append(m)
        per_item = work > 0 and len(scopes) >= max(2, work / 2)
        if per_item:
            bounded = [replace(m, wcu_rate=m.load.wcu, rcu_rate=m.load.rcu) for m in members]
        spreads: list[Spread] = []
        candidates = list(members)
        if not per_item and rate > 0:
            shards = max((n[1] + 1 for m in members if (n := shard_scope(m.key[2]))), default=0)
            total = sum(m.wcu_per for m in members)
            for scope_members in scopes.values():
                share = sum(m.wcu_per for m in scope_members) / total if total > 0 else 0.0
                found = spread(scope_members, work, rate, shards, share)
                if found is not None:
                    shown, about = found
                    spreads.append(about)
                    candidates = [m for m in candidates if m not in scope_members] + [shown]
        rows.append(
            PatternRow(
                table,
                index,
                pat,
                len(members),
                sum(m.wcu_per for m in members),
                sum(m.rcu_per for m in members),
                sum(m.wcu_rate for m in members),
                sum(m.rcu_rate for m in members),
                max(bounded if per_item else candidates, key=lambda m: m.wcu_rate),
                max(bounded if per_item else members, key=lambda m: m.rcu_rate),
                sum(m.failed_per for m in members),
                sum(m.wcu_timed for m in members),
                sum(m.rcu_timed for m in members),
                max(m.load.largest_item for m in members),
                per_item,
                spreads,
            )
        )
    return sorted(rows, key=lambda r: -max(r.hottest_wcu.wcu_share, r.hottest_rcu.rcu_share))
