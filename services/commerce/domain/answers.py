"""A customer's answer to a form, as it comes back in an interactive `nfm_reply`: read, checked against the form,
and turned into what it changes on the contact. No I/O.

`response_json` is a JSON object holding `flow_token` and the Footer's payload (flow_json.py): one value per
field key, as the WhatsApp client fills it in (text as a string, a number as the string typed, a date as
`YYYY-MM-DD`, a radio choice as an option id, checkboxes as a list of ids, an opt-in as a boolean). An
unanswered optional field comes back empty or not at all. Every check the Flow cannot make on the phone (number
bounds and decimals, the contact's email shape) is made here, and whatever the phone should have enforced is
checked again: a reply is input like any other. A bad answer names `response_json.<key>`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from runtime.errors import FieldViolation, InvalidArgument
from services.commerce.domain.forms import Field, FieldType, Form, canonical, date_of, decimal_of

PATH = "response_json"
MAX_REPLY = 100_000  # bytes of response_json; a full form of 40 long text answers is well below
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")  # as contacts checks an email
NAME_MAX = 200  # contacts' display_name limit
EMAIL_MAX = 254


@dataclass(frozen=True)
class Answer:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Reply:
    flow_token: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ContactChanges:
    """What a response writes on the contact; empty when the form maps nothing."""

    display_name: str = ""
    email: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    opt_ins: tuple[str, ...] = ()  # channels whose consent becomes OPTED_IN

    def __bool__(self) -> bool:
        return bool(self.display_name or self.email or self.attributes or self.opt_ins)

    @property
    def fields(self) -> bool:
        return bool(self.display_name or self.email or self.attributes)


def read_reply(response_json: str) -> Reply:
    """The flow token and the payload, or INVALID_ARGUMENT on `response_json`."""
    if not response_json:
        raise InvalidArgument(PATH, "required: the nfm_reply's response_json")
    if len(response_json.encode()) > MAX_REPLY:
        raise InvalidArgument(PATH, f"at most {MAX_REPLY} bytes")
    try:
        reply = json.loads(response_json)
    except ValueError:
        raise InvalidArgument(PATH, "not JSON") from None
    if not isinstance(reply, dict):
        raise InvalidArgument(PATH, "must be a JSON object")
    token = reply.pop("flow_token", None)
    if not isinstance(token, str) or not token:
        raise InvalidArgument(f"{PATH}.flow_token", "required: the flow token the form was sent with")
    return Reply(token, reply)


def check_answers(form: Form, payload: dict[str, Any]) -> tuple[Answer, ...]:
    """The answers in the form's field order (unanswered optional fields left out), or INVALID_ARGUMENT naming
    every bad `response_json.<key>`."""
    fields = {f.key: f for f in form.definition.fields}
    problems = [FieldViolation(f"{PATH}.{key}", "not a field of this form") for key in payload if key not in fields]
    answers = []
    for f in form.definition.fields:
        try:
            values = _values(f, payload.get(f.key))
        except ValueError as why:
            problems.append(FieldViolation(f"{PATH}.{f.key}", str(why)))
            continue
        if values:
            answers.append(Answer(f.key, values))
    if problems:
        raise InvalidArgument(problems)
    return tuple(answers)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def _values(f: Field, value: Any) -> tuple[str, ...]:
    if f.type is FieldType.OPT_IN:
        ticked = _bool(value)
        if f.required and not ticked:
            raise ValueError("required: the box must be ticked")
        return ("true" if ticked else "false",)
    if _empty(value):
        if f.required:
            raise ValueError("required")
        return ()
    if f.type is FieldType.TEXT:
        return (_text(f, value),)
    if f.type is FieldType.NUMBER:
        return (_number(f, value),)
    if f.type is FieldType.DATE:
        return (_date(f, value),)
    if f.type is FieldType.SINGLE_CHOICE:
        if not isinstance(value, str) or value not in f.option_ids():
            raise ValueError(f"one of the options: {', '.join(f.option_ids())}")
        return (value,)
    return _choices(f, value)


def _bool(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("true or false")


def _text(f: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("text")
    text = value.strip()
    if f.min_length and len(text) < f.min_length:
        raise ValueError(f"at least {f.min_length} characters")
    if f.max_length and len(text) > f.max_length:
        raise ValueError(f"at most {f.max_length} characters")
    if f.pattern and not re.fullmatch(f.pattern, text):
        raise ValueError(f"must match {f.pattern}")
    if f.contact_field == "email" and (len(text) > EMAIL_MAX or not EMAIL.match(text)):
        raise ValueError("an email address")
    if f.contact_field == "display_name" and len(text) > NAME_MAX:
        raise ValueError(f"at most {NAME_MAX} characters (a contact's name)")
    return text


def _number(f: Field, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a number")
    number = decimal_of(str(value))
    if number is None:
        raise ValueError("a number written with digits and at most one point")
    places = -number.as_tuple().exponent if number.as_tuple().exponent < 0 else 0
    if places > f.decimal_places:
        raise ValueError(f"at most {f.decimal_places} digits after the point" if f.decimal_places else "a whole number")
    low, high = decimal_of(f.min_value), decimal_of(f.max_value)
    if low is not None and number < low:
        raise ValueError(f"at least {f.min_value}")
    if high is not None and number > high:
        raise ValueError(f"at most {f.max_value}")
    return canonical(number)


def _date(f: Field, value: Any) -> str:
    day = date_of(value) if isinstance(value, str) else None
    if day is None:
        raise ValueError("a date as YYYY-MM-DD")
    if f.min_date and day < date_of(f.min_date):
        raise ValueError(f"on or after {f.min_date}")
    if f.max_date and day > date_of(f.max_date):
        raise ValueError(f"on or before {f.max_date}")
    return value


def _choices(f: Field, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of option ids")
    unknown = [v for v in value if v not in f.option_ids()]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not an option; options: {', '.join(f.option_ids())}")
    if len(set(value)) != len(value):
        raise ValueError("an option is picked twice")
    if f.min_selected and len(value) < f.min_selected:
        raise ValueError(f"at least {f.min_selected} options")
    if f.max_selected and len(value) > f.max_selected:
        raise ValueError(f"at most {f.max_selected} options")
    return tuple(o for o in f.option_ids() if o in value)  # the form's order, whatever the phone's


def contact_changes(form: Form, answers: tuple[Answer, ...]) -> ContactChanges:
    """The mapped answers (fields and attributes) and the ticked opt-ins' consent channels."""
    given = {a.key: a.values for a in answers}
    name, email, attributes, opt_ins = "", "", [], []
    for f in form.definition.fields:
        values = given.get(f.key)
        if not values:
            continue
        if f.type is FieldType.OPT_IN:
            if f.consent_channel and values == ("true",):
                opt_ins.append(f.consent_channel)
            continue
        if f.contact_field == "display_name":
            name = values[0]
        elif f.contact_field == "email":
            email = values[0]
        elif f.contact_field.startswith("attributes."):
            attributes.append((f.contact_field.removeprefix("attributes."), ",".join(values)[:1024]))
    return ContactChanges(name, email, tuple(attributes), tuple(dict.fromkeys(opt_ins)))


def maps_onto_contact(form: Form) -> bool:
    return any(f.contact_field or f.consent_channel for f in form.definition.fields)
