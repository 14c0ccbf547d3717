"""A form as Meta's Flow JSON, and the message content that sends it. No I/O.

One screen (`FORM`, terminal): an optional TextHeading and TextBody, one component a field, and a Footer whose
`complete` action carries every field's value (`${form.<key>}`) as the payload, which comes back as the
`response_json` of the customer's `nfm_reply`, beside the flow token.

Meta's Flow JSON (developers.facebook.com/docs/whatsapp/flows/reference/flowjson and .../components), version
7.3, the version Meta recommends for publishing: since 4.0 the input components need no Form wrapper (their
values are still `${form.<name>}`); since 5.0 DatePicker takes and answers dates as `YYYY-MM-DD`; since 6.2
TextInput takes a `pattern` for the text and number input types. Component by field type:

  TEXT             TextInput, input-type text (email for a field written to the contact's email),
                   min-chars, max-chars, pattern
  NUMBER           TextInput, input-type number, pattern for the allowed decimal places
  DATE             DatePicker, min-date, max-date
  SINGLE_CHOICE    RadioButtonsGroup, data-source [{id, title}]
  MULTIPLE_CHOICE  CheckboxGroup, data-source, min-selected-items, max-selected-items
  OPT_IN           OptIn

The flow message (inside the 24-hour window) is an `interactive` of type `flow` with flow_message_version 3 and
a `navigate` action to the screen; outside the window a template with a FLOW button takes the token as the
button's `action` parameter."""

from __future__ import annotations

import json
from typing import Any

from services.commerce.domain.forms import Field, FieldType, Form

VERSION = "7.3"
SCREEN = "FORM"
FLOW_MESSAGE_VERSION = "3"


def flow_json(form: Form) -> dict[str, Any]:
    definition = form.definition
    children: list[dict[str, Any]] = []
    if definition.heading:
        children.append({"type": "TextHeading", "text": definition.heading})
    if definition.description:
        children.append({"type": "TextBody", "text": definition.description})
    children += [component(f) for f in definition.fields]
    children.append(
        {
            "type": "Footer",
            "label": definition.submit_label,
            "on-click-action": {
                "name": "complete",
                "payload": {f.key: "${form." + f.key + "}" for f in definition.fields},
            },
        }
    )
    screen = {
        "id": SCREEN,
        "title": definition.display_name,
        "terminal": True,
        "success": True,
        "layout": {"type": "SingleColumnLayout", "children": children},
    }
    return {"version": VERSION, "screens": [screen]}


def encoded(form: Form) -> bytes:
    """The Flow JSON as EUM Social takes it (flowJson is a blob)."""
    return json.dumps(flow_json(form), ensure_ascii=False, separators=(",", ":")).encode()


def component(f: Field) -> dict[str, Any]:
    base: dict[str, Any] = {"name": f.key, "label": f.label}
    if f.required:
        base["required"] = True
    if f.type is FieldType.TEXT:
        out = {"type": "TextInput", **base, "input-type": "email" if f.contact_field == "email" else "text"}
        if f.min_length:
            out["min-chars"] = f.min_length
        if f.max_length:
            out["max-chars"] = f.max_length
        if f.pattern and f.contact_field != "email":  # Meta takes a pattern for text, not email inputs
            out["pattern"] = f.pattern
    elif f.type is FieldType.NUMBER:
        out = {"type": "TextInput", **base, "input-type": "number", "pattern": number_pattern(f.decimal_places)}
    elif f.type is FieldType.DATE:
        out = {"type": "DatePicker", **base}
        if f.min_date:
            out["min-date"] = f.min_date
        if f.max_date:
            out["max-date"] = f.max_date
    elif f.type is FieldType.SINGLE_CHOICE:
        out = {"type": "RadioButtonsGroup", **base, "data-source": _options(f)}
    elif f.type is FieldType.MULTIPLE_CHOICE:
        out = {"type": "CheckboxGroup", **base, "data-source": _options(f)}
        if f.min_selected:
            out["min-selected-items"] = f.min_selected
        if f.max_selected:
            out["max-selected-items"] = f.max_selected
    else:
        out = {"type": "OptIn", **base}
    if f.helper_text:
        out["helper-text"] = f.helper_text
    return out


def number_pattern(decimal_places: int) -> str:
    """What a number field accepts as typed: an optional minus, digits, and at most the allowed decimals."""
    if decimal_places == 0:
        return r"^-?[0-9]+$"
    return r"^-?[0-9]+([.][0-9]{1," + str(decimal_places) + r"})?$"


def _options(f: Field) -> list[dict[str, str]]:
    return [{"id": o.id, "title": o.title} for o in f.options]


def interactive(form: Form, flow_token: str) -> dict[str, Any]:
    """Meta's `interactive` object of a flow message carrying the token."""
    definition = form.definition
    return {
        "type": "flow",
        "body": {"text": definition.invitation_text},
        "action": {
            "name": "flow",
            "parameters": {
                "flow_message_version": FLOW_MESSAGE_VERSION,
                "flow_token": flow_token,
                "flow_id": form.flow.flow_id,
                "flow_cta": definition.open_label,
                "flow_action": "navigate",
                "flow_action_payload": {"screen": SCREEN},
            },
        },
    }


def template_button(flow_token: str, index: int) -> dict[str, Any]:
    """The component of a template message that gives its FLOW button (at `index`) the token."""
    return {
        "type": "button",
        "sub_type": "flow",
        "index": str(index),
        "parameters": [{"type": "action", "action": {"flow_token": flow_token}}],
    }
