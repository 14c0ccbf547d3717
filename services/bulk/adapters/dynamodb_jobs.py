"""BulkJobsTable on DynamoDB: the AWS implementation of JobStore, with the semantics of sqlite_store. Generic keys
`pk`/`sk`.

BulkJobsTable
  job          job#<id>   job    doc (the job as a map), version; gsi1 (list): "jobs" / id;
                                 gsi2 (active, sparse): "active" / id while the job has background work
  replace() is a Put conditioned on the version it read. ListJobs and the active jobs are Queries on the two
  GSIs (eventually consistent: a new job shows a moment later); get is a strongly consistent read."""

from __future__ import annotations

from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from services.bulk.adapters.codec import job_from_doc, job_to_doc
from services.bulk.domain.model import ACTIVE, Job

LIST_INDEX = "list"
ACTIVE_INDEX = "active"

JOBS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "gsi1sk", "AttributeType": "S"},
        {"AttributeName": "gsi2pk", "AttributeType": "S"},
        {"AttributeName": "gsi2sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": LIST_INDEX,
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": ACTIVE_INDEX,
            "KeySchema": [
                {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_jobs_table(client, name: str) -> None:
    """Creates BulkJobsTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, JOBS_TABLE)


def _job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"job#{job_id}"}, "sk": {"S": "job"}}


class DynamoJobStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    @staticmethod
    def _item(job: Job) -> dict[str, Any]:
        item = {
            **_job_key(job.id),
            "doc": dynamo.attribute(job_to_doc(job)),
            "version": {"N": str(job.version)},
            "gsi1pk": {"S": "jobs"},
            "gsi1sk": {"S": job.id},
        }
        if job.state in ACTIVE or job.needs_report:
            item["gsi2pk"] = {"S": "active"}
            item["gsi2sk"] = {"S": job.id}
        return item

    async def create(self, job: Job) -> None:
        await (await self._client()).put_item(
            TableName=self._table, Item=self._item(job), ConditionExpression="attribute_not_exists(pk)"
        )

    async def get(self, job_id: str) -> Job | None:
        reply = await (await self._client()).get_item(TableName=self._table, Key=_job_key(job_id), ConsistentRead=True)
        item = reply.get("Item")
        return job_from_doc(dynamo.native(item["doc"])) if item else None

    async def list(self, before_id: str | None, limit: int) -> list[Job]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk < :before",
            "ExpressionAttributeValues": {":p": {"S": "jobs"}, ":before": {"S": before_id or dynamo.TOP}},
            "ScanIndexForward": False,
        }
        out: list[Job] = []
        client = await self._client()
        while len(out) < limit:
            reply = await client.query(**request, Limit=limit - len(out))
            out += [job_from_doc(dynamo.native(i["doc"])) for i in reply.get("Items", [])]
            if not reply.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return out

    async def replace(self, job: Job, expected_version: int) -> bool:
        try:
            await (await self._client()).put_item(
                TableName=self._table,
                Item=self._item(job),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(expected_version)}},
            )
        except Exception as exc:
            if dynamo.condition_refused(exc):
                return False
            raise
        return True

    async def active(self) -> list[Job]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ACTIVE_INDEX,
            "KeyConditionExpression": "gsi2pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "active"}},
        }
        out: list[Job] = []
        client = await self._client()
        while True:
            reply = await client.query(**request)
            out += [job_from_doc(dynamo.native(i["doc"])) for i in reply.get("Items", [])]
            if not reply.get("LastEvaluatedKey"):
                return out
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    async def ping(self) -> None:
        await (await self._client()).describe_table(TableName=self._table)

    async def close(self) -> None:
        pass
