"""WhatsApp Flows through EUM Social (`socialmessaging`): the FlowApi interface the forms use case needs, and
its implementation over aiobotocore (the very client code works against AWS and, locally, the sandbox).

The calls (botocore's socialmessaging model): CreateWhatsAppFlow (id = the WABA, flowName, categories,
flowJson blob, publish=False), ListWhatsAppFlows (a retried create finds the Flow it made: names are unique in a
WABA), UpdateWhatsAppFlow (name and categories), UpdateWhatsAppFlowAssets, PublishWhatsAppFlow,
GetWhatsAppFlowPreview, DeprecateWhatsAppFlow, GetWhatsAppFlow and DeleteWhatsAppFlow. What the service
refuses becomes FAILED_PRECONDITION with Meta's words; what may pass (throttling, its or Meta's outage, no
connection) becomes UNAVAILABLE: retry."""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from runtime.aws import AwsClients
from runtime.errors import FailedPrecondition, NotFound, Unavailable

REFUSED = {"ValidationException", "InvalidParametersException"}
DENIED = {"AccessDeniedException", "AccessDeniedByMetaException"}


@dataclass(frozen=True)
class FlowStatus:
    flow_id: str
    status: str
    validation_errors: tuple[str, ...] = ()
    json_version: str = ""


@dataclass(frozen=True)
class FlowPreview:
    url: str
    expire_time: float | None


class FlowApi(Protocol):
    async def create(self, waba: str, name: str, categories: tuple[str, ...], flow_json: bytes) -> FlowStatus:
        """A new DRAFT Flow: its id, and Meta's validation errors of the JSON (the Flow exists even so)."""
        ...

    async def find(self, waba: str, name: str) -> str | None:
        """The id of the WABA's Flow with this name, if there is one."""
        ...

    async def update_assets(self, waba: str, flow_id: str, flow_json: bytes) -> tuple[str, ...]:
        """Replaces the Flow JSON; Meta's validation errors, if any."""
        ...

    async def update_metadata(self, waba: str, flow_id: str, name: str, categories: tuple[str, ...]) -> None: ...

    async def publish(self, waba: str, flow_id: str) -> None: ...

    async def preview(self, waba: str, flow_id: str, invalidate: bool) -> FlowPreview: ...

    async def deprecate(self, waba: str, flow_id: str) -> None: ...

    async def get(self, waba: str, flow_id: str) -> FlowStatus: ...

    async def delete(self, waba: str, flow_id: str) -> None:
        """Deletes a DRAFT Flow; one already gone is no error."""
        ...


class EumSocialFlows:
    def __init__(self, aws: AwsClients, endpoint_url: str | None):
        self._aws = aws
        self._endpoint = endpoint_url or None

    async def _client(self):
        # SDK retries (standard mode) take care of throttling and 5xx: every call here is safe to repeat except
        # CreateWhatsAppFlow, whose repeat is caught by the name being unique (find).
        return await self._aws.client("socialmessaging", endpoint_url=self._endpoint, max_attempts=4, read_timeout=30)

    async def create(self, waba: str, name: str, categories: tuple[str, ...], flow_json: bytes) -> FlowStatus:
        client = await self._client()
        with _translated("CreateWhatsAppFlow"):
            reply = await client.create_whatsapp_flow(
                id=waba, flowName=name, categories=list(categories), flowJson=flow_json, publish=False
            )
        return FlowStatus(reply["flowId"], "DRAFT", tuple(reply.get("validationErrors") or ()))

    async def find(self, waba: str, name: str) -> str | None:
        client = await self._client()
        token = None
        while True:
            with _translated("ListWhatsAppFlows"):
                page = await client.list_whatsapp_flows(
                    id=waba, maxResults=100, **({"nextToken": token} if token else {})
                )
            for flow in page.get("flows") or ():
                if flow.get("flowName") == name:
                    return flow["flowId"]
            token = page.get("nextToken")
            if not token:
                return None

    async def update_assets(self, waba: str, flow_id: str, flow_json: bytes) -> tuple[str, ...]:
        client = await self._client()
        with _translated("UpdateWhatsAppFlowAssets"):
            reply = await client.update_whatsapp_flow_assets(id=waba, flowId=flow_id, flowJson=flow_json)
        return tuple(reply.get("validationErrors") or ())

    async def update_metadata(self, waba: str, flow_id: str, name: str, categories: tuple[str, ...]) -> None:
        client = await self._client()
        with _translated("UpdateWhatsAppFlow"):
            await client.update_whatsapp_flow(id=waba, flowId=flow_id, flowName=name, categories=list(categories))

    async def publish(self, waba: str, flow_id: str) -> None:
        client = await self._client()
        with _translated("PublishWhatsAppFlow"):
            await client.publish_whatsapp_flow(id=waba, flowId=flow_id)

    async def preview(self, waba: str, flow_id: str, invalidate: bool) -> FlowPreview:
        client = await self._client()
        with _translated("GetWhatsAppFlowPreview"):
            reply = await client.get_whatsapp_flow_preview(id=waba, flowId=flow_id, invalidate=invalidate)
        preview = reply["preview"]
        return FlowPreview(preview["previewUrl"], meta_time(preview.get("expiresAt", "")))

    async def deprecate(self, waba: str, flow_id: str) -> None:
        client = await self._client()
        with _translated("DeprecateWhatsAppFlow"):
            await client.deprecate_whatsapp_flow(id=waba, flowId=flow_id)

    async def get(self, waba: str, flow_id: str) -> FlowStatus:
        client = await self._client()
        with _translated("GetWhatsAppFlow"):
            reply = await client.get_whatsapp_flow(id=waba, flowId=flow_id)
        return FlowStatus(
            reply["flowId"],
            reply["flowStatus"],
            tuple(reply.get("validationErrors") or ()),
            reply.get("jsonVersion", ""),
        )

    async def delete(self, waba: str, flow_id: str) -> None:
        client = await self._client()
        try:
            with _translated("DeleteWhatsAppFlow"):
                await client.delete_whatsapp_flow(id=waba, flowId=flow_id)
        except NotFound:
            return


class _translated:
    """EUM Social's errors in the platform's terms, naming the call."""

    def __init__(self, operation: str):
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None:
            return False
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            message = exc.response.get("Error", {}).get("Message", str(exc))[:1000]
            if code == "ResourceNotFoundException":
                raise NotFound(f"{self.operation}: the Flow does not exist on WhatsApp ({message})") from exc
            if code in REFUSED:
                raise FailedPrecondition(
                    f"{self.operation}: WhatsApp refused it: {message}", reason="FLOW_REFUSED"
                ) from exc
            if code in DENIED:
                raise FailedPrecondition(
                    f"{self.operation}: this deployment may not manage the WABA's Flows ({code}: {message})",
                    reason="FLOW_ACCESS_DENIED",
                ) from exc
            raise Unavailable(
                f"{self.operation}: EUM Social answered {code}; retry", reason="FLOW_API_UNAVAILABLE"
            ) from exc
        if isinstance(exc, BotoCoreError | aiohttp.ClientError | asyncio.TimeoutError):
            raise Unavailable(
                f"{self.operation}: EUM Social could not be reached ({type(exc).__name__}); retry",
                reason="FLOW_API_UNAVAILABLE",
            ) from exc
        return False


def meta_time(text: str) -> float | None:
    """Meta's timestamps (`2024-06-01T10:00:00+0000`, ISO 8601 variants) as epoch seconds; None if unreadable."""
    if not text:
        return None
    for candidate in (text, text.replace("Z", "+00:00")):
        for fmt in (None, "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
            try:
                parsed = (
                    datetime.datetime.fromisoformat(candidate)
                    if fmt is None
                    else datetime.datetime.strptime(candidate, fmt)
                )
            except ValueError:
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.UTC)
            return parsed.timestamp()
    return None
