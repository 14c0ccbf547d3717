"""The channel providers behind one interface: WhatsApp (EUM Social `socialmessaging`), SMS (EUM SMS
`pinpoint-sms-voice-v2`) and email (SES v2), all through runtime.aws.AwsClients so the endpoint (AWS, the
sandbox, moto) is configuration. The sends of WhatsApp and SMS go through runtime.aws_lean (the same request as
the SDK's, without its per-call work: most of a send's CPU was the SDK's); ProviderOptions.lean=False
(WECARE_PROVIDER_CLIENT=sdk) sends through the SDK's client instead, as every other call does.

A provider call is made once: the SDK's own retries are off (max_attempts=1), because a retried send is a
call the dispatcher did not admit under its limits, and a send repeated after an ambiguous failure may be a
duplicate. Every outcome is classified for the dispatcher, and only an answer that proves the message was not
taken may lead to another call (at most once):
  sent       the provider took it (its id)
  throttled  refused for rate (429, not taken): slow the sender down, retry later
  retry      refused before it was taken, provably: the connection was never made (refused, connect timeout),
             or a 4xx refusal that asks to come back (a quota): retry with backoff
  failed     refused for good (validation, access, unknown resource: 4xx): no retry, dead-lettered
  in_doubt   the request may have reached the provider and no answer says it was not taken: a 5xx
             (InternalServiceException, DependencyException: the service failed somewhere after taking the
             request, maybe after handing it to Meta), a read timeout, a dropped connection. Never re-sent;
             reconciled from status events, else reported unknown"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from opentelemetry import context as otel_context
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

from runtime.aws import AwsClients
from runtime.aws_lean import Unsupported
from services.messaging.domain import meta
from services.messaging.domain.model import Category, Channel, MessageError, OutboundMessage

log = logging.getLogger("wecare.messaging.providers")


@dataclass(frozen=True)
class CallOutcome:
    kind: str  # sent | throttled | retry | failed | in_doubt
    provider_message_id: str = ""
    error: MessageError | None = None


THROTTLING = {
    "ThrottledRequestException",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "Throttling",
}
# 4xx refusals that ask the caller to come back later: not taken, so another call is safe.
REFUSED_FOR_NOW = {"ServiceQuotaExceededException"}
# The service failed on its side (whatever status it gave): the request may have gone on to Meta or a carrier.
SERVICE_FAULTS = {
    "InternalServiceException",
    "InternalServerException",
    "DependencyException",
    "ServiceUnavailable",
    "InternalFailure",
}


def classify(exc: BaseException) -> CallOutcome:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        detail = exc.response.get("Error", {}).get("Message", str(exc))
        error = MessageError(code, code, detail[:1000])
        if code in THROTTLING:
            return CallOutcome("throttled", error=error)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in REFUSED_FOR_NOW and status < 500:
            return CallOutcome("retry", error=error)
        if 400 <= status < 500 and code not in SERVICE_FAULTS:
            return CallOutcome("failed", error=error)
        # A 5xx, or no status at all: nothing proves the message was not taken.
        return CallOutcome("in_doubt", error=error)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | aiohttp.ClientConnectorError):
        return CallOutcome("retry", error=MessageError("ConnectionFailed", "could not connect", str(exc)[:500]))
    if isinstance(exc, ReadTimeoutError | ConnectionClosedError | aiohttp.ClientError | asyncio.TimeoutError):
        return CallOutcome("in_doubt", error=MessageError("NoAnswer", type(exc).__name__, str(exc)[:500]))
    return CallOutcome("in_doubt", error=MessageError("NoAnswer", type(exc).__name__, str(exc)[:500]))


class ChannelProvider(Protocol):
    channel: Channel

    async def send(self, message: OutboundMessage, media_ids: dict[str, str]) -> CallOutcome: ...


class MediaRegistrar(Protocol):
    """Registering an outgoing object with a phone (WhatsApp: PostWhatsAppMessageMedia) for a media id."""

    async def post_media(self, origination: str, media_key: str) -> tuple[str | None, CallOutcome | None]:
        """(media id, None), or (None, why not) classified like a send."""
        ...


@dataclass(frozen=True)
class ProviderOptions:
    social_endpoint: str | None
    sms_endpoint: str | None
    meta_api_version: str = "v20.0"
    call_timeout: float = 2.0  # the whole call (the dispatcher's deadline); the read timeout is the same
    media_bucket: str = "stream.wecare.digital"
    email_sender: str = "one@wecare.digital"
    lean: bool = True  # sends through runtime.aws_lean; False: through the SDK's client

    @property
    def connect_timeout(self) -> float:
        """A connection not made within half the call's deadline is given up as never made (safe to retry),
        before the deadline would make the call in doubt."""
        return max(0.2, self.call_timeout / 2)


Call = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class SendCall:
    """A send operation as one callable of its parameters, made at its first call: the lean call where asked for
    and the operation allows it, else the SDK client's method (one attempt, the same timeouts). Either raises the
    same exceptions, so classify() reads both. Neither makes a span: the dispatcher's span stands for the call."""

    def __init__(
        self,
        aws: AwsClients,
        service: str,
        operation: str,
        endpoint: str | None,
        pool: int,
        read_timeout: float,
        lean: bool,
    ):
        self._aws, self._service, self._operation = aws, service, operation
        self._endpoint, self._pool, self._read_timeout, self._lean = endpoint, pool, read_timeout, lean
        self._call: Call | None = None
        self._making = asyncio.Lock()

    async def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._call is None:
            async with self._making:
                if self._call is None:
                    self._call = await self._make()
        return await self._call(params)

    async def _make(self) -> Call:
        if self._lean:
            try:
                op = await self._aws.lean(
                    self._service, self._operation, self._endpoint, self._pool, self._read_timeout, client_span=False
                )
                return op.call
            except Unsupported as exc:
                log.warning("sending through the SDK", extra={"operation": self._operation, "why": str(exc)})
        client = await self._aws.client(
            self._service,
            endpoint_url=self._endpoint,
            max_pool=self._pool,
            max_attempts=1,
            read_timeout=self._read_timeout,
        )
        method = getattr(client, _method_name(client, self._operation))

        async def call(params: dict[str, Any]) -> dict[str, Any]:
            token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
            try:
                return await method(**params)
            finally:
                otel_context.detach(token)

        return call


def _method_name(client, operation: str) -> str:
    return next(name for name, api in client.meta.method_to_api_mapping.items() if api == operation)


class WhatsAppProvider:
    """EUM Social: send_whatsapp_message, post/get_whatsapp_message_media, the template catalogue."""

    channel = Channel.WHATSAPP

    def __init__(self, aws: AwsClients, options: ProviderOptions):
        self._aws = aws
        self._options = options
        self._send = SendCall(
            aws,
            "socialmessaging",
            "SendWhatsAppMessage",
            options.social_endpoint,
            200,
            options.call_timeout,
            options.lean,
        )

    async def _client(self, retries: bool = False):
        return await self._aws.client(
            "socialmessaging",
            endpoint_url=self._options.social_endpoint,
            max_pool=200,
            max_attempts=4 if retries else 1,
            read_timeout=self._options.call_timeout if not retries else 30,
            connect_timeout=self._options.connect_timeout if not retries else 5,
        )

    async def send(self, message: OutboundMessage, media_ids: dict[str, str]) -> CallOutcome:
        body = meta.encode(meta.message_object(message, media_ids))
        try:
            reply = await self._send(
                {
                    "originationPhoneNumberId": message.origination,
                    "message": body,
                    "metaApiVersion": self._options.meta_api_version,
                }
            )
        except Exception as exc:
            return classify(exc)
        return CallOutcome("sent", provider_message_id=reply["messageId"])

    async def post_media(self, origination: str, media_key: str) -> tuple[str | None, CallOutcome | None]:
        """Registers an outgoing object with the phone: (media id, None) or (None, why not)."""
        client = await self._client()
        try:
            reply = await client.post_whatsapp_message_media(
                originationPhoneNumberId=origination,
                sourceS3File={"bucketName": self._options.media_bucket, "key": media_key},
            )
        except Exception as exc:
            return None, classify(exc)
        return reply["mediaId"], None

    async def get_media(self, origination: str, media_id: str, destination_prefix: str) -> dict[str, object]:
        """Copies inbound media into the bucket under a prefix (AWS appends the id and extension); returns
        {"mimeType", "fileSize" (KB)}. Raises ClientError; the caller retries and dead-letters."""
        client = await self._client()
        reply = await client.get_whatsapp_message_media(
            mediaId=media_id,
            originationPhoneNumberId=origination,
            destinationS3File={"bucketName": self._options.media_bucket, "key": destination_prefix},
        )
        return {"mimeType": reply.get("mimeType", ""), "fileSize": reply.get("fileSize", 0)}

    async def list_templates(self, waba: str) -> list[dict[str, object]]:
        client = await self._client(retries=True)
        out: list[dict[str, object]] = []
        token = None
        while True:
            kwargs = {"id": waba, "maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            reply = await client.list_whatsapp_message_templates(**kwargs)
            out += reply.get("templates", [])
            token = reply.get("nextToken")
            if not token:
                return out

    async def get_template(self, waba: str, meta_template_id: str) -> str:
        client = await self._client(retries=True)
        reply = await client.get_whatsapp_message_template(id=waba, metaTemplateId=meta_template_id)
        return reply.get("template", "{}")


class SmsProvider:
    """EUM SMS: send_text_message, the callback data carried in Context["ref"]."""

    channel = Channel.SMS
    CONTEXT_KEY = "ref"

    def __init__(self, aws: AwsClients, options: ProviderOptions):
        self._aws = aws
        self._options = options
        self._send = SendCall(
            aws,
            "pinpoint-sms-voice-v2",
            "SendTextMessage",
            options.sms_endpoint,
            100,
            options.call_timeout,
            options.lean,
        )

    async def send(self, message: OutboundMessage, media_ids: dict[str, str]) -> CallOutcome:
        try:
            reply = await self._send(
                {
                    "DestinationPhoneNumber": message.recipient,
                    "OriginationIdentity": message.origination,
                    "MessageBody": message.content["text"]["body"],
                    "MessageType": "PROMOTIONAL" if message.category == Category.MARKETING else "TRANSACTIONAL",
                    "Context": {self.CONTEXT_KEY: message.callback_data},
                }
            )
        except Exception as exc:
            return classify(exc)
        return CallOutcome("sent", provider_message_id=reply["MessageId"])


class EmailProvider:
    """SES v2 send_email (simple content) from the configured identity; the message id travels as a tag. Through
    the SDK always: SendEmail's endpoint rules read one of its parameters (EndpointId), which the lean call does
    not take (and email goes at 14/s, not 1,000)."""

    channel = Channel.EMAIL

    def __init__(self, aws: AwsClients, options: ProviderOptions):
        self._options = options
        self._send = SendCall(aws, "sesv2", "SendEmail", None, 50, max(5.0, options.call_timeout), lean=False)

    async def send(self, message: OutboundMessage, media_ids: dict[str, str]) -> CallOutcome:
        email = message.content["email"]
        body: dict[str, object] = {}
        if email.get("text_body"):
            body["Text"] = {"Data": email["text_body"], "Charset": "UTF-8"}
        if email.get("html_body"):
            body["Html"] = {"Data": email["html_body"], "Charset": "UTF-8"}
        try:
            reply = await self._send(
                {
                    "FromEmailAddress": message.origination or self._options.email_sender,
                    "Destination": {"ToAddresses": [message.recipient]},
                    "Content": {"Simple": {"Subject": {"Data": email["subject"], "Charset": "UTF-8"}, "Body": body}},
                    "EmailTags": [
                        {"Name": "wecare_message", "Value": message.id},
                        {"Name": "wecare_category", "Value": message.category.value.lower()},
                    ],
                }
            )
        except Exception as exc:
            return classify(exc)
        return CallOutcome("sent", provider_message_id=reply["MessageId"])
