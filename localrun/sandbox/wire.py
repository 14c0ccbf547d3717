"""What the sandbox's AWS APIs accept on the wire, as the real services do: the id and number shapes, Meta's
message checks (what EUM Social refuses synchronously, and the template verdicts Meta sends later as failed status
events), the AWS error a refusal becomes, the template catalogue it starts with, and the small media helpers."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

PHONE_ID = re.compile(r"^phone-number-id-[0-9a-f]{32}$")
PHONE_ARN = re.compile(r"^arn:aws:social-messaging:[a-z0-9-]+:\d{12}:phone-number-id/([0-9a-f]{32})$")
WABA_ID = re.compile(r"^(waba-[0-9a-f]{32}|arn:aws:social-messaging:[a-z0-9-]+:\d{12}:waba/[0-9a-f]{32})$")
API_VERSION = re.compile(r"^v\d+\.\d+$")
E164 = re.compile(r"^\+?[1-9]\d{6,18}$")
MEDIA_ID = re.compile(r"^[A-Za-z0-9]{1,100}$")
MESSAGE_TYPES = {
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "template",
}
MAX_MESSAGE_BYTES = 2_048_000
MEDIA_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
# Writes a media copy into the bucket: (bucket, key, bytes, content type).


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small valid PNG of one colour, so a browser shows the customer's "picture"."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


SANDBOX_PNG = png(96, 64, (11, 110, 79))
MediaStore = Callable[[str, str, bytes, str], Awaitable[None]]
MAX_CALLBACK = 512

# The sandbox's template catalogue: what ListWhatsAppMessageTemplates / GetWhatsAppMessageTemplate return.
TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}],
    },
    {
        "name": "promo_offer",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "{{1}}, get {{2}} off this week only."},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Shop", "url": "https://wecare.digital/{{1}}"}]},
        ],
    },
    {
        "name": "otp_code",
        "language": "en_US",
        "category": "AUTHENTICATION",
        "components": [{"type": "BODY", "text": "{{1}} is your verification code."}],
    },
    {  # a tracked link's button: the URL is the short link's base and the value its code
        "name": "link_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Hi {{1}}, your link is ready."},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Open", "url": "https://wecare.digital/l/{{1}}"}]},
        ],
    },
    {  # a form: its FLOW button carries each recipient's flow token
        "name": "visit_feedback",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "How was your visit? It takes a minute."},
            {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Tell us", "flow_action": "navigate"}]},
        ],
    },
    {
        "name": "hello_world",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hello from WECARE."}],
    },
]


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def phone_hex_of(origination: str) -> str:
    if PHONE_ID.match(origination):
        return origination.removeprefix("phone-number-id-")
    match = PHONE_ARN.match(origination)
    if match:
        return match.group(1)
    raise validation("originationPhoneNumberId must be `phone-number-id-<32 hex>` or its ARN")


def check_meta_message(message: dict[str, Any]) -> None:
    """What EUM Social / the Cloud API refuse synchronously."""
    if message.get("messaging_product") != "whatsapp":
        raise validation("message.messaging_product must be 'whatsapp'")
    to = str(message.get("to", ""))
    if not E164.match(to):
        raise validation("message.to must be a phone number")
    kind = message.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise validation(f"message.type {kind!r} is not supported")
    body = message.get(kind)
    if not isinstance(body, dict):
        raise validation(f"message.{kind} is required for type {kind}")
    callback = message.get("biz_opaque_callback_data", "")
    if not isinstance(callback, str) or len(callback) > MAX_CALLBACK:
        raise validation(f"biz_opaque_callback_data must be a string of at most {MAX_CALLBACK} characters")
    if kind == "text" and not (isinstance(body.get("body"), str) and 0 < len(body["body"]) <= 4096):
        raise validation("message.text.body must be 1 to 4096 characters")
    if kind in ("image", "audio", "video", "document", "sticker") and bool(body.get("id")) == bool(body.get("link")):
        raise validation(f"message.{kind} needs exactly one of id and link")
    if kind == "template":
        if not body.get("name") or not isinstance(body.get("language"), dict) or not body["language"].get("code"):
            raise validation("message.template needs name and language.code")
    if kind == "location" and not ("latitude" in body and "longitude" in body):
        raise validation("message.location needs latitude and longitude")
    if kind == "reaction" and not body.get("message_id"):
        raise validation("message.reaction.message_id is required")


def template_problem(message: dict[str, Any], created: list[dict[str, Any]] = ()) -> tuple[str, str] | None:
    """Meta's asynchronous verdict on a template message: (code, title), or None when it is fine. `created`: the
    templates created in the sandbox (Meta's JSON, with their status)."""
    body = message["template"]
    found = next(
        (t for t in [*TEMPLATES, *created] if t["name"] == body["name"] and t["language"] == body["language"]["code"]),
        None,
    )
    if found is None or found.get("status", "APPROVED") not in ("APPROVED", "PAUSED", "DISABLED"):
        return "132001", "Template name does not exist in the translation"
    if found.get("status") == "PAUSED":
        return "132015", "Template is paused"
    if found.get("status") == "DISABLED":
        return "132016", "Template is disabled"
    wanted = {c["type"].lower(): len(re.findall(r"\{\{\w+\}\}", c.get("text", ""))) for c in found["components"]}
    given = {c.get("type"): len(c.get("parameters", [])) for c in body.get("components", [])}
    if wanted.get("body", 0) != given.get("body", 0):
        return "132000", "Number of parameters does not match the expected number of params"
    if any(c["type"] == "HEADER" and c.get("format") in ("IMAGE", "VIDEO", "DOCUMENT") for c in found["components"]):
        if given.get("header", 0) != 1:
            return "132012", "Parameter format does not match format in the created template"
    return None


def waba_hex(waba: str) -> str:
    """`waba-<hex>` or its ARN -> the hex; ValidationException otherwise."""
    if not WABA_ID.match(waba or ""):
        raise validation("id must be `waba-<32 hex>` or its ARN")
    return waba.rsplit("/", 1)[-1].removeprefix("waba-")


def template_id(t: dict[str, Any]) -> str:
    return str(zlib.crc32(f"{t['name']}.{t['language']}".encode())).rjust(15, "7")


def mime_of(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "webp": "image/webp",
        "mp4": "video/mp4",
        "pdf": "application/pdf",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
    }.get(ext, "application/octet-stream")


def rest_error(exc: AwsError) -> web.Response:
    return web.json_response(
        {"message": exc.message}, status=exc.status, headers={"x-amzn-ErrorType": f"{exc.code}:http://sandbox/"}
    )
