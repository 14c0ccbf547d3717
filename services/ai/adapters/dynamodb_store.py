"""DocsTable on DynamoDB: the AWS implementation of DocsStore, with the semantics of sqlite_store.

One table with generic keys `pk`/`sk` and TTL on `expire_at`:

  item       pk                  sk            attributes
  document   document            <id>          fields (map: title, type, times, version), content, passages
                                               (JSON list), version
  revision   revision            revision      value: bumped by every document write, in the same transaction
  session    session#<owner>     <id>          doc (the session as JSON), version, expire_at (TTL, epoch s)
  vectors    vectors#<key>       <passage id>  vectors (binary): the local provider's, by encoder key

- Documents share one partition so that listing them, and reading them all to build a retrieval index, is a
  Query in id (creation) order; a knowledge base is thousands of documents at most, and each item (content
  up to 100 KB plus its passages) stays under the 400 KB item limit. Nothing on a request path scans.
- Every document write is a TransactWriteItems with the revision bump, so a replica that sees the revision
  unchanged knows its index is current. replace/delete condition the document on the version they read.
- Passage vectors are derived data, one small item a passage (a few KB), outside the documents' items (which
  they would push past 400 KB) and outside the revision. Read by BatchGetItem for the passages an index build
  lacks, written and deleted by BatchWriteItem; a Query of their partition lists them (keys only).
- A session is a person's: its partition is the owner, so get/list/delete never see anyone else's. TTL
  removes expired sessions eventually (within days), so reads also check expire_at. After a new session is
  put, the owner's sessions are read (20-odd small keys) and the oldest beyond the cap are deleted: two
  replicas creating at once both trim, so the count settles at the cap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.errors import Aborted, AlreadyExists, NotFound, Unavailable
from services.ai.adapters.codec import (
    document_fields,
    document_from,
    passages_from_list,
    passages_to_list,
    session_from,
    session_to,
)
from services.ai.domain.documents import Document
from services.ai.domain.sessions import Session

DOCUMENTS = "document"
REVISION_KEY = {"pk": {"S": "revision"}, "sk": {"S": "revision"}}
TTL_ATTRIBUTE = "expire_at"

# CreateTable arguments (without TableName), for local runs and tests; production tables come from the
# deployment's templates with the same keys and TTL attribute.
TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    await dynamo.ensure_table(client, name, TABLE, time_to_live=TTL_ATTRIBUTE)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _document_key(document_id: str) -> dict[str, Any]:
    return {"pk": {"S": DOCUMENTS}, "sk": {"S": document_id}}


def _session_key(owner: str, session_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"session#{owner}"}, "sk": {"S": session_id}}


def _document(item: dict[str, Any]) -> Document:
    fields = dynamo.native(item["fields"])
    if "content" not in item:
        return document_from(fields)
    return document_from(fields, item["content"]["S"], passages_from_list(json.loads(item["passages"]["S"])))


def _session(item: dict[str, Any]) -> Session:
    return session_from(json.loads(item["doc"]["S"]))


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(f"DocsTable cannot be reached ({exc}); retry shortly", reason="STORE_UNAVAILABLE")


class DynamoDocsStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    def _document_item(self, document: Document) -> dict[str, Any]:
        return {
            **_document_key(document.id),
            "fields": dynamo.attribute(document_fields(document)),
            "content": {"S": document.content},
            "passages": {"S": _json(passages_to_list(document.passages))},
            "version": {"N": str(document.version)},
        }

    def _bump(self) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": REVISION_KEY,
                "UpdateExpression": "ADD #v :one",
                "ExpressionAttributeNames": {"#v": "value"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }

    async def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            await dynamo.transact_write(await self._client(), items)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    async def create_document(self, document: Document) -> None:
        put = {
            "Put": {
                "TableName": self._table,
                "Item": self._document_item(document),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            await self._transact([put, self._bump()])
        except dynamo.TransactionRefused:
            raise AlreadyExists(f"{document.name} already exists", reason="DOCUMENT_EXISTS") from None

    async def get_document(self, document_id: str) -> Document | None:
        try:
            response = await (await self._client()).get_item(
                TableName=self._table, Key=_document_key(document_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        item = response.get("Item")
        return _document(item) if item else None

    async def _query(self, request: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        """Items of one Query, page after page (a page stops at 1 MB), up to limit."""
        client = await self._client()
        items: list[dict[str, Any]] = []
        start = None
        try:
            while True:
                call = dict(request, TableName=self._table)
                if start:
                    call["ExclusiveStartKey"] = start
                if limit is not None:
                    call["Limit"] = limit - len(items)
                response = await client.query(**call)
                items.extend(response.get("Items", []))
                start = response.get("LastEvaluatedKey")
                if not start or (limit is not None and len(items) >= limit):
                    return items
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    async def list_documents(self, after_id: str | None, limit: int, with_content: bool = True) -> list[Document]:
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk > :after",
            "ExpressionAttributeValues": {":pk": {"S": DOCUMENTS}, ":after": {"S": after_id or " "}},
            "ConsistentRead": True,
        }
        if not with_content:
            request["ProjectionExpression"] = "sk, #f"
            request["ExpressionAttributeNames"] = {"#f": "fields"}
        return [_document(i) for i in await self._query(request, limit)]

    async def replace_document(self, document: Document, expected_version: int) -> None:
        put = {
            "Put": {
                "TableName": self._table,
                "Item": self._document_item(document),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        try:
            await self._transact([put, self._bump()])
        except dynamo.TransactionRefused as refused:
            if refused.old_item(0) is None and await self.get_document(document.id) is None:
                raise NotFound(f"{document.name} does not exist") from None
            raise Aborted(f"{document.name} changed meanwhile; read it again", reason="ETAG_MISMATCH") from None

    async def delete_document(self, document_id: str, expected_version: int | None = None) -> Document | None:
        for _ in range(5):
            current = await self.get_document(document_id)
            if current is None:
                return None
            if expected_version is not None and current.version != expected_version:
                raise Aborted(f"documents/{document_id} changed meanwhile; read it again", reason="ETAG_MISMATCH")
            delete = {
                "Delete": {
                    "TableName": self._table,
                    "Key": _document_key(document_id),
                    "ConditionExpression": "version = :seen",
                    "ExpressionAttributeValues": {":seen": {"N": str(current.version)}},
                }
            }
            try:
                await self._transact([delete, self._bump()])
                return current
            except dynamo.TransactionRefused:
                continue  # changed or removed between the read and the delete: look again
        raise Aborted(f"documents/{document_id} keeps changing; retry", reason="CONCURRENT_UPDATES")

    async def revision(self) -> int:
        try:
            response = await (await self._client()).get_item(
                TableName=self._table, Key=REVISION_KEY, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        item = response.get("Item")
        return int(item["value"]["N"]) if item else 0

    async def all_documents(self) -> list[Document]:
        request = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": DOCUMENTS}},
            "ConsistentRead": True,
        }
        return [_document(i) for i in await self._query(request)]

    def _vectors_key(self, key: str, passage_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"vectors#{key}"}, "sk": {"S": passage_id}}

    async def passage_vectors(self, key: str, passage_ids: Sequence[str]) -> dict[str, bytes]:
        keys = [self._vectors_key(key, pid) for pid in passage_ids]
        try:
            items = await dynamo.batch_get(await self._client(), self._table, keys, consistent=False)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return {i["sk"]["S"]: bytes(i["vectors"]["B"]) for i in items}

    async def put_passage_vectors(self, key: str, vectors: Mapping[str, bytes]) -> None:
        puts = [
            {"PutRequest": {"Item": {**self._vectors_key(key, pid), "vectors": {"B": blob}}}}
            for pid, blob in vectors.items()
        ]
        await self._batch_write(puts)

    async def passage_vector_ids(self, key: str) -> list[str]:
        request = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"vectors#{key}"}},
            "ProjectionExpression": "sk",
        }
        return [i["sk"]["S"] for i in await self._query(request)]

    async def delete_passage_vectors(self, key: str, passage_ids: Sequence[str]) -> None:
        deletes = [{"DeleteRequest": {"Key": self._vectors_key(key, pid)}} for pid in dict.fromkeys(passage_ids)]
        await self._batch_write(deletes)

    async def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        try:
            await dynamo.batch_write(await self._client(), self._table, requests)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    async def create_session(self, session: Session, keep: int) -> list[str]:
        client = await self._client()
        item = {
            **_session_key(session.owner, session.id),
            "doc": {"S": _json(session_to(session))},
            "version": {"N": str(session.version)},
            TTL_ATTRIBUTE: {"N": str(math.ceil(session.expire_time))},
        }
        try:
            await client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if dynamo.condition_refused(exc):
                raise AlreadyExists(f"{session.name} already exists", reason="SESSION_EXISTS") from None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        owned = await self._query(
            {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"session#{session.owner}"}},
                "ProjectionExpression": "sk, #e",
                "ExpressionAttributeNames": {"#e": TTL_ATTRIBUTE},
                "ScanIndexForward": False,
                "ConsistentRead": True,
            }
        )
        now = session.create_time
        expired = [i["sk"]["S"] for i in owned if float(i[TTL_ATTRIBUTE]["N"]) <= now]
        live = [i["sk"]["S"] for i in owned if float(i[TTL_ATTRIBUTE]["N"]) > now]
        dropped = expired + live[keep:]
        try:
            for session_id in dropped:
                await client.delete_item(TableName=self._table, Key=_session_key(session.owner, session_id))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return dropped

    async def get_session(self, owner: str, session_id: str, now: float) -> Session | None:
        try:
            response = await (await self._client()).get_item(
                TableName=self._table, Key=_session_key(owner, session_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        found = _session(response["Item"]) if response.get("Item") else None
        # TTL deletes lazily (within days): an expired session is gone as far as anyone can tell.
        return found if found and found.live(now) else None

    async def list_sessions(self, owner: str, now: float, before_id: str | None, limit: int) -> list[Session]:
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk < :before",
            "FilterExpression": "#e > :now",
            "ExpressionAttributeNames": {"#e": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"session#{owner}"},
                ":before": {"S": before_id or dynamo.TOP},
                ":now": {"N": str(math.floor(now))},
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        sessions = [_session(i) for i in await self._query(request)]
        return [s for s in sessions if s.live(now)][:limit]

    async def replace_session(self, session: Session, expected_version: int) -> None:
        item = {
            **_session_key(session.owner, session.id),
            "doc": {"S": _json(session_to(session))},
            "version": {"N": str(session.version)},
            TTL_ATTRIBUTE: {"N": str(math.ceil(session.expire_time))},
        }
        try:
            await (await self._client()).put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if not dynamo.condition_refused(exc):
                raise _unavailable(exc) from exc
            if await self.get_session(session.owner, session.id, 0) is None:
                raise NotFound(f"{session.name} does not exist") from None
            raise Aborted(f"{session.name} changed meanwhile; retry", reason="SESSION_CHANGED") from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    async def delete_session(self, owner: str, session_id: str) -> bool:
        try:
            response = await (await self._client()).delete_item(
                TableName=self._table, Key=_session_key(owner, session_id), ReturnValues="ALL_OLD"
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return bool(response.get("Attributes"))

    async def ping(self) -> None:
        await (await self._client()).describe_table(TableName=self._table)

    async def close(self) -> None:
        """The clients belong to the process's AwsClients, closed with it."""
