"""The DynamoDB capacity log (runtime/capacity_log.py): off unless WECARE_DYNAMODB_CAPACITY_LOG is set (no hook
on any client), and when on, real requests to moto are written as the capacity model reads them, with sizes by
DynamoDB's rules and no value in the file."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.capacity_log import CapacityRecorder, display
from runtime.dynamo_capacity import item_size
from runtime.settings import Settings

PHONE = "+919800000001"
TABLE_DEFINITION = {
    "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "q_pk", "q_sk")],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "queue",
            "KeySchema": [{"AttributeName": "q_pk", "KeyType": "HASH"}, {"AttributeName": "q_sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def _hooks(client, event: str) -> list:
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    return list(emitter._handlers.prefix_search(event))


async def test_off_by_default_no_hook_is_registered():
    settings = Settings.from_env({}, dynamodb_endpoint_url="http://127.0.0.1:9")
    assert settings.dynamodb_capacity_log == ""
    aws = AwsClients(settings, owner="test")
    try:
        client = await aws.client("dynamodb")
        for event in ("before-parameter-build.dynamodb.PutItem", "after-call.dynamodb.PutItem"):
            assert not [h for h in _hooks(client, event) if isinstance(getattr(h, "__self__", None), CapacityRecorder)]
    finally:
        await aws.close()


@pytest.fixture
async def logged(moto_endpoint, tmp_path):
    log = tmp_path / "capacity.jsonl"
    settings = Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint, dynamodb_capacity_log=str(log))
    aws = AwsClients(settings, owner="test")
    table = f"capacity-{uuid.uuid4().hex[:10]}"
    client = await aws.client("dynamodb")
    hooks = _hooks(client, "after-call.dynamodb.PutItem")
    assert [h for h in hooks if isinstance(getattr(h, "__self__", None), CapacityRecorder)]
    await dynamo.ensure_table(client, table, TABLE_DEFINITION)
    log.unlink(missing_ok=True)  # what follows only
    yield client, table, log
    await aws.close()


def _records(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


async def test_records_real_requests_with_sizes_keys_and_refusals(logged):
    client, table, log = logged
    item = {
        "pk": {"S": "msg#01J8ZK3"},
        "sk": {"S": "msg"},
        "doc": {"S": json.dumps({"to": PHONE, "text": "your order has shipped"})},
        "ver": {"N": "1"},
        "q_pk": {"S": "q#phone-number-id-1"},
        "q_sk": {"S": "0#01J8ZK3"},
    }
    await client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError):
        await client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    await client.update_item(
        TableName=table,
        Key={"pk": item["pk"], "sk": item["sk"]},
        UpdateExpression="SET ver = :v REMOVE q_pk, q_sk",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    await client.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": item["pk"]},
        ConsistentRead=True,
    )

    put, refused, update, query = _records(log)
    assert [r["op"] for r in (put, refused, update, query)] == ["PutItem", "PutItem", "UpdateItem", "Query"]
    assert put["ok"] == 1 and put["o"] == "test" and put["req"] > 0
    assert refused["ok"] == 0 and refused["err"] == "ConditionalCheckFailedException"
    (written,) = put["w"]
    assert written["tb"] == table and written["act"] == "put" and written["cond"] == 1
    assert sum(size for size, _ in written["a"].values()) == item_size(item)
    assert written["a"]["pk"][1] == display("msg#01J8ZK3")
    assert written["a"]["doc"][1].startswith("~")  # a value, not a key: hashed
    (set_ver, *removes) = update["w"][0]["u"]
    assert set_ver[:3] == ["set", "ver", 3 + 2] and set_ver[3].startswith("~")  # a number's display is a hash
    assert removes == [["remove", "q_pk", 0, None], ["remove", "q_sk", 0, None]]
    (read,) = query["r"]
    assert read["cons"] == 1 and read["eq"] == {"pk": display("msg#01J8ZK3")}
    assert read["sz"] == [item_size(item) - item_size({k: item[k] for k in ("q_pk", "q_sk")})]
    text = log.read_text(encoding="utf-8")
    assert PHONE not in text and "shipped" not in text and "phone-number-id-1" not in text


async def test_a_cancelled_transaction_names_its_reasons(logged):
    client, table, log = logged
    claim = {"pk": {"S": "key#abc"}, "sk": {"S": "key"}}
    put = {"Put": {"TableName": table, "Item": claim, "ConditionExpression": "attribute_not_exists(pk)"}}
    await dynamo.transact_write(client, [put])
    with pytest.raises(dynamo.TransactionRefused):
        await dynamo.transact_write(client, [put])
    ok, cancelled = _records(log)
    assert ok["tx"] == 1 and ok["ok"] == 1 and ok["w"][0]["act"] == "put"
    assert cancelled["err"] == "TransactionCanceledException" and cancelled["why"] == ["ConditionalCheckFailed"]
