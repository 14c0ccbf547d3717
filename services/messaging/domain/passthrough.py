"""Meta's own objects that a message carries as they are (the commerce service builds them): the `interactive`
object of a WhatsApp Flow, an `order_details` and an `order_status` message, and a template's FLOW button
component. No I/O.

Messaging does not build these, it checks them before accepting them, so a malformed one is INVALID_ARGUMENT
naming the field instead of a failure at Meta later: the object's `type` is the kind's; a flow carries a flow
action with a flow_token; an order_details carries a reference_id, amounts as `{"value": <paise>, "offset":
100}` and adds up as Meta checks it (the items to the subtotal, subtotal + tax - discount to the total)."""

from __future__ import annotations

import json
from typing import Any

from runtime.errors import FieldViolation

TYPES = {
    "INTERACTIVE_KIND_FLOW": "flow",
    "INTERACTIVE_KIND_ORDER_DETAILS": "order_details",
    "INTERACTIVE_KIND_ORDER_STATUS": "order_status",
}
ORDER_STATUSES = frozenset({"pending", "processing", "partially-shipped", "shipped", "completed", "canceled"})
ORDER_STATUSES_PAID = frozenset({"captured", "failed"})  # payment outcomes order_status also reports
MAX_JSON = 20_000
OFFSET = 100


def _object(bad: list[FieldViolation], path: str, text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text.strip():
        bad.append(FieldViolation(path, "required: Meta's object as JSON text"))
        return None
    if len(text) > MAX_JSON:
        bad.append(FieldViolation(path, f"at most {MAX_JSON} characters"))
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        bad.append(FieldViolation(path, f"is not JSON: {exc}"))
        return None
    if not isinstance(value, dict):
        bad.append(FieldViolation(path, "must be a JSON object"))
        return None
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _paise(bad: list[FieldViolation], path: str, amount: Any) -> int:
    """An amount `{value, offset: 100}` in whole paise; 0 (and a violation) otherwise."""
    if not isinstance(amount, dict):
        bad.append(FieldViolation(path, "required: {value, offset: 100}"))
        return 0
    value, offset = amount.get("value"), amount.get("offset")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        bad.append(FieldViolation(f"{path}.value", "a whole number of paise, not negative"))
        return 0
    if offset != OFFSET:
        bad.append(FieldViolation(f"{path}.offset", "must be 100 (amounts are in paise)"))
        return 0
    return value


def check_interactive(bad: list[FieldViolation], path: str, kind: str, text: Any) -> None:
    """`path` names the interactive content; its interactive_json is checked against the kind."""
    where = f"{path}.interactive_json"
    obj = _object(bad, where, text)
    if obj is None:
        return
    if obj.get("type") != TYPES[kind]:
        short = kind.removeprefix("INTERACTIVE_KIND_")
        bad.append(FieldViolation(f"{where}.type", f"must be {TYPES[kind]!r} for {short}"))
        return
    action = _dict(obj.get("action"))
    parameters = _dict(action.get("parameters"))
    if kind == "INTERACTIVE_KIND_FLOW":
        if action.get("name") != "flow":
            bad.append(FieldViolation(f"{where}.action.name", "must be 'flow'"))
        for name in ("flow_token", "flow_id"):
            if not isinstance(parameters.get(name), str) or not parameters.get(name):
                bad.append(FieldViolation(f"{where}.action.parameters.{name}", "required"))
        if not _dict(obj.get("body")).get("text"):
            bad.append(FieldViolation(f"{where}.body.text", "required"))
    elif kind == "INTERACTIVE_KIND_ORDER_DETAILS":
        _order_details(bad, where, obj, parameters)
    else:
        if not isinstance(parameters.get("reference_id"), str) or not parameters.get("reference_id"):
            bad.append(FieldViolation(f"{where}.action.parameters.reference_id", "required"))
        status = _dict(parameters.get("order")).get("status")
        if status not in ORDER_STATUSES | ORDER_STATUSES_PAID:
            bad.append(FieldViolation(f"{where}.action.parameters.order.status", "an order status Meta knows"))


def _order_details(bad: list[FieldViolation], where: str, obj: dict[str, Any], parameters: dict[str, Any]) -> None:
    at = f"{where}.action.parameters"
    if not _dict(obj.get("body")).get("text"):
        bad.append(FieldViolation(f"{where}.body.text", "required"))
    if not isinstance(parameters.get("reference_id"), str) or not parameters.get("reference_id"):
        bad.append(FieldViolation(f"{at}.reference_id", "required: the order's reference (the invoice)"))
    if parameters.get("currency") != "INR":
        bad.append(FieldViolation(f"{at}.currency", "must be INR"))
    if not parameters.get("payment_configuration"):
        bad.append(FieldViolation(f"{at}.payment_configuration", "required: the phone's payment configuration"))
    order = _dict(parameters.get("order"))
    before = len(bad)
    total = _paise(bad, f"{at}.total_amount", parameters.get("total_amount"))
    subtotal = _paise(bad, f"{at}.order.subtotal", order.get("subtotal"))
    tax = _paise(bad, f"{at}.order.tax", order.get("tax"))
    discount = _paise(bad, f"{at}.order.discount", order["discount"]) if "discount" in order else 0
    items = order.get("items")
    if not isinstance(items, list) or not items:
        bad.append(FieldViolation(f"{at}.order.items", "at least one item"))
        return
    summed = 0
    for i, item in enumerate(items):
        item = _dict(item)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            bad.append(FieldViolation(f"{at}.order.items[{i}].quantity", "a whole number above 0"))
            continue
        summed += _paise(bad, f"{at}.order.items[{i}].amount", item.get("amount")) * quantity
    if len(bad) > before:
        return  # the sums below mean nothing over amounts that are wrong
    if summed != subtotal:
        bad.append(FieldViolation(f"{at}.order.subtotal", f"is {subtotal}; the items add up to {summed}"))
    if subtotal + tax - discount != total:
        expected = subtotal + tax - discount
        bad.append(FieldViolation(f"{at}.total_amount", f"is {total}; subtotal + tax - discount is {expected}"))


def check_flow_button(bad: list[FieldViolation], path: str, text: Any) -> None:
    """A template's FLOW button component: type button, sub_type flow, an index, an action with a flow_token."""
    obj = _object(bad, path, text)
    if obj is None:
        return
    if obj.get("type") != "button" or obj.get("sub_type") != "flow":
        bad.append(FieldViolation(path, "a button component of sub_type 'flow'"))
        return
    parameters = obj.get("parameters")
    first = _dict(parameters[0]) if isinstance(parameters, list) and parameters else {}
    if first.get("type") != "action" or not _dict(first.get("action")).get("flow_token"):
        bad.append(FieldViolation(f"{path}.parameters", "an action parameter carrying the flow_token"))


def loads(text: str) -> dict[str, Any]:
    """The object a checked message carries (for the message Meta gets)."""
    return json.loads(text)
