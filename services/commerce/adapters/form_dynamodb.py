"""FormsTable on DynamoDB: the AWS implementation of FormStore, with the semantics of form_sqlite.

One table with generic keys `pk`/`sk`. The items:

  item        pk                        sk          attributes
  form        form#<id>                 form        doc, version; gsi1pk = forms#<crc32(id) mod 8>, gsi1sk = id
  invitation  token#<flow token>        invitation  doc
  request     request#<request_id>      request     token
  response    response#<flow token>     response    doc, id; gsi1pk = responses#<form>#<crc32(id) mod 8>,
                                                    gsi2pk = contact#<contact id>, gsi3pk = job#<job>#<crc32(id)
                                                    mod 8>, each gsiNsk = id
  reply       reply#<wamid>             reply       token

- A form changes under `version = :expected` (replace, delete): two editors cannot both win.
- An invitation is one transaction (the token item, and the request item under `attribute_not_exists`), so a
  request_id names one invitation; a batch stops losing nothing: what it stored, a retry finds.
- A response is one transaction of three items: the response under `attribute_not_exists` (one answer a flow
  token), the reply item under `attribute_not_exists` (a replayed event adds nothing) and the response's id on
  the invitation (which must exist). Whichever condition fails names the response stored before.
- The responses of a form or of a bulk job arrive together (a campaign's answers within minutes): their GSI
  partitions are sharded by response id over 8 keys and merged in id order when read (runtime.dynamo
  .merged_query). A contact answers a few forms: one partition. Nothing on a request path scans."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.errors import Aborted, AlreadyExists, NotFound
from services.commerce.adapters.form_codec import (
    form_document,
    form_from,
    invitation_document,
    invitation_from,
    response_document,
    response_from,
)
from services.commerce.domain.forms import Form
from services.commerce.domain.invitations import Invitation
from services.commerce.domain.responses import ContactSync, Response

LIST_INDEX = "list"
CONTACT_INDEX = "byContact"
JOB_INDEX = "byJob"
SHARDS = 8
WRITE_CONCURRENCY = 16  # invitation transactions in flight for one batch

TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": f"{gsi}pk", "KeyType": "HASH"},
                {"AttributeName": f"{gsi}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc"]},
        }
        for index, gsi in ((LIST_INDEX, "gsi1"), (CONTACT_INDEX, "gsi2"), (JOB_INDEX, "gsi3"))
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    """Creates FormsTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, TABLE)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _form_key(form_id: str) -> dict[str, Any]:
    return _key(f"form#{form_id}", "form")


def _token_key(token: str) -> dict[str, Any]:
    return _key(f"token#{token}", "invitation")


def _response_key(token: str) -> dict[str, Any]:
    return _key(f"response#{token}", "response")


FRESH = "attribute_not_exists(pk)"


class DynamoFormStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    async def _doc_at(self, key: dict[str, Any]) -> dict[str, Any] | None:
        client = await self._client()
        item = (await client.get_item(TableName=self._table, Key=key, ConsistentRead=True)).get("Item")
        return dynamo.native(item["doc"]) if item else None

    def _put(self, item: dict[str, Any], condition: str = FRESH) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": condition}}

    # -- forms ------------------------------------------------------------------------------------------------

    def _form_item(self, form: Form) -> dict[str, Any]:
        return {
            **_form_key(form.id),
            "doc": dynamo.attribute(form_document(form)),
            "version": dynamo.attribute(form.version),
            "gsi1pk": _s(f"forms#{dynamo.shard_of(form.id, SHARDS)}"),
            "gsi1sk": _s(form.id),
        }

    async def create_form(self, form: Form) -> None:
        client = await self._client()
        try:
            await client.put_item(TableName=self._table, Item=self._form_item(form), ConditionExpression=FRESH)
        except client.exceptions.ConditionalCheckFailedException:
            raise AlreadyExists(f"{form.name} already exists", reason="FORM_EXISTS") from None

    async def get_form(self, form_id: str) -> Form | None:
        doc = await self._doc_at(_form_key(form_id))
        return form_from(doc) if doc else None

    async def list_forms(self, after_id: str | None, limit: int) -> list[Form]:
        requests = [self._query(LIST_INDEX, "gsi1", f"forms#{shard}", after_id, limit) for shard in range(SHARDS)]
        items = await dynamo.merged_query(await self._client(), requests, "gsi1sk", limit)
        return [form_from(dynamo.native(item["doc"])) for item in items]

    async def replace_form(self, form: Form, expected_version: int) -> None:
        client = await self._client()
        try:
            await client.put_item(
                TableName=self._table,
                Item=self._form_item(form),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": dynamo.attribute(expected_version)},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            if not exc.response.get("Item"):
                raise NotFound(f"{form.name} does not exist") from None
            raise Aborted(f"{form.name} changed meanwhile; read it again", reason="VERSION_MISMATCH") from None

    async def delete_form(self, form_id: str, expected_version: int) -> Form | None:
        client = await self._client()
        try:
            removed = await client.delete_item(
                TableName=self._table,
                Key=_form_key(form_id),
                ConditionExpression="attribute_not_exists(pk) OR version = :expected",
                ExpressionAttributeValues={":expected": dynamo.attribute(expected_version)},
                ReturnValues="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException:
            raise Aborted(f"forms/{form_id} changed meanwhile; read it again", reason="VERSION_MISMATCH") from None
        item = removed.get("Attributes")
        return form_from(dynamo.native(item["doc"])) if item else None

    # -- invitations ------------------------------------------------------------------------------------------

    async def create_invitations(self, invitations: list[Invitation]) -> list[Invitation]:
        gate = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def one(invitation: Invitation) -> Invitation:
            async with gate:
                return await self._create_invitation(invitation)

        return list(await asyncio.gather(*(one(i) for i in invitations)))

    async def _create_invitation(self, invitation: Invitation) -> Invitation:
        items = [self._put({**_token_key(invitation.token), "doc": dynamo.attribute(invitation_document(invitation))})]
        if invitation.request_id:
            request = _key(f"request#{invitation.request_id}", "request")
            items.append(self._put({**request, "token": _s(invitation.token)}))
        for _ in range(5):
            try:
                await dynamo.transact_write(await self._client(), items)
                return invitation
            except dynamo.TransactionRefused as refused:
                if invitation.request_id and refused.failed(1):
                    existing = await self._by_request(invitation.request_id)
                    if existing is not None:
                        return existing
                    continue
                raise AlreadyExists("an invitation already has this flow token", reason="TOKEN_TAKEN") from None
        raise AlreadyExists(
            f"request_id {invitation.request_id!r} keeps changing; retry", reason="REQUEST_ID_CONTENDED"
        )

    async def _by_request(self, request_id: str) -> Invitation | None:
        client = await self._client()
        found = await client.get_item(
            TableName=self._table, Key=_key(f"request#{request_id}", "request"), ConsistentRead=True
        )
        item = found.get("Item")
        return await self.get_invitation(item["token"]["S"]) if item else None

    async def get_invitation(self, token: str) -> Invitation | None:
        doc = await self._doc_at(_token_key(token))
        return invitation_from(doc) if doc else None

    async def set_invitation_message(self, token: str, message_id: str) -> Invitation | None:
        client = await self._client()
        try:
            await client.update_item(
                TableName=self._table,
                Key=_token_key(token),
                UpdateExpression="SET doc.message = :message",
                ConditionExpression="attribute_exists(pk) AND doc.message = :empty",
                ExpressionAttributeValues={":message": _s(message_id), ":empty": _s("")},
            )
        except client.exceptions.ConditionalCheckFailedException:
            pass  # no such invitation, or its message was recorded before: the read below says which
        return await self.get_invitation(token)

    # -- responses --------------------------------------------------------------------------------------------

    async def record_response(self, response: Response) -> tuple[Response, bool]:
        item: dict[str, Any] = {
            **_response_key(response.token),
            "doc": dynamo.attribute(response_document(response)),
            "id": _s(response.id),
            "gsi1pk": _s(f"responses#{response.form_id}#{dynamo.shard_of(response.id, SHARDS)}"),
            "gsi1sk": _s(response.id),
        }
        if response.contact:
            item |= {"gsi2pk": _s(f"contact#{response.contact}"), "gsi2sk": _s(response.id)}
        if response.job:
            item |= {
                "gsi3pk": _s(f"job#{response.job}#{dynamo.shard_of(response.id, SHARDS)}"),
                "gsi3sk": _s(response.id),
            }
        items = [
            self._put(item),
            self._put({**_key(f"reply#{response.reply_wamid}", "reply"), "token": _s(response.token)}),
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _token_key(response.token),
                    "UpdateExpression": "SET doc.response_id = :id",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":id": _s(response.id)},
                }
            },
        ]
        try:
            await dynamo.transact_write(await self._client(), items)
        except dynamo.TransactionRefused as refused:
            earlier = None
            if refused.failed(0):
                earlier = await self.get_response(response.token)
            elif refused.failed(1):
                client = await self._client()
                reply = await client.get_item(
                    TableName=self._table, Key=_key(f"reply#{response.reply_wamid}", "reply"), ConsistentRead=True
                )
                if reply.get("Item"):
                    earlier = await self.get_response(reply["Item"]["token"]["S"])
            elif refused.failed(2):
                raise NotFound(f"no invitation has the flow token {response.token}") from None
            if earlier is None:  # the refusal's item went away meanwhile (never deleted today): say so, retryable
                raise Aborted("the response changed while it was stored; retry", reason="RESPONSE_CONTENDED") from None
            return earlier, False
        return response, True

    async def get_response(self, token: str) -> Response | None:
        doc = await self._doc_at(_response_key(token))
        return response_from(doc) if doc else None

    async def set_contact_sync(self, token: str, sync: ContactSync, error: str = "") -> None:
        client = await self._client()
        try:
            await client.update_item(
                TableName=self._table,
                Key=_response_key(token),
                UpdateExpression="SET doc.contact_sync = :sync, doc.contact_sync_error = :error",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":sync": _s(sync.value), ":error": _s(error)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            raise NotFound(f"no response to the invitation {token}") from None

    async def responses_of_form(self, form_id: str, after: str | None, limit: int) -> list[Response]:
        if not form_id:
            return []
        return await self._sharded(LIST_INDEX, "gsi1", f"responses#{form_id}", after, limit)

    async def responses_of_job(self, job_id: str, after: str | None, limit: int) -> list[Response]:
        if not job_id:
            return []
        return await self._sharded(JOB_INDEX, "gsi3", f"job#{job_id}", after, limit)

    async def responses_of_contact(self, contact_id: str, after: str | None, limit: int) -> list[Response]:
        if not contact_id or limit <= 0:
            return []
        request = self._query(CONTACT_INDEX, "gsi2", f"contact#{contact_id}", after, limit)
        items = await dynamo.merged_query(await self._client(), [request], "gsi2sk", limit)
        return [response_from(dynamo.native(item["doc"])) for item in items]

    async def _sharded(self, index: str, gsi: str, prefix: str, after: str | None, limit: int) -> list[Response]:
        if limit <= 0:
            return []
        page = min(limit, -(-limit // SHARDS) + 2)
        requests = [self._query(index, gsi, f"{prefix}#{shard}", after, page) for shard in range(SHARDS)]
        items = await dynamo.merged_query(await self._client(), requests, f"{gsi}sk", limit)
        return [response_from(dynamo.native(item["doc"])) for item in items]

    def _query(self, index: str, gsi: str, partition: str, after: str | None, limit: int) -> dict[str, Any]:
        values = {":pk": _s(partition)}
        condition = f"{gsi}pk = :pk"
        if after:
            values[":after"] = _s(after)
            condition += f" AND {gsi}sk > :after"
        return {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": max(1, limit),
        }

    async def ping(self) -> None:
        client = await self._client()
        await client.get_item(TableName=self._table, Key=_key("ping", "ping"))

    async def close(self) -> None:
        """Nothing of its own: the DynamoDB client belongs to AwsClients, closed with the process."""
