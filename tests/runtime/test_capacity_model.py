"""The capacity model (bench/dynamodb_model.py) on records as the capacity log writes them (runtime/capacity_log
.describe() of each call's parameters and response): which partition key of the table and of each GSI a write is
charged to, and how many units, by DynamoDB's GSI rules."""

from __future__ import annotations

from bench.dynamodb_model import Index, Model, Schema, Tally, by_pattern, pattern, scale, scale_fitted, timed
from runtime.capacity_log import describe, display

TABLE = "T"
SCHEMA = Schema(
    TABLE,
    Index("", "pk", "sk"),
    (Index("queue", "q_pk", "q_sk"), Index("keys", "k_pk", None, "KEYS_ONLY")),
)


def s(text: str) -> dict:
    return {"S": text}


def message(n: int | str, queue: str | None = "q#phone-1", doc: str = "x" * 100, **extra) -> dict:
    item = {"pk": s(f"msg#{n}"), "sk": s("msg"), "doc": s(doc), "k_pk": s("k#job-1"), **extra}
    if queue:
        item["q_pk"], item["q_sk"] = s(queue), s(f"0#{n}")
    return item


def record(op: str, params: dict, parsed: dict | None = None, ok: bool = True, t: float = 1.0, **extra) -> dict:
    parsed = parsed or {}
    return {"t": t, "op": op, "ok": int(ok), "req": 100, **extra, **describe(params, parsed, op)}


def run(*records: dict) -> Tally:
    tally = Tally()
    model = Model({TABLE: SCHEMA})
    for r in records:
        model.apply(r, tally)
    return tally


def load(tally: Tally, index: str, key: str):
    return tally.loads[(TABLE, index, display(key))]


def put(item: dict, **kw) -> dict:
    return record("PutItem", {"TableName": TABLE, "Item": item}, **kw)


def test_a_new_item_is_written_to_its_table_partition_and_to_every_index_whose_keys_it_carries():
    tally = run(put(message(1)))
    assert load(tally, "", "msg#1").wcu == 1
    assert load(tally, "queue", "q#phone-1").writes == 1
    assert load(tally, "keys", "k#job-1").writes == 1
    plain = run(put(message(2, queue=None)))
    assert ("T", "queue", display("q#phone-1")) not in plain.loads  # no key attributes: not in the index


def test_units_follow_the_larger_item_rounded_up_per_kb():
    tally = run(put(message(1, doc="x" * 2000)), put(message(1, doc="y" * 100)))
    assert load(tally, "", "msg#1").wcu == 2 + 2  # 2 KB, then 100 B over a 2 KB item: the larger counts
    assert load(tally, "queue", "q#phone-1").wcu == 2 + 1  # ALL projection: the entry is the item


def test_a_changed_projected_attribute_is_one_index_write_at_the_same_key():
    tally = run(put(message(1)), put(message(1, doc="changed")))
    assert load(tally, "queue", "q#phone-1").writes == 2
    # KEYS_ONLY: the key did not change and nothing else is projected
    assert load(tally, "keys", "k#job-1").writes == 1


def test_a_moved_index_key_is_a_delete_at_the_old_key_and_a_put_at_the_new():
    tally = run(put(message(1, queue="q#phone-1")), put(message(1, queue="q#phone-2")))
    assert load(tally, "queue", "q#phone-1").writes == 2  # the put, then the delete
    assert load(tally, "queue", "q#phone-2").writes == 1


def test_an_update_that_removes_the_index_keys_deletes_the_entry():
    update = record(
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": {"pk": s("msg#1"), "sk": s("msg")},
            "UpdateExpression": "SET #d = :d REMOVE q_pk, q_sk",
            "ExpressionAttributeNames": {"#d": "doc"},
            "ExpressionAttributeValues": {":d": s("handed off")},
        },
    )
    tally = run(put(message(1)), update)
    assert load(tally, "queue", "q#phone-1").writes == 2  # the put and the delete
    again = run(put(message(1)), update, update)
    assert load(again, "queue", "q#phone-1").writes == 2  # out of the index before and after: nothing


def test_an_update_adding_index_keys_puts_the_entry_and_counters_grow_the_item():
    tally = run(
        record(
            "UpdateItem",
            {
                "TableName": TABLE,
                "Key": {"pk": s("msg#9"), "sk": s("msg")},
                "UpdateExpression": "SET q_pk = :q, q_sk = :s ADD n :one",
                "ExpressionAttributeValues": {":q": s("q#phone-3"), ":s": s("0#9"), ":one": {"N": "1"}},
            },
        )
    )
    assert load(tally, "queue", "q#phone-3").writes == 1
    assert load(tally, "", "msg#9").largest_item == (2 + 5) + (2 + 3) + (4 + 9) + (4 + 3) + (1 + 2)


def test_a_transaction_doubles_the_table_units_but_not_the_index_writes():
    items = [{"Put": {"TableName": TABLE, "Item": message(1)}}, {"Put": {"TableName": TABLE, "Item": message(2)}}]
    tally = run(record("TransactWriteItems", {"TransactItems": items}))
    assert load(tally, "", "msg#1").wcu == 2
    assert load(tally, "queue", "q#phone-1").wcu == 2  # one index write for each item, single units


def test_refused_conditions_and_cancelled_transactions_cost_units_but_change_nothing():
    refused = put(message(1, doc="new"), ok=False, err="ConditionalCheckFailedException")
    tally = run(put(message(1)), refused)
    msg = load(tally, "", "msg#1")
    assert (msg.wcu, msg.failed_wcu, msg.writes) == (2, 1, 1)
    assert load(tally, "queue", "q#phone-1").writes == 1  # the refused write reached no index
    items = [{"Put": {"TableName": TABLE, "Item": {"pk": s("feed"), "sk": s("head"), "seq": {"N": "2"}}}}]
    cancelled = record("TransactWriteItems", {"TransactItems": items}, ok=False, err="TransactionCanceledException")
    feed = load(run(cancelled, cancelled), "", "feed")
    assert (feed.wcu, feed.failed_wcu, feed.writes) == (4, 4, 0)
    other = run(put(message(1), ok=False, err="ValidationException"))
    assert not other.loads  # an invalid request consumes nothing


def test_reads_are_charged_to_the_key_they_read_by_the_whole_item():
    get = record(
        "GetItem",
        {"TableName": TABLE, "Key": {"pk": s("msg#1"), "sk": s("msg")}, "ProjectionExpression": "ver"},
        {"Item": {"ver": {"N": "1"}}},
    )
    tally = run(put(message(1, doc="x" * 5000)), get)
    assert load(tally, "", "msg#1").rcu == 1  # the whole 5 KB item (2 blocks), eventually consistent: halved
    batch = record(
        "BatchGetItem",
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [{"pk": s("msg#1"), "sk": s("msg")}, {"pk": s("msg#7"), "sk": s("msg")}],
                    "ConsistentRead": True,
                }
            }
        },
        {"Responses": {TABLE: [message(1)]}},
    )
    tally = run(put(message(1)), batch)
    assert load(tally, "", "msg#1").rcu == 1
    assert load(tally, "", "msg#7").rcu == 1  # a key not found still costs a block
    query = record(
        "Query",
        {
            "TableName": TABLE,
            "IndexName": "queue",
            "KeyConditionExpression": "q_pk = :h",
            "ExpressionAttributeValues": {":h": s("q#phone-1")},
        },
        {"Items": [message(n, doc="x" * 3000) for n in range(4)], "Count": 4, "ScannedCount": 4},
    )
    assert load(run(query), "queue", "q#phone-1").rcu == 1.5  # 4 x 3,046 B: 3 blocks, an index: halved


def test_patterns_keep_single_keys_and_group_hashed_ones():
    assert pattern(display("msg#01J8ZK3")) == "msg#*"
    assert pattern(display("chunk#01J8ZK3#00000004")) == "chunk#*#*"
    assert pattern(display("doubt#2")) == "doubt#*"
    assert pattern(display("feed")) == "feed"
    assert pattern(display("coord")) == "coord"
    assert "+91" not in display("c#+919800000001") and display("c#+919800000001").startswith("c#~")


def test_scaling_subtracts_the_idle_background_and_adds_it_back_a_second():
    idle = run(*[put({"pk": s("coord"), "sk": s("coord"), "ver": {"N": str(n)}}) for n in range(2)])  # 2 s
    busy = run(
        *[put({"pk": s("coord"), "sk": s("coord"), "ver": {"N": str(n)}}) for n in range(10)],  # 10 s
        *[put(message(n)) for n in range(100)],
    )
    rows = {r.pattern: r for r in by_pattern(scale(busy, 10.0, 100, 1000.0, idle, 2.0))}
    assert rows["coord"].wcu_per == 0  # one write a second, idle or busy: no part of it per send
    assert rows["coord"].hottest_wcu.wcu_rate == 1
    queue = rows["q#*"]
    assert queue.keys == 1 and queue.wcu_per == 1 and queue.hottest_wcu.wcu_rate == 1000
    assert queue.hot  # 1,000 WCU/s on one partition key is over half its limit


def test_polls_are_told_apart_from_per_recipient_work_by_two_runs():
    assert timed([(20, 40, 160), (60, 80, 320)]) == 4  # 4 reads a second whatever the job's size
    assert timed([(20, 40, 200), (60, 80, 600)]) is None  # 10 per recipient
    small, large = Tally(), Tally()
    small.load(TABLE, "", "job").rcu, large.load(TABLE, "", "job").rcu = 160, 320
    small.load(TABLE, "", "chunk").wcu, large.load(TABLE, "", "chunk").wcu = 200, 600
    small.load(TABLE, "", "lease").wcu, large.load(TABLE, "", "lease").wcu = 160, 320  # writes: never timed
    scaled = {s.key[2]: s for s in scale_fitted([(small, 40, 20), (large, 80, 60)], 1000.0, None, 0)}
    assert scaled["job"].rcu_rate == 4 and scaled["job"].rcu_per == 0
    assert scaled["chunk"].wcu_per == 10 and scaled["chunk"].wcu_rate == 10_000
    assert scaled["lease"].wcu_timed == 0 and scaled["lease"].wcu_per == 320 / 60


def test_a_key_per_item_is_not_scaled_with_the_rate():
    # 100 messages, each its own msg# key written 3 times; one queue key shared by all of them (ids as a real
    # key has them: a number of 1-3 digits at the end of a key is a shard, `q#<phone>#3`)
    tally = run(*[put(message(f"m{n}")) for n in range(100) for _ in range(3)])
    rows = {r.pattern: r for r in by_pattern(scale(tally, 10.0, 100, 1000.0, None, 0), work=100)}
    msg = rows["msg#*"]
    assert msg.per_item and msg.keys == 100
    assert msg.wcu_rate == 3000  # the table takes 3 writes a message: 3,000 a second at 1,000 messages a second
    assert msg.hottest_wcu.wcu_rate == 3  # but one message's key only ever takes its own 3
    # the shared queue key is scaled: one index write a message (the two identical rewrites change no entry)
    assert not rows["q#*"].per_item and rows["q#*"].hottest_wcu.wcu_rate == 1000


def sharded(n: int, shard: int) -> dict:
    return message(f"m{n}", queue=f"q#phone-1#{shard}")


def test_a_sharded_key_is_one_scope_whose_hottest_shard_is_judged_against_sampling():
    # 40 sends spread by a hash over 8 queue shards (here: round the clock, 5 each, one shard 9): a sample of 40
    # explains a hottest shard up to 5 + 3 sigma = 11.3 sends, so the hottest at 1,000 sends/s is the mean shard
    # (125 WCU/s) plus 3 sigma of a second's binomial count (31), not the sample's 9/40 scaled (225)
    shards = [n % 8 for n in range(36)] + [0, 0, 0, 0]
    tally = run(*[put(sharded(n, shard)) for n, shard in enumerate(shards)])
    rows = {r.pattern: r for r in by_pattern(scale(tally, 1.0, 40, 1000.0, None, 0), work=40, rate=1000.0)}
    queue = rows["q#*#*"]
    assert not queue.per_item and queue.keys == 8
    (about,) = queue.spreads
    assert about.shards == 8 and not about.real and round(about.sample_hottest, 6) == 9
    assert round(about.mean) == 125 and round(queue.hottest_wcu.wcu_rate) == 125 + 31
    assert queue.hottest_wcu.key[2].endswith("#<hottest of 8>")

    # a skewed choice (30 of 40 on one shard) is a real hot shard: reported as measured, scaled (750 WCU/s)
    skewed = [0] * 30 + list(range(1, 8)) + [1, 2, 3]
    tally = run(*[put(sharded(n, shard)) for n, shard in enumerate(skewed)])
    rows = {r.pattern: r for r in by_pattern(scale(tally, 1.0, 40, 1000.0, None, 0), work=40, rate=1000.0)}
    (about,) = rows["q#*#*"].spreads
    assert about.real and rows["q#*#*"].hottest_wcu.wcu_rate == 750 and rows["q#*#*"].hot


def test_a_scope_that_takes_part_of_the_work_is_judged_on_its_part():
    # a job over two phones: each phone's queue shards take half the 40 sends, so each sample is 20 sends (a
    # hottest shard of 6 is within 2.5 + 3 sigma = 6.9) and each phone takes 500 sends/s at 1,000/s
    shards = [n % 8 for n in range(16)] + [0, 0, 1, 1]
    records = [put(message(f"a{n}", queue=f"q#phone-1#{s}")) for n, s in enumerate(shards)]
    records += [put(message(f"b{n}", queue=f"q#phone-2#{s}")) for n, s in enumerate(shards)]
    rows = {r.pattern: r for r in by_pattern(scale(run(*records), 1.0, 40, 1000.0, None, 0), work=40, rate=1000.0)}
    first, second = rows["q#*#*"].spreads
    assert not first.real and not second.real and round(first.sample_bound, 1) == 6.9
    assert round(first.figure) == round(62.5 + 3 * (500 * 7 / 64) ** 0.5)
