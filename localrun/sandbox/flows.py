"""WhatsApp Flows in the sandbox: EUM Social's Flow API (create, update, update assets, publish, preview,
deprecate, get, list, delete) over its rest-json wire shapes, the flow tokens of the flow messages the sandbox
accepted (an interactive `flow`, or a template whose FLOW button carries a token), and the customer who fills a
form in: its answer as the inbound `nfm_reply` EUM Social delivers.

Like the real API: Flow names are unique in a WABA (a second create with the name is a ValidationException);
Flow JSON is checked for the shape Meta checks first (a version, screens, a terminal screen with a Footer whose
action completes) and what is wrong comes back as validationErrors; only a DRAFT without errors publishes, only
a PUBLISHED Flow deprecates, only a DRAFT is deleted, and new assets turn a published Flow back into a DRAFT.
Flows live in the sandbox's memory: after a restart a message naming an unknown Flow is accepted (the real
service still knows it); one naming a known Flow that is not PUBLISHED fails like Meta's (131009).

Control (for tests): GET /sandbox/flows/sent (the tokens sent, `?to=` one recipient's), POST /sandbox/flows/reply
`{"flow_token", "response": {answers}, "wamid"?, "from"?}` (the recipient answers: an nfm_reply event, its
context the flow message's wamid)."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from localrun.sandbox.events import inbound_flow_reply_event

CATEGORIES = {
    "SIGN_UP",
    "SIGN_IN",
    "APPOINTMENT_BOOKING",
    "LEAD_GENERATION",
    "SHOPPING",
    "CONTACT_US",
    "CUSTOMER_SUPPORT",
    "SURVEY",
    "OTHER",
}
PREVIEW_DAYS = 30


class FlowError(Exception):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _validation(message: str) -> FlowError:
    return FlowError("ValidationException", message, 400)


@dataclass
class Flow:
    flow_id: str
    waba: str
    name: str
    categories: list[str]
    flow_json: dict[str, Any] | None = None
    status: str = "DRAFT"
    validation_errors: list[str] = field(default_factory=list)
    preview_token: str = ""


@dataclass(frozen=True)
class SentFlow:
    """A flow token that went out in an accepted message."""

    flow_token: str
    flow_id: str
    to: str
    phone_hex: str
    wamid: str
    t_ns: int


def check_flow_json(document: Any) -> list[str]:
    """What Meta's validation would say first, as its validationErrors strings."""
    if not isinstance(document, dict):
        return ["INVALID_FLOW_JSON: the Flow JSON is not an object"]
    errors = []
    if not isinstance(document.get("version"), str):
        errors.append("MISSING_REQUIRED_PROPERTY: version")
    screens = document.get("screens")
    if not isinstance(screens, list) or not screens:
        return [*errors, "MISSING_REQUIRED_PROPERTY: screens"]
    terminal = [s for s in screens if isinstance(s, dict) and s.get("terminal")]
    if not terminal:
        errors.append("MISSING_TERMINAL_SCREEN: a Flow needs a terminal screen")
    for screen in terminal:
        children = ((screen.get("layout") or {}).get("children")) or []
        footers = [c for c in children if isinstance(c, dict) and c.get("type") == "Footer"]
        action = (footers[0].get("on-click-action") or {}) if footers else {}
        if not footers or action.get("name") != "complete":
            errors.append(f"MISSING_FOOTER: screen {screen.get('id')} needs a Footer completing the Flow")
        names = [c.get("name") for c in children if isinstance(c, dict) and "name" in c]
        if len(names) != len(set(names)):
            errors.append(f"DUPLICATE_COMPONENT_NAME: screen {screen.get('id')}")
    return errors


def _decoded_json(blob: Any) -> Any:
    try:
        raw = base64.b64decode(blob or "", validate=True)
    except (binascii.Error, TypeError):
        raise _validation("flowJson must be base64 (a blob)") from None
    if not raw:
        raise _validation("flowJson must not be empty")
    try:
        return json.loads(raw)
    except ValueError:
        return None  # reported as a validation error, as Meta does


class FlowDesk:
    def __init__(self) -> None:
        self.flows: dict[str, Flow] = {}
        self.sent: dict[str, SentFlow] = {}

    def _flow(self, body: dict[str, Any]) -> Flow:
        flow = self.flows.get(str(body.get("flowId", "")))
        if flow is None or flow.waba != body.get("id"):
            raise FlowError("ResourceNotFoundException", "Flow not found", 404)
        return flow

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        name, categories = str(body.get("flowName", "")), body.get("categories") or []
        if not 1 <= len(name) <= 200:
            raise _validation("flowName must be 1 to 200 characters")
        if not categories or any(c not in CATEGORIES for c in categories):
            raise _validation(f"categories must be 1 to 9 of {sorted(CATEGORIES)}")
        if any(f.waba == body["id"] and f.name == name for f in self.flows.values()):
            raise _validation(f"A Flow named {name!r} already exists in this WhatsApp Business Account")
        flow = Flow(str(secrets.randbelow(10**15) + 10**15), body["id"], name, list(categories))
        if "flowJson" in body:
            flow.flow_json = _decoded_json(body["flowJson"])
            flow.validation_errors = check_flow_json(flow.flow_json)
        if body.get("publish"):
            self._publish(flow)
        self.flows[flow.flow_id] = flow
        return {"flowId": flow.flow_id, "validationErrors": flow.validation_errors}

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(body)
        if body.get("flowName"):
            flow.name = str(body["flowName"])
        if body.get("categories"):
            flow.categories = list(body["categories"])
        return {}

    def update_assets(self, body: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(body)
        if flow.status not in ("DRAFT", "PUBLISHED"):
            raise _validation(f"a {flow.status} Flow cannot change")
        flow.flow_json = _decoded_json(body.get("flowJson"))
        flow.validation_errors = check_flow_json(flow.flow_json)
        flow.status = "DRAFT"
        return {"validationErrors": flow.validation_errors}

    def _publish(self, flow: Flow) -> None:
        if flow.status != "DRAFT":
            raise _validation(f"only a DRAFT Flow is published; this one is {flow.status}")
        if flow.flow_json is None or flow.validation_errors:
            raise _validation("the Flow JSON has validation errors")
        flow.status = "PUBLISHED"

    def publish(self, body: dict[str, Any]) -> dict[str, Any]:
        self._publish(self._flow(body))
        return {}

    def deprecate(self, body: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(body)
        if flow.status != "PUBLISHED":
            raise _validation(f"only a PUBLISHED Flow is deprecated; this one is {flow.status}")
        flow.status = "DEPRECATED"
        return {}

    def delete(self, query: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(query)
        if flow.status != "DRAFT":
            raise _validation(f"only a DRAFT Flow is deleted; this one is {flow.status}")
        del self.flows[flow.flow_id]
        return {}

    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(query)
        return {
            "flowId": flow.flow_id,
            "flowName": flow.name,
            "flowStatus": flow.status,
            "categories": flow.categories,
            "validationErrors": flow.validation_errors,
            "jsonVersion": str((flow.flow_json or {}).get("version", "")) or "7.3",
        }

    def preview(self, query: dict[str, Any], host: str) -> dict[str, Any]:
        flow = self._flow(query)
        if not flow.preview_token or query.get("invalidate") == "true":
            flow.preview_token = secrets.token_urlsafe(12)
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=PREVIEW_DAYS)
        return {
            "flowId": flow.flow_id,
            "preview": {
                "previewUrl": f"http://{host}/sandbox/flows/{flow.flow_id}/preview?token={flow.preview_token}",
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            },
        }

    def preview_page(self, flow_id: str, token: str) -> dict[str, Any] | None:
        """What the preview URL shows: the Flow JSON, to the holder of the current preview token."""
        flow = self.flows.get(flow_id)
        if flow is None or not token or token != flow.preview_token:
            return None
        return {"flowId": flow.flow_id, "name": flow.name, "status": flow.status, "flowJson": flow.flow_json}

    def list(self, query: dict[str, Any]) -> dict[str, Any]:
        flows = sorted((f for f in self.flows.values() if f.waba == query.get("id")), key=lambda f: f.flow_id)
        start = int(query.get("nextToken") or 0)
        size = int(query.get("maxResults") or 100)
        page = flows[start : start + size]
        out: dict[str, Any] = {
            "flows": [
                {
                    "flowId": f.flow_id,
                    "flowName": f.name,
                    "flowStatus": f.status,
                    "flowCategories": f.categories,
                    "validationErrors": f.validation_errors,
                }
                for f in page
            ]
        }
        if start + size < len(flows):
            out["nextToken"] = str(start + size)
        return out

    # -- messages -------------------------------------------------------------------------------------------------

    def token_of(self, message: dict[str, Any]) -> tuple[str, str] | None:
        """(flow token, flow id) of a flow message or a template with a FLOW button; ValidationException for a
        flow message missing what the Cloud API requires."""
        if message.get("type") == "interactive" and message["interactive"].get("type") == "flow":
            action = message["interactive"].get("action") or {}
            parameters = action.get("parameters") or {}
            if action.get("name") != "flow" or str(parameters.get("flow_message_version")) != "3":
                raise _validation("interactive flow: action.name must be flow, flow_message_version 3")
            if not parameters.get("flow_id") and not parameters.get("flow_name"):
                raise _validation("interactive flow: action.parameters.flow_id is required")
            if not parameters.get("flow_cta"):
                raise _validation("interactive flow: action.parameters.flow_cta is required")
            return str(parameters.get("flow_token") or "unused"), str(parameters.get("flow_id", ""))
        if message.get("type") == "template":
            for component in message["template"].get("components") or []:
                if component.get("type") == "button" and component.get("sub_type") == "flow":
                    for parameter in component.get("parameters") or []:
                        token = (parameter.get("action") or {}).get("flow_token")
                        if parameter.get("type") == "action" and token:
                            return str(token), ""
        return None

    def problem(self, flow_id: str) -> tuple[str, str] | None:
        """Meta's verdict on sending a Flow: a known Flow must be PUBLISHED."""
        flow = self.flows.get(flow_id)
        if flow is not None and flow.status != "PUBLISHED":
            return "131009", f"Parameter value is not valid: the Flow is {flow.status}"
        return None

    def record(self, sent: SentFlow) -> None:
        self.sent[sent.flow_token] = sent

    def sent_to(self, to: str = "") -> list[dict[str, Any]]:
        return [asdict(s) for s in self.sent.values() if not to or s.to.lstrip("+") == to.lstrip("+")]

    def reply_event(self, body: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        """The nfm_reply of the customer who got the flow token, with the given answers: (wamid, event)."""
        token = str(body.get("flow_token", ""))
        sent = self.sent.get(token)
        if sent is None:
            raise FlowError("NotFound", f"the sandbox sent no flow token {token!r}", 404)
        response = body.get("response", {})
        if not isinstance(response, dict):
            raise FlowError("BadRequest", "response must be a JSON object of answers", 400)
        wamid = str(body.get("wamid") or "wamid." + base64.b64encode(secrets.token_bytes(24)).decode().rstrip("="))
        sender = str(body.get("from") or sent.to)
        event = inbound_flow_reply_event(
            sent.phone_hex,
            sender,
            wamid,
            context_wamid=sent.wamid,
            response_json=json.dumps({"flow_token": token, **response}),
            at=time.time(),
            region=region,
        )
        return wamid, event
