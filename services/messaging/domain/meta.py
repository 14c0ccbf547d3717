"""Meta's WhatsApp message object (Cloud API `messages`), built from an outbound message, as EUM Social's
SendWhatsAppMessage takes it. Every message carries `biz_opaque_callback_data` (`<id>` or `<id>|<key>`) so
that status events find it again, even after a crash."""

from __future__ import annotations

import json
import re
from typing import Any

from services.messaging.domain import passthrough
from services.messaging.domain.model import Category, OutboundMessage, Template


def media_keys(m: OutboundMessage) -> list[str]:
    """The outgoing media objects the message needs registered with the sending phone (media ids)."""
    keys = []
    media = m.content.get("media")
    if media and media.get("media_key"):
        keys.append(media["media_key"])
    header = (m.content.get("template") or {}).get("header_media")
    if header and header.get("media_key"):
        keys.append(header["media_key"])
    return keys


def _media_object(body: dict[str, Any], media_ids: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": media_ids[body["media_key"]]}
    if body.get("caption"):
        out["caption"] = body["caption"]
    if body.get("filename"):
        out["filename"] = body["filename"]
    return out


def message_object(m: OutboundMessage, media_ids: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": m.recipient,
        "biz_opaque_callback_data": m.callback_data,
    }
    if m.extra.get("context_wamid"):
        out["context"] = {"message_id": m.extra["context_wamid"]}
    content = m.content
    if "text" in content:
        out["type"] = "text"
        out["text"] = {"body": content["text"]["body"], "preview_url": bool(content["text"].get("preview_url"))}
    elif "media" in content:
        kind = content["media"]["kind"].removeprefix("MEDIA_KIND_").lower()
        out["type"] = kind
        out[kind] = _media_object(content["media"], media_ids)
        if kind in ("audio", "sticker"):
            out[kind].pop("caption", None)
        if kind != "document":
            out[kind].pop("filename", None)
    elif "template" in content:
        out["type"] = "template"
        out["template"] = _template(content["template"], media_ids)
    elif "location" in content:
        loc = content["location"]
        out["type"] = "location"
        out["location"] = {
            "latitude": loc.get("latitude", 0.0),
            "longitude": loc.get("longitude", 0.0),
            **({"name": loc["name"]} if loc.get("name") else {}),
            **({"address": loc["address"]} if loc.get("address") else {}),
        }
    elif "contacts" in content:
        out["type"] = "contacts"
        out["contacts"] = [_card(c) for c in content["contacts"]["contacts"]]
    elif "interactive" in content:
        out["type"] = "interactive"
        out["interactive"] = _interactive(content["interactive"])
    elif "reaction" in content:
        out["type"] = "reaction"
        out["reaction"] = {
            "message_id": m.extra.get("reaction_wamid", ""),
            "emoji": content["reaction"].get("emoji", ""),
        }
    else:
        raise ValueError(f"message {m.id} has no WhatsApp content")
    return out


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _template(body: dict[str, Any], media_ids: dict[str, str]) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    header: list[dict[str, Any]] = [{"type": "text", "text": p["text"]} for p in body.get("header_parameters") or []]
    if body.get("header_media"):
        kind = body["header_media"]["kind"].removeprefix("MEDIA_KIND_").lower()
        header.append({"type": kind, kind: _media_object(body["header_media"], media_ids)})
    if header:
        components.append({"type": "header", "parameters": header})
    params = []
    for p in body.get("body_parameters") or []:
        param = {"type": "text", "text": p["text"]}
        if p.get("name"):
            param["parameter_name"] = p["name"]
        params.append(param)
    if params:
        components.append({"type": "body", "parameters": params})
    for b in body.get("button_parameters") or []:
        value = {"type": "payload", "payload": b["text"]} if b["sub_type"] == "quick_reply" else None
        if b["sub_type"] == "copy_code":
            value = {"type": "coupon_code", "coupon_code": b["text"]}
        components.append(
            {
                "type": "button",
                "sub_type": b["sub_type"],
                "index": str(int(b.get("index", 0))),
                "parameters": [value or {"type": "text", "text": b["text"]}],
            }
        )
    if body.get("flow_button_json"):
        components.append(passthrough.loads(body["flow_button_json"]))
    out: dict[str, Any] = {"name": body["template_name"], "language": {"code": body["language"]}}
    if components:
        out["components"] = components
    return out


def _card(card: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": {"formatted_name": card["formatted_name"], "first_name": card["formatted_name"]}}
    if card.get("phone_numbers"):
        out["phones"] = [{"phone": p} for p in card["phone_numbers"]]
    if card.get("emails"):
        out["emails"] = [{"email": e} for e in card["emails"]]
    if card.get("organization"):
        out["org"] = {"company": card["organization"]}
    return out


def _interactive(body: dict[str, Any]) -> dict[str, Any]:
    if body["kind"] in passthrough.TYPES:
        return passthrough.loads(body["interactive_json"])
    kind = body["kind"].removeprefix("INTERACTIVE_KIND_").lower()
    out: dict[str, Any] = {"type": kind, "body": {"text": body["body_text"]}}
    if body.get("header_text"):
        out["header"] = {"type": "text", "text": body["header_text"]}
    if body.get("footer_text"):
        out["footer"] = {"text": body["footer_text"]}
    if kind == "button":
        out["action"] = {
            "buttons": [{"type": "reply", "reply": {"id": b["id"], "title": b["title"]}} for b in body["buttons"]]
        }
    elif kind == "list":
        out["action"] = {
            "button": body["list_button_text"],
            "sections": [
                {
                    **({"title": s["title"]} if s.get("title") else {}),
                    "rows": [
                        {
                            "id": r["id"],
                            "title": r["title"],
                            **({"description": r["description"]} if r.get("description") else {}),
                        }
                        for r in s.get("rows") or []
                    ],
                }
                for s in body["sections"]
            ],
        }
    elif kind == "cta_url":
        out["action"] = {
            "name": "cta_url",
            "parameters": {"display_text": body["cta_display_text"], "url": body["cta_url"]},
        }
    return out


PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def parse_template(summary: dict[str, Any], definition: str, waba: str, now: float) -> Template:
    """A catalogue entry from ListWhatsAppMessageTemplates' summary and GetWhatsAppMessageTemplate's JSON
    (Meta's template: components HEADER/BODY/FOOTER/BUTTONS with {{n}} or {{name}} placeholders)."""
    try:
        body = json.loads(definition) if definition else {}
    except ValueError:
        body = {}
    components = body.get("components") or []
    body_text, body_vars, header_vars, header_kind, buttons = "", [], [], "", []
    for c in components:
        kind = str(c.get("type", "")).upper()
        if kind == "BODY":
            body_text = c.get("text", "")
            body_vars = _unique(PLACEHOLDER.findall(body_text))
        elif kind == "HEADER":
            if str(c.get("format", "TEXT")).upper() in ("IMAGE", "VIDEO", "DOCUMENT"):
                header_kind = str(c["format"]).upper()
            else:
                header_vars = _unique(PLACEHOLDER.findall(c.get("text", "")))
        elif kind == "BUTTONS":
            for i, b in enumerate(c.get("buttons") or []):
                if PLACEHOLDER.search(b.get("url", "")) or str(b.get("type", "")).upper() == "COPY_CODE":
                    buttons.append(i)
    category = str(summary.get("templateCategory") or body.get("category") or "UTILITY").upper()
    return Template(
        template_name=str(summary.get("templateName") or body.get("name")),
        language=str(summary.get("templateLanguage") or body.get("language")),
        category=Category(category) if category in Category.__members__ else Category.UTILITY,
        template_status=str(summary.get("templateStatus") or body.get("status") or ""),
        waba=waba,
        meta_template_id=str(summary.get("metaTemplateId") or body.get("id") or ""),
        body_text=body_text,
        body_variables=tuple(body_vars),
        header_variables=tuple(header_vars),
        header_media_kind=header_kind,
        dynamic_buttons=tuple(buttons),
        sync_time=now,
        components=tuple(c for c in components if isinstance(c, dict)),
        parameter_format=str(body.get("parameter_format") or "POSITIONAL").upper(),
    )


def _unique(names: list[str]) -> list[str]:
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen
