"""The sandbox: a local stand-in for AWS End User Messaging Social (WhatsApp) and End User Messaging SMS,
speaking their wire protocols (rest-json for `socialmessaging`, JSON 1.0 for `pinpoint-sms-voice-v2`) so that
the very same aiobotocore clients work against it with an endpoint URL.

It answers like the real services: ids in their shapes, ValidationException for what the real API refuses,
ResourceNotFoundException for unknown media, ThrottledRequestException / ThrottlingException when asked to
(control endpoint or WECARE_SANDBOX_CONFIG). It never deduplicates (the real ones do not). Each accepted call
is appended to the sandbox log (localrun.sandbox.log) stamped with time.time_ns() at acceptance, and each
accepted WhatsApp message produces sent/delivered/read (or failed) status events, in EUM Social's SNS event
shape, delivered in batches to messaging's IngestEvents (localrun.sandbox.events).

What Meta would refuse only later (unknown template, wrong parameter count, unknown media id, a recipient
configured to fail) is accepted and then reported by a `failed` status event with Meta's code, as in reality.

WhatsApp Flows (EUM Social's Flow API, the flow tokens of accepted flow messages, a customer answering a form)
are localrun.sandbox.flows. Meta's review of the templates created through it, and its account events (a template
paused, a phone flagged), are localrun.sandbox.meta; a configurable share of marketing template messages fails
with 131049 (Meta's per-user marketing limit).

Control (for tests and benchmarks, not part of any AWS API): GET /sandbox/health, GET/POST /sandbox/config,
POST /sandbox/inbound (a customer writes, or sends a picture: emits an inbound message event), GET
/sandbox/flows/sent and POST /sandbox/flows/reply (a customer answers a form: emits its nfm_reply event), POST
/sandbox/templates/status (Meta pauses, disables or reinstates a template) and POST /sandbox/quality (Meta flags
or unflags a phone, with its messaging limit). The
payment provider it also plays (Razorpay's API, a pay page, signed webhooks) is localrun/sandbox/payments.py, on
the same address. What the wire accepts (id shapes, Meta's message checks, the AWS errors) is
localrun.sandbox.wire; its settings, localrun.sandbox.config."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import secrets
import time
import uuid
from collections import defaultdict, deque
from dataclasses import asdict
from typing import Any

from aiohttp import web

from localrun.sandbox.config import Config
from localrun.sandbox.customer import Customer
from localrun.sandbox.events import (
    EventSink,
    account_event,
    display_number,
    inbound_image_event,
    inbound_text_event,
    payment_status_event,
    status_event,
)
from localrun.sandbox.flows import FlowDesk, FlowError, SentFlow
from localrun.sandbox.log import Call, LogWriter
from localrun.sandbox.meta import MetaDesk
from localrun.sandbox.wire import (
    API_VERSION,
    E164,
    MAX_MESSAGE_BYTES,
    MEDIA_EXTENSIONS,
    MEDIA_ID,
    SANDBOX_PNG,
    TEMPLATES,
    WABA_ID,
    AwsError,
    MediaStore,
    check_meta_message,
    mime_of,
    phone_hex_of,
    rest_error,
    template_id,
    template_problem,
    validation,
    waba_hex,
)

log = logging.getLogger("wecare.sandbox")


class Sandbox:
    def __init__(
        self,
        log_writer: LogWriter,
        sink: EventSink | None,
        config: Config,
        region: str = "us-east-1",
        media_store: MediaStore | None = None,
        links_base: str = "",
    ):
        self.customer = Customer(links_base)
        self.payments = None  # the payment provider (localrun.sandbox.payments), for WhatsApp order payments
        self.orders: dict[tuple[str, str], dict[str, Any]] = {}  # (to, reference_id) -> the order_details sent
        self.log = log_writer
        self.media_store = media_store
        self.sink = sink
        self.config = config
        self.region = region
        self.account = "000000000000"
        self._media: dict[str, tuple[str, str]] = {}  # media id -> (phone hex, mime type)
        self._recent_sends: deque[int] = deque()
        self.accepted: dict[str, int] = defaultdict(int)
        self.flows = FlowDesk()
        self.meta = MetaDesk(self._emit_account, lambda: self.config.template_review_seconds)
        self._rng = random.Random()
        self._pairs: dict[tuple[str, str], float] = {}  # (phone, recipient) -> the last accepted send

    # --- request plumbing ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v1/whatsapp/send", self._rest(self.send_whatsapp_message))
        app.router.add_post("/v1/whatsapp/media", self._rest(self.post_media))
        app.router.add_post("/v1/whatsapp/media/get", self._rest(self.get_media))
        app.router.add_get("/v1/whatsapp/template/list", self._rest(self.list_templates))
        app.router.add_get("/v1/whatsapp/template", self._rest(self.get_template))
        app.router.add_post("/v1/whatsapp/template/put", self._rest(self.create_template))
        app.router.add_post("/v1/whatsapp/template/create", self._rest(self.create_template_from_library))
        app.router.add_post("/v1/whatsapp/template/media", self._rest(self.template_media))
        app.router.add_post("/v1/whatsapp/template", self._rest(self.update_template))
        app.router.add_delete("/v1/whatsapp/template", self._rest(self.delete_template))
        flows = self.flows
        for method, path, operation in (
            ("POST", "/v1/whatsapp/flow/create", flows.create),
            ("POST", "/v1/whatsapp/flow/update", flows.update),
            ("POST", "/v1/whatsapp/flow/assets/update", flows.update_assets),
            ("POST", "/v1/whatsapp/flow/publish", flows.publish),
            ("POST", "/v1/whatsapp/flow/deprecate", flows.deprecate),
            ("GET", "/v1/whatsapp/flow", flows.get),
            ("GET", "/v1/whatsapp/flow/list", flows.list),
            ("DELETE", "/v1/whatsapp/flow", flows.delete),
        ):
            app.router.add_route(method, path, self._rest(_flow_call(operation)))
        app.router.add_get("/v1/whatsapp/flow/preview", self._rest(self.flow_preview, with_request=True))
        app.router.add_post("/", self.json_protocol)
        app.router.add_get("/sandbox/health", self.health)
        app.router.add_get("/sandbox/config", self.get_config)
        app.router.add_post("/sandbox/config", self.set_config)
        app.router.add_post("/sandbox/inbound", self.customer_writes)
        app.router.add_get("/sandbox/flows/sent", self.flow_tokens_sent)
        app.router.add_get("/sandbox/links/opened", self.links_opened)
        app.router.add_post("/sandbox/payments/order", self.customer_pays_order)
        app.router.add_post("/sandbox/flows/reply", self.customer_answers)
        app.router.add_get("/sandbox/flows/{flow_id}/preview", self.flow_preview_page)
        app.router.add_post("/sandbox/templates/status", self.template_moves)
        app.router.add_post("/sandbox/quality", self.quality_changes)
        return app

    def _rest(self, handler, with_request: bool = False):
        async def handle(request: web.Request) -> web.Response:
            if not request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
                return rest_error(AwsError("UnrecognizedClientException", "missing SigV4 signature", 403))
            try:
                body = await request.json() if request.method == "POST" else dict(request.query)
                if not isinstance(body, dict):
                    raise validation("the request body must be a JSON object")
                result = await (handler(body, request) if with_request else handler(body))
            except AwsError as exc:
                return rest_error(exc)
            except (ValueError, json.JSONDecodeError) as exc:
                return rest_error(validation(f"malformed request: {exc}"))
            return web.json_response(result)

        return handle

    async def json_protocol(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        try:
            if not request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
                raise AwsError("UnrecognizedClientException", "missing SigV4 signature", 400)
            if target != "PinpointSMSVoiceV2.SendTextMessage":
                raise AwsError("UnknownOperationException", f"the sandbox does not serve {target or 'that'}", 400)
            body = json.loads(await request.read())
            result = await self.send_text_message(body)
        except AwsError as exc:
            payload = {"__type": exc.code, "Message": exc.message}
            if exc.code == "ValidationException":
                payload["Reason"] = "OTHER"
            return web.json_response(payload, status=exc.status, content_type="application/x-amz-json-1.0")
        except (ValueError, json.JSONDecodeError) as exc:
            payload = {"__type": "ValidationException", "Message": f"malformed request: {exc}", "Reason": "OTHER"}
            return web.json_response(payload, status=400, content_type="application/x-amz-json-1.0")
        return web.json_response(result, content_type="application/x-amz-json-1.0")

    async def _delays(self) -> None:
        if self.config.accept_delay_ms:
            await asyncio.sleep(self.config.accept_delay_ms / 1000)

    # --- EUM Social ---------------------------------------------------------------------------------
    async def send_whatsapp_message(self, body: dict[str, Any]) -> dict[str, Any]:
        origination = body.get("originationPhoneNumberId", "")
        phone_hex = phone_hex_of(origination)
        if not API_VERSION.match(str(body.get("metaApiVersion", ""))):
            raise validation("metaApiVersion must look like v20.0")
        try:
            raw = base64.b64decode(body.get("message", ""), validate=True)
        except (binascii.Error, TypeError):
            raise validation("message must be base64 (a blob)") from None
        if not 0 < len(raw) <= MAX_MESSAGE_BYTES:
            raise validation(f"message must be 1 to {MAX_MESSAGE_BYTES} bytes")
        try:
            message = json.loads(raw)
        except ValueError:
            raise validation("message is not a JSON object (Meta's message object)") from None
        if not isinstance(message, dict):
            raise validation("message is not a JSON object (Meta's message object)")
        check_meta_message(message)
        try:
            flow = self.flows.token_of(message)
        except FlowError as exc:
            raise AwsError(exc.code, exc.message, exc.status) from None
        await self._delays()
        if self.config.throttle_next > 0:
            self.config.throttle_next -= 1
            raise AwsError("ThrottledRequestException", "Rate exceeded", 429)
        if self.config.error_next > 0:
            self.config.error_next -= 1
            raise AwsError("InternalServiceException", "An internal error occurred", 500)
        now_ns = time.time_ns()
        if self.config.account_limit > 0:
            while self._recent_sends and self._recent_sends[0] <= now_ns - 1_000_000_000:
                self._recent_sends.popleft()
            if len(self._recent_sends) + 1 > self.config.account_limit:
                raise AwsError("ThrottledRequestException", "Rate exceeded", 429)
            self._recent_sends.append(now_ns)

        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode().rstrip("=").replace("/", "_")
        to = str(message["to"])
        callback = message.get("biz_opaque_callback_data", "")
        self.log.append(Call(now_ns, "WHATSAPP", origination, to, wamid, callback))
        self.accepted["WHATSAPP"] += 1
        if flow is not None:
            self.flows.record(SentFlow(flow[0], flow[1], to, phone_hex, wamid, now_ns))
        self._emit_statuses(phone_hex, to, wamid, callback, message)
        await self.customer.receives(to, message, self.config.open_links_share)
        self._note_order(phone_hex, to, wamid, message)
        if self.config.response_delay_ms:
            await asyncio.sleep(self.config.response_delay_ms / 1000)
        return {"messageId": wamid}

    def _emit_statuses(self, phone_hex: str, to: str, wamid: str, callback: str, message: dict[str, Any]) -> None:
        if self.sink is None:
            return
        now = time.time()
        failure: tuple[str, str] | None = None
        if self._pair_breached(phone_hex, to, now):
            failure = ("131056", "(Business Account, Consumer Account) pair rate limit hit")
        elif self.config.rate_limit_next > 0:
            self.config.rate_limit_next -= 1
            failure = ("130429", "Rate limit hit")
        elif (code := self.config.fail_recipients.get(to) or self.config.fail_recipients.get("+" + to)) is not None:
            failure = (str(code), "Message failed to send")
        elif (flow := self.flows.token_of(message)) and (problem := self.flows.problem(flow[1])):
            failure = problem
        elif message.get("type") == "template":
            created = [c.meta() for c in self.meta.created.values()]
            failure = template_problem(message, created) or self._limited(message)
        elif message.get("type") in ("image", "audio", "video", "document", "sticker"):
            media_id = message[message["type"]].get("id")
            if media_id and self._media.get(media_id, ("", ""))[0] != phone_hex:
                failure = ("131053", "Media upload error")
        c = self.config
        plan = [("sent", c.sent_after)] if "sent" in c.statuses else []
        if failure:
            plan.append(("failed", c.sent_after + 0.01))
        else:
            plan += [(s, getattr(c, f"{s}_after")) for s in ("delivered", "read") if s in c.statuses]
        for status, after in plan:
            event = status_event(
                phone_hex=phone_hex,
                to=to,
                wamid=wamid,
                status=status,
                at=now + after,
                callback=callback,
                error=failure if status == "failed" else None,
                region=self.region,
                account=self.account,
            )
            self.sink.schedule(now + after, event)

    async def post_media(self, body: dict[str, Any]) -> dict[str, Any]:
        origination = body.get("originationPhoneNumberId", "")
        phone_hex = phone_hex_of(origination)
        sources = [k for k in ("sourceS3File", "sourceS3PresignedUrl") if body.get(k)]
        if len(sources) != 1:
            raise AwsError("InvalidParametersException", "exactly one of sourceS3File and sourceS3PresignedUrl", 400)
        source = body[sources[0]]
        if sources[0] == "sourceS3File":
            if not source.get("bucketName") or not source.get("key"):
                raise validation("sourceS3File needs bucketName and key")
            ref, mime = f"s3://{source['bucketName']}/{source['key']}", mime_of(source["key"])
        else:
            headers = source.get("headers") or {}
            if not source.get("url") or "Content-Type" not in headers:
                raise validation("sourceS3PresignedUrl needs url and headers with Content-Type")
            ref, mime = source["url"].split("?")[0], headers["Content-Type"]
        await self._delays()
        media_id = str(secrets.randbelow(10**15)).rjust(15, "1")
        self._media[media_id] = (phone_hex, mime)
        self.log.append(Call(time.time_ns(), "MEDIA_POST", origination, "", media_id, ref))
        self.accepted["MEDIA_POST"] += 1
        return {"mediaId": media_id}

    async def get_media(self, body: dict[str, Any]) -> dict[str, Any]:
        origination = body.get("originationPhoneNumberId", "")
        phone_hex_of(origination)
        media_id = body.get("mediaId", "")
        if not MEDIA_ID.match(str(media_id)):
            raise validation("mediaId must be 1 to 100 letters and digits")
        destinations = [k for k in ("destinationS3File", "destinationS3PresignedUrl") if body.get(k)]
        if len(destinations) > 1 or (not destinations and not body.get("metadataOnly")):
            raise AwsError("InvalidParametersException", "one destination, or metadataOnly", 400)
        await self._delays()
        mime = self._media.get(media_id, ("", "image/jpeg"))[1]
        # The sandbox has no bytes of the customer's media. Like the real service it writes the copy under the
        # destination prefix as `<prefix><media id><extension>` (a small stand-in object), when it was given a
        # place to write (the embedded AWS); otherwise it only answers. A copy that cannot be written is an
        # error, not an accepted call.
        destination = body.get("destinationS3File")
        if destination and self.media_store is not None:
            if not destination.get("bucketName") or not isinstance(destination.get("key", ""), str):
                raise validation("destinationS3File needs bucketName and key")
            key = f"{destination['key']}{media_id}{MEDIA_EXTENSIONS.get(mime, '.bin')}"
            data = SANDBOX_PNG if mime == "image/png" else b"sandbox media " + media_id.encode()
            try:
                await self.media_store(destination["bucketName"], key, data, mime)
            except Exception as exc:
                raise AwsError("DependencyException", f"could not write the media to S3: {exc}", 424) from exc
        self.log.append(Call(time.time_ns(), "MEDIA_GET", origination, "", media_id, ""))
        self.accepted["MEDIA_GET"] += 1
        return {"mimeType": mime, "fileSize": 12}

    async def list_templates(self, query: dict[str, Any]) -> dict[str, Any]:
        if not WABA_ID.match(query.get("id", "")):
            raise validation("id must be `waba-<32 hex>` or its ARN")
        start = int(query.get("nextToken") or 0)
        size = int(query.get("maxResults") or 50)
        if not 1 <= size <= 100:
            raise validation("maxResults must be 1 to 100")
        waba = waba_hex(query["id"])
        every = [(t, template_id(t), "APPROVED") for t in TEMPLATES] + [
            (c.meta(), c.meta_id, c.status) for c in self.meta.created.values() if c.waba_hex == waba
        ]
        page = every[start : start + size]
        out: dict[str, Any] = {
            "templates": [
                {
                    "templateName": t["name"],
                    "metaTemplateId": meta_id,
                    "templateStatus": status,
                    "templateLanguage": t["language"],
                    "templateCategory": t["category"],
                }
                for t, meta_id, status in page
            ]
        }
        if start + size < len(every):
            out["nextToken"] = str(start + size)
        return out

    async def get_template(self, query: dict[str, Any]) -> dict[str, Any]:
        if not WABA_ID.match(query.get("id", "")):
            raise validation("id must be `waba-<32 hex>` or its ARN")
        for t in TEMPLATES:
            if query.get("metaTemplateId") == template_id(t):
                meta = {**t, "id": template_id(t), "status": "APPROVED"}
                return {"template": json.dumps(meta)}
        created = self.meta.get(str(query.get("metaTemplateId", "")))
        if created is not None:
            return {"template": json.dumps(created.meta())}
        raise AwsError("ResourceNotFoundException", "template not found", 404)

    # --- Meta's review (localrun.sandbox.meta) ------------------------------------------------------------
    async def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.meta.create(waba_hex(body.get("id", "")), body)

    async def create_template_from_library(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.meta.create_from_library(waba_hex(body.get("id", "")), body)

    async def template_media(self, body: dict[str, Any]) -> dict[str, Any]:
        waba_hex(body.get("id", ""))
        return self.meta.media(body)

    async def update_template(self, body: dict[str, Any]) -> dict[str, Any]:
        waba_hex(body.get("id", ""))
        try:
            return self.meta.update(body)
        except KeyError:
            raise AwsError("ResourceNotFoundException", "template not found", 404) from None

    async def delete_template(self, query: dict[str, Any]) -> dict[str, Any]:
        waba_hex(query.get("id", ""))
        try:
            return self.meta.delete(query)
        except KeyError:
            raise AwsError("ResourceNotFoundException", "template not found", 404) from None

    def _emit_account(self, waba_hex: str, field_name: str, value: dict[str, Any], phone_hex: str = "") -> None:
        if self.sink is not None:
            now = time.time()
            event = account_event(waba_hex, field_name, value, now, self.region, self.account, phone_hex)
            self.sink.schedule(now, event)

    def _pair_breached(self, phone_hex: str, to: str, now: float) -> bool:
        """Meta's pair limit: one phone to one recipient about once every pair_gap seconds."""
        gap = self.config.pair_gap
        if gap <= 0:
            return False
        last = self._pairs.get((phone_hex, to))
        self._pairs[(phone_hex, to)] = now
        if len(self._pairs) > 200_000:
            self._pairs = {k: t for k, t in self._pairs.items() if t > now - gap}
        return last is not None and now - last < gap

    def _limited(self, message: dict[str, Any]) -> tuple[str, str] | None:
        """131049 for a share of marketing template messages (Meta's per-user marketing limit)."""
        if self.config.limited_share <= 0:
            return None
        body = message["template"]
        name, language = body.get("name"), (body.get("language") or {}).get("code")
        known = [t["category"] for t in TEMPLATES if (t["name"], t["language"]) == (name, language)] + [
            c.category for c in self.meta.created.values() if (c.name, c.language) == (name, language)
        ]
        if "MARKETING" in known and self._rng.random() < self.config.limited_share:
            return "131049", "This message was not delivered to maintain healthy ecosystem engagement."
        return None

    # --- EUM SMS ------------------------------------------------------------------------------------
    async def send_text_message(self, body: dict[str, Any]) -> dict[str, Any]:
        to = str(body.get("DestinationPhoneNumber", ""))
        if not E164.match(to) or not to.startswith("+"):
            raise validation("DestinationPhoneNumber must be E.164")
        text = body.get("MessageBody", "")
        if not isinstance(text, str) or not 0 < len(text) <= 1600:
            raise validation("MessageBody must be 1 to 1600 characters")
        origin = body.get("OriginationIdentity", "")
        if not origin:
            raise validation("OriginationIdentity is required by the sandbox")
        context = body.get("Context") or {}
        if not isinstance(context, dict) or len(context) > 5:
            raise validation("Context holds at most 5 entries")
        await self._delays()
        if self.config.throttle_next > 0:
            self.config.throttle_next -= 1
            raise AwsError("ThrottlingException", "Rate exceeded", 400)
        message_id = str(uuid.uuid4())
        ref = str(context.get("ref", ""))
        self.log.append(Call(time.time_ns(), "SMS", origin, to, message_id, ref))
        self.accepted["SMS"] += 1
        await self.customer.receives(to, {"type": "text", "text": {"body": text}}, self.config.open_links_share)
        return {"MessageId": message_id}

    # --- control ------------------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        pending = self.sink.pending() if self.sink else 0
        return web.json_response({"ok": True, "accepted": dict(self.accepted), "events_pending": pending})

    async def template_moves(self, request: web.Request) -> web.Response:
        """{"name", "language", "event": "PAUSED|DISABLED|REINSTATED|...", "reason"}: Meta moves a template the
        sandbox reviewed, and says so in a message_template_status_update event."""
        body = await request.json()
        try:
            t = self.meta.move(
                str(body.get("name", "")),
                str(body.get("language", "")),
                str(body.get("event", "")),
                str(body.get("reason", "")),
            )
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except KeyError as exc:
            return web.json_response({"error": f"no template {exc}"}, status=404)
        # When it moved, on the sandbox log's clock: a send logged before it was judged by the old status, one
        # after by the new (a send is judged in the same step it is logged in), so a test can tell them apart.
        return web.json_response({**t.meta(), "moved_at_ns": time.time_ns()})

    async def quality_changes(self, request: web.Request) -> web.Response:
        """{"phone": "<phone number id>", "event": "FLAGGED|UNFLAGGED|DOWNGRADE|UPGRADE", "current_limit": "TIER_2K"}:
        a phone_number_quality_update event for the phone (its WABA as the sandbox's events name it)."""
        body = await request.json()
        try:
            phone_hex = phone_hex_of(body.get("phone", ""))
        except AwsError as exc:
            return web.json_response({"error": exc.message}, status=400)
        value = {"display_phone_number": display_number(phone_hex), "event": str(body.get("event", "")).upper()}
        if body.get("current_limit"):
            value["current_limit"] = str(body["current_limit"])
        self._emit_account(phone_hex[::-1], "phone_number_quality_update", value, phone_hex)
        return web.json_response(value)

    async def get_config(self, request: web.Request) -> web.Response:
        return web.json_response(asdict(self.config))

    async def set_config(self, request: web.Request) -> web.Response:
        try:
            self.config.update(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(self.config))

    async def customer_writes(self, request: web.Request) -> web.Response:
        """{"phone": "<phone number id>", "from": "+91...", "text": "...", "name": "..."}: an inbound message;
        with `"image": {"mime_type": "image/png", "caption": "..."}` instead of text, a picture (its bytes are the
        sandbox's own small image, written where messaging asks GetWhatsAppMessageMedia to copy it)."""
        body = await request.json()
        try:
            phone_hex = phone_hex_of(body.get("phone", ""))
        except AwsError as exc:
            return web.json_response({"error": exc.message}, status=400)
        sender = str(body.get("from", ""))
        if not E164.match(sender):
            return web.json_response({"error": "from must be a phone number"}, status=400)
        if self.sink is None:
            return web.json_response({"error": "no ingest configured"}, status=409)
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode().rstrip("=").replace("/", "_")
        name, now = str(body.get("name", "")), time.time()
        image = body.get("image")
        if isinstance(image, dict):
            mime = str(image.get("mime_type") or "image/png")
            if mime not in ("image/png", "image/jpeg"):
                return web.json_response({"error": "image.mime_type must be image/png or image/jpeg"}, status=400)
            media_id = str(secrets.randbelow(10**15)).rjust(15, "2")
            self._media[media_id] = (phone_hex, mime)
            caption = str(image.get("caption", ""))
            event = inbound_image_event(phone_hex, sender, wamid, media_id, mime, caption, name, now, self.region)
        else:
            event = inbound_text_event(phone_hex, sender, wamid, str(body.get("text", "")), name, now, self.region)
        self.sink.schedule(time.time(), event)
        return web.json_response({"wamid": wamid})

    # --- Flows -------------------------------------------------------------------------------------------
    async def flow_preview(self, query: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return await _flow_call(lambda q: self.flows.preview(q, request.host))(query)

    async def flow_preview_page(self, request: web.Request) -> web.Response:
        page = self.flows.preview_page(request.match_info["flow_id"], request.query.get("token", ""))
        if page is None:
            return web.json_response({"error": "no such preview (or it was invalidated)"}, status=404)
        return web.json_response(page)

    def _note_order(self, phone_hex: str, to: str, wamid: str, message: dict[str, Any]) -> None:
        interactive = message.get("interactive") if message.get("type") == "interactive" else None
        if not isinstance(interactive, dict) or interactive.get("type") != "order_details":
            return
        parameters = (interactive.get("action") or {}).get("parameters") or {}
        total = (parameters.get("total_amount") or {}).get("value", 0)
        reference = str(parameters.get("reference_id", ""))
        self.orders[(to.lstrip("+"), reference)] = {"phone_hex": phone_hex, "wamid": wamid, "amount": int(total)}

    async def customer_pays_order(self, request: web.Request) -> web.Response:
        """{"to": "+91...", "reference_id": "...", "outcome"?: "failed"}: the customer pays an order_details they
        got, in the chat: the payment provider's payment and webhooks, and WhatsApp's payment statuses (pending,
        then captured or failed) to ingest."""
        body = await request.json()
        order = self.orders.get((str(body.get("to", "")).lstrip("+"), str(body.get("reference_id", ""))))
        if order is None:
            return web.json_response({"error": "the sandbox sent no such order_details to that number"}, status=404)
        if self.payments is None or self.sink is None:
            return web.json_response({"error": "no payment provider or ingest configured"}, status=409)
        payment = self.payments.pay_order(str(body["reference_id"]), order["amount"], str(body.get("outcome", "")))
        now = time.time()
        for i, status in enumerate(("pending", payment["status"])):
            event = payment_status_event(
                phone_hex=order["phone_hex"],
                to=str(body["to"]),
                wamid=order["wamid"],
                status=status,
                at=now + i,
                reference_id=str(body["reference_id"]),
                amount=order["amount"],
                payment_id=payment["id"],
                region=self.region,
                account=self.account,
            )
            self.sink.schedule(now + 0.05 * i, event)
        return web.json_response(payment)

    async def links_opened(self, request: web.Request) -> web.Response:
        """What the customer fetched: every preview and open of a short link, by recipient."""
        return web.json_response({"opened": self.customer.record(request.query.get("to", ""))})

    async def flow_tokens_sent(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": self.flows.sent_to(request.query.get("to", ""))})

    async def customer_answers(self, request: web.Request) -> web.Response:
        """{"flow_token": "...", "response": {answers}, "wamid"?, "from"?}: the recipient fills the form in."""
        if self.sink is None:
            return web.json_response({"error": "no ingest configured"}, status=409)
        try:
            body = await request.json()
            wamid, event = self.flows.reply_event(body if isinstance(body, dict) else {}, self.region)
        except FlowError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except ValueError:
            return web.json_response({"error": "send a JSON object"}, status=400)
        self.sink.schedule(time.time(), event)
        return web.json_response({"wamid": wamid})


def _flow_call(operation):
    """A Flow API operation as a rest handler: the WABA id checked, the desk's refusals as AWS errors."""

    async def handle(body: dict[str, Any]) -> dict[str, Any]:
        if not WABA_ID.match(str(body.get("id", ""))):
            raise validation("id must be `waba-<32 hex>` or its ARN")
        try:
            return operation(body)
        except FlowError as exc:
            raise AwsError(exc.code, exc.message, exc.status) from None

    return handle
