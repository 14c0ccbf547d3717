"""The embedded AWS's DynamoDB (localrun/embedded_aws.py): many transactions at once are answered, none with a
500 (moto alone: "dictionary changed size during iteration"), and a cancelled transaction still leaves every
item it named as it was, its index entries too (the rollback keeps items, not whole tables); a Query reads its
partition and an SQS receive its message's retention, with moto's own answers; SIGTERM stops it at once."""

from __future__ import annotations

import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from localrun.embedded_aws import PartitionQuery, retention_check
from localrun.procs import free_port, start_moto


@pytest.fixture(scope="module")
def table(moto_endpoint):
    client = boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, aws_access_key_id="test", aws_secret_access_key="test"
    )
    name = f"EmbeddedAwsTest{uuid.uuid4().hex[:8]}"
    _create_table(client, name, "KEYS_ONLY")
    return client, name


def _create_table(client, name: str, projection: str) -> None:
    """pk/sk, and an index `byg` on g."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": projection},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _put(name: str, pk: str, **attrs: str) -> dict:
    item = {"pk": {"S": pk}, "sk": {"S": "x"}} | {k: {"S": v} for k, v in attrs.items()}
    return {"Put": {"TableName": name, "Item": item}}


def test_a_cancelled_transaction_leaves_each_item_it_named_as_it_was(table):
    client, name = table
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "x"}, "v": {"S": "1"}, "g": {"S": "old"}})
    update = {
        "Update": {
            "TableName": name,
            "Key": {"pk": {"S": "a"}, "sk": {"S": "x"}},
            "UpdateExpression": "SET v = :v, g = :g",
            "ExpressionAttributeValues": {":v": {"S": "2"}, ":g": {"S": "new"}},
        }
    }
    missing = {
        "ConditionCheck": {
            "TableName": name,
            "Key": {"pk": {"S": "c"}, "sk": {"S": "x"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[update, _put(name, "b", g="new"), missing])
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"

    got = client.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "x"}}, ConsistentRead=True)["Item"]
    assert (got["v"]["S"], got["g"]["S"]) == ("1", "old")
    assert "Item" not in client.get_item(TableName=name, Key={"pk": {"S": "b"}, "sk": {"S": "x"}})
    in_index = client.query(
        TableName=name, IndexName="byg", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "new"}}
    )
    assert in_index["Items"] == []

    client.transact_write_items(TransactItems=[update, _put(name, "b", g="new")])  # the same, not cancelled
    got = client.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "x"}}, ConsistentRead=True)["Item"]
    assert got["v"]["S"] == "2"


def test_many_transactions_at_once_are_all_answered(table):
    client, name = table

    def write(i: int) -> None:
        client.transact_write_items(
            TransactItems=[_put(name, f"many-{i}", g=f"g{i % 4}"), _put(name, f"claim-{i}", g="claims")]
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(300)))  # raises the first error
    count = client.query(
        TableName=name,
        IndexName="byg",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "claims"}},
        Select="COUNT",
    )["Count"]
    assert count == 300


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}, "ScanIndexForward": False},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p2"}}, "Limit": 3},
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "p0"}, ":s": {"S": "s1"}},
    },
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "p2"}, ":a": {"S": "s03"}, ":b": {"S": "s11"}, ":v": {"N": "5"}},
        "FilterExpression": "v > :v",
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {"IndexName": "byg", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g1"}}},
]


def _every_page(client, name: str, query: dict) -> list[list[dict]]:
    request = query | {"TableName": name}
    pages = []
    while True:
        reply = client.query(**request)
        pages.append(reply["Items"])
        if "LastEvaluatedKey" not in reply:
            return pages
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def test_a_query_reads_its_partition_and_answers_as_moto_does(monkeypatch):
    """PartitionQuery: the same pages, in the same order, as moto's own Query; the whole table is listed only for
    an index query (moto sorted every item of the table for each Query: a tenth of a second at a million
    recipients)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(client, "t", "ALL")
        for i in range(60):  # written out of order: the answers' order is the query's, not the writes'
            j = (i * 37) % 60
            item = {"pk": f"p{j % 3}", "sk": f"s{j:02d}", "g": f"g{j % 2}"}
            client.put_item(TableName="t", Item={k: {"S": v} for k, v in item.items()} | {"v": {"N": str(j % 10)}})
        as_moto = [_every_page(client, "t", q) for q in QUERIES]
        # p0's s12, s15, s18; p2's s05, s08, s11 of which v = 8 passes the filter
        assert [sum(len(page) for page in p) for p in as_moto] == [20, 20, 20, 3, 1, 0, 30]

        monkeypatch.setattr(Table, "query", Table.query)
        monkeypatch.setattr(Table, "all_items", Table.all_items)
        PartitionQuery.install()
        listed = []
        patched_all = Table.all_items

        def counting(self):
            found = patched_all(self)
            listed.append(len(found))
            return found

        monkeypatch.setattr(Table, "all_items", counting)
        assert [_every_page(client, "t", q) for q in QUERIES] == as_moto
        assert max(listed[:-1]) <= 20 and listed[-1] == 60  # a partition each; the index query, the table


def test_sigterm_stops_it_at_once_and_cleanly(tmp_path):
    """Its state is memory only: SIGTERM exits 0 at once, however much it holds (a clean interpreter exit with a
    million-recipient job's 1.6 GB outlasted the stack's wait, which then reported an unclean stop)."""
    proc = start_moto(free_port(), tmp_path / "moto.log")
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - began < 5


def test_a_receive_checks_retention_without_counting_the_queue(monkeypatch):
    """retention_check: a message past its queue's retention period is still dropped and one within it received,
    and no receive works out the queue's attributes (three passes over the whole queue for each message, before)."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        for body in ("new", "old"):  # moto stops a receive at the first message past retention
            sqs.send_message(QueueUrl=url, MessageBody=body)
        monkeypatch.setattr(
            SQSBackend,
            "is_message_valid_based_on_retention_period",
            SQSBackend.is_message_valid_based_on_retention_period,
        )
        retention_check()
        counted = []
        attributes = Queue.attributes
        monkeypatch.setattr(Queue, "attributes", property(lambda q: counted.append(1) or attributes.fget(q)))
        [queue] = [q for backend in _sqs_backends() for q in backend.queues.values() if q.name == "q"]
        old = next(m for m in queue._messages if m.body == "old")
        old.sent_timestamp -= 61_000  # sent 61 s ago: past the queue's 60 s
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in got] == ["new"]
        assert counted == []


def _sqs_backends():
    for account in sqs_backends.values():
        yield from account.values()
