"""The embedded AWS's DynamoDB (localrun/embedded_aws.py): many transactions at once are answered, none with a
500 (moto alone: "dictionary changed size during iteration"), and a cancelled transaction still leaves every
item it named as it was, its index entries too (the rollback keeps items, not whole tables)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def table(moto_endpoint):
    client = boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, aws_access_key_id="test", aws_secret_access_key="test"
    )
    name = f"EmbeddedAwsTest{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client, name


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
