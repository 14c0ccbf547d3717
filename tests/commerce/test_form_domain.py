"""The forms domain, no I/O: which definitions are valid (every bad rule named), the Flow JSON each field becomes,
the flow message and template button that carry a token, the answers of an nfm_reply checked against the form,
what they write onto the contact, and the CSV export."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from runtime.errors import InvalidArgument
from services.commerce.domain import flow_json
from services.commerce.domain.answers import (
    Answer,
    ContactChanges,
    check_answers,
    contact_changes,
    read_reply,
)
from services.commerce.domain.forms import Definition, Field, FieldType, Option, check_definition
from services.commerce.domain.responses import Response, csv_header, csv_rows
from tests.commerce.form_samples import DEFINITION, FIELDS, GOOD_ANSWERS, WABA, WABAS, form


def violations(exc: pytest.ExceptionInfo) -> dict[str, str]:
    """Field -> what was said of it (several descriptions joined)."""
    out: dict[str, str] = {}
    for v in exc.value.violations:
        out[v.field] = f"{out[v.field]} | {v.description}" if v.field in out else v.description
    return out


def with_field(index: int, **changes) -> Definition:
    fields = list(FIELDS)
    fields[index] = dataclasses.replace(fields[index], **changes)
    return dataclasses.replace(DEFINITION, fields=tuple(fields))


# -- definitions --------------------------------------------------------------------------------------------------


def test_a_valid_definition_keeps_its_values_and_gets_defaults():
    assert check_definition(DEFINITION, WABAS) == DEFINITION
    bare = check_definition(Definition("  Quick   survey ", fields=(Field("q", "Question", FieldType.TEXT),)), WABAS)
    assert bare.display_name == "Quick survey"
    assert (bare.submit_label, bare.open_label, bare.invitation_text) == ("Submit", "Open form", "Quick survey")
    assert bare.categories == ("OTHER",) and bare.waba == WABA


@pytest.mark.parametrize(
    ("definition", "field", "says"),
    [
        (dataclasses.replace(DEFINITION, display_name=" "), "form.display_name", "required"),
        (dataclasses.replace(DEFINITION, fields=()), "form.fields", "at least one field"),
        (dataclasses.replace(DEFINITION, waba="waba-other"), "form.waba", "one of this deployment's"),
        (dataclasses.replace(DEFINITION, categories=("PARTY",)), "form.categories[0]", "one of"),
        (dataclasses.replace(DEFINITION, submit_label="x" * 36), "form.submit_label", "at most 35"),
        (dataclasses.replace(DEFINITION, open_label="x" * 21), "form.open_label", "at most 20"),
        (with_field(0, key="Name"), "form.fields[0].key", "[a-z0-9_]"),
        (with_field(0, key="flow_token"), "form.fields[0].key", "reserved"),
        (with_field(1, key="name"), "form.fields[1].key", "earlier field"),
        (with_field(0, label="A label that is far too long"), "form.fields[0].label", "at most 20"),
        (with_field(0, type=None), "form.fields[0].type", "one of"),
        (with_field(0, min_value="1"), "form.fields[0].min_value", "does not apply to a TEXT field"),
        (with_field(0, options=(Option("a", "A"),)), "form.fields[0].options", "does not apply"),
        (with_field(2, pattern="[A-Z"), "form.fields[2].pattern", "not a regular expression"),
        (with_field(2, min_length=7), "form.fields[2].max_length", "below min_length"),
        (with_field(3, min_value="ten"), "form.fields[3].min_value", "decimal number"),
        (with_field(3, min_value="11"), "form.fields[3].max_value", "below min_value"),
        (with_field(3, decimal_places=7), "form.fields[3].decimal_places", "0 to 6"),
        (with_field(5, min_date="2030-02-30"), "form.fields[5].min_date", "YYYY-MM-DD"),
        (with_field(5, max_date="2029-12-31"), "form.fields[5].max_date", "before min_date"),
        (with_field(6, options=()), "form.fields[6].options", "at least one option"),
        (with_field(6, options=(Option("a", "A"), Option("a", "B"))), "form.fields[6].options[1].id", "earlier option"),
        (with_field(6, options=(Option("a b", "A"),)), "form.fields[6].options[0].id", "[A-Za-z0-9_-]"),
        (with_field(7, max_selected=4), "form.fields[7].max_selected", "number of options"),
        (with_field(3, contact_field="email"), "form.fields[3].contact_field", "TEXT field"),
        (with_field(2, contact_field="attributes.9x"), "form.fields[2].contact_field", "attributes.<key>"),
        (with_field(2, contact_field="display_name"), "form.fields[2].contact_field", "earlier field's target"),
        (with_field(8, consent_channel="fax"), "form.fields[8].consent_channel", "WHATSAPP, SMS or EMAIL"),
    ],
)
def test_bad_definitions_name_the_field(definition, field, says):
    with pytest.raises(InvalidArgument) as refused:
        check_definition(definition, WABAS)
    assert field in violations(refused), violations(refused)
    assert says in violations(refused)[field]


def test_an_email_opt_in_needs_a_field_written_to_the_contacts_email():
    no_email = dataclasses.replace(
        DEFINITION, fields=(Field("news", "Email me news", FieldType.OPT_IN, consent_channel="email"),)
    )
    with pytest.raises(InvalidArgument) as refused:
        check_definition(no_email, WABAS)
    assert "EMAIL needs" in violations(refused)["form.fields[0].consent_channel"]
    with_email = dataclasses.replace(no_email, fields=(FIELDS[1], *no_email.fields))
    assert check_definition(with_email, WABAS).fields[1].consent_channel == "email"


def test_every_problem_is_reported_at_once():
    bad = dataclasses.replace(with_field(0, key="X"), display_name="", submit_label="y" * 40)
    with pytest.raises(InvalidArgument) as refused:
        check_definition(bad, WABAS)
    assert {"form.display_name", "form.submit_label", "form.fields[0].key"} <= set(violations(refused))


def test_limits_of_one_flow_screen():
    many = tuple(Field(f"q{i}", "Q", FieldType.TEXT) for i in range(41))
    with pytest.raises(InvalidArgument) as refused:
        check_definition(dataclasses.replace(DEFINITION, fields=many), WABAS)
    assert "at most 40" in violations(refused)["form.fields"]
    opt_ins = tuple(Field(f"o{i}", "Agree", FieldType.OPT_IN) for i in range(6))
    with pytest.raises(InvalidArgument) as refused:
        check_definition(dataclasses.replace(DEFINITION, fields=opt_ins), WABAS)
    assert "OPT_IN" in violations(refused)["form.fields"]


def test_the_digest_follows_every_change():
    assert DEFINITION.digest() == check_definition(DEFINITION, WABAS).digest()
    assert with_field(0, label="Name").digest() != DEFINITION.digest()
    assert dataclasses.replace(DEFINITION, open_label="Go").digest() != DEFINITION.digest()


# -- Flow JSON ----------------------------------------------------------------------------------------------------


def test_the_flow_json_is_one_terminal_screen_completing_with_every_field():
    built = flow_json.flow_json(form())
    assert built["version"] == "7.3" and "routing_model" not in built
    (screen,) = built["screens"]
    assert (screen["id"], screen["title"], screen["terminal"], screen["success"]) == (
        "FORM",
        "Dinner booking",
        True,
        True,
    )
    children = screen["layout"]["children"]
    assert screen["layout"]["type"] == "SingleColumnLayout"
    assert children[0] == {"type": "TextHeading", "text": "Book a table"}
    assert children[1] == {"type": "TextBody", "text": "Tell us about your visit."}
    footer = children[-1]
    assert footer["type"] == "Footer" and footer["label"] == "Book"
    assert footer["on-click-action"] == {
        "name": "complete",
        "payload": {f.key: "${form.%s}" % f.key for f in FIELDS},  # noqa: UP031
    }
    assert [c["name"] for c in children[2:-1]] == [f.key for f in FIELDS]
    assert json.loads(flow_json.encoded(form())) == built


def test_each_field_type_becomes_its_component():
    by_name = {c["name"]: c for c in flow_json.flow_json(form())["screens"][0]["layout"]["children"] if "name" in c}
    assert by_name["name"] == {
        "type": "TextInput",
        "name": "name",
        "label": "Your name",
        "required": True,
        "input-type": "text",
        "max-chars": 60,
    }
    assert by_name["email"] == {
        "type": "TextInput",
        "name": "email",
        "label": "Email",
        "input-type": "email",
        "helper-text": "We send the receipt here",
    }
    assert by_name["code"]["pattern"] == "[A-Z]{2}[0-9]{4}"
    assert (by_name["code"]["min-chars"], by_name["code"]["max-chars"]) == (6, 6)
    assert by_name["guests"] == {
        "type": "TextInput",
        "name": "guests",
        "label": "Guests",
        "required": True,
        "input-type": "number",
        "pattern": "^-?[0-9]+$",
    }
    assert by_name["budget"]["pattern"] == "^-?[0-9]+([.][0-9]{1,2})?$"
    assert by_name["day"] == {
        "type": "DatePicker",
        "name": "day",
        "label": "Day of the visit",
        "required": True,
        "min-date": "2030-01-01",
        "max-date": "2030-12-31",
    }
    assert by_name["size"] == {
        "type": "RadioButtonsGroup",
        "name": "size",
        "label": "Table",
        "required": True,
        "data-source": [{"id": "small", "title": "Small"}, {"id": "large", "title": "Large"}],
    }
    assert by_name["diet"]["type"] == "CheckboxGroup" and by_name["diet"]["max-selected-items"] == 2
    assert "min-selected-items" not in by_name["diet"] and len(by_name["diet"]["data-source"]) == 3
    assert by_name["offers"] == {"type": "OptIn", "name": "offers", "label": "Send me offers on WhatsApp"}
    assert by_name["terms"] == {"type": "OptIn", "name": "terms", "label": "I accept the terms", "required": True}


def test_the_number_pattern_takes_what_the_field_accepts():
    import re

    whole, two = flow_json.number_pattern(0), flow_json.number_pattern(2)
    assert re.fullmatch(whole, "-12") and not re.fullmatch(whole, "1.5")
    assert re.fullmatch(two, "3.25") and re.fullmatch(two, "3") and not re.fullmatch(two, "3.255")


def test_the_flow_message_and_the_template_button_carry_the_token():
    published = form(flow=dataclasses.replace(form().flow, flow_id="1234567890"))
    message = flow_json.interactive(published, "T" * 22)
    assert message == {
        "type": "flow",
        "body": {"text": "Book your table in two minutes."},
        "action": {
            "name": "flow",
            "parameters": {
                "flow_message_version": "3",
                "flow_token": "T" * 22,
                "flow_id": "1234567890",
                "flow_cta": "Book now",
                "flow_action": "navigate",
                "flow_action_payload": {"screen": "FORM"},
            },
        },
    }
    assert flow_json.template_button("T" * 22, 1) == {
        "type": "button",
        "sub_type": "flow",
        "index": "1",
        "parameters": [{"type": "action", "action": {"flow_token": "T" * 22}}],
    }


# -- answers ------------------------------------------------------------------------------------------------------


def reply(**answers) -> str:
    return json.dumps({"flow_token": "T" * 22, **answers})


def test_reading_a_reply_takes_the_token_out_of_the_answers():
    read = read_reply(reply(name="Asha"))
    assert read.flow_token == "T" * 22 and read.payload == {"name": "Asha"}
    for bad, field in (
        ("", "response_json"),
        ("[1]", "response_json"),
        ("{", "response_json"),
        ("{}", "response_json.flow_token"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            read_reply(bad)
        assert field in violations(refused)


def test_good_answers_come_back_canonical_in_the_forms_order():
    answers = check_answers(form(), GOOD_ANSWERS)
    assert answers == (
        Answer("name", ("Asha Rao",)),
        Answer("email", ("asha@example.com",)),
        Answer("code", ("AB1234",)),
        Answer("guests", ("4",)),
        Answer("budget", ("120.5",)),
        Answer("day", ("2030-05-17",)),
        Answer("size", ("large",)),
        Answer("diet", ("veg", "vegan")),
        Answer("offers", ("true",)),
        Answer("terms", ("true",)),
    )


def test_unanswered_optional_fields_are_left_out_and_unticked_boxes_are_false():
    required_only = {k: GOOD_ANSWERS[k] for k in ("name", "guests", "day", "size", "terms")}
    answers = {a.key: a.values for a in check_answers(form(), {**required_only, "email": "", "diet": []})}
    assert set(answers) == {"name", "guests", "day", "size", "terms", "offers"}
    assert answers["offers"] == ("false",)


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 61}, "name", "at most 60"),
        ({"email": "not-an-email"}, "email", "email address"),
        ({"code": "ab1234"}, "code", "must match"),
        ({"guests": "11"}, "guests", "at most 10"),
        ({"guests": "0"}, "guests", "at least 1"),
        ({"guests": "2.5"}, "guests", "whole number"),
        ({"guests": "1e3"}, "guests", "digits"),
        ({"guests": True}, "guests", "a number"),
        ({"budget": "1.255"}, "budget", "at most 2 digits"),
        ({"day": "2031-01-01"}, "day", "on or before 2030-12-31"),
        ({"day": "17/05/2030"}, "day", "YYYY-MM-DD"),
        ({"size": "huge"}, "size", "one of the options"),
        ({"diet": ["veg", "keto"]}, "diet", "'keto' is not an option"),
        ({"diet": ["veg", "vegan", "gf"]}, "diet", "at most 2"),
        ({"diet": ["veg", "veg"]}, "diet", "twice"),
        ({"diet": "veg"}, "diet", "list of option ids"),
        ({"terms": False}, "terms", "ticked"),
        ({"offers": "yes"}, "offers", "true or false"),
        ({"extra": "x"}, "extra", "not a field"),
    ],
)
def test_a_bad_answer_is_refused_naming_the_field(changes, field, says):
    with pytest.raises(InvalidArgument) as refused:
        check_answers(form(), {**GOOD_ANSWERS, **changes})
    found = violations(refused)
    assert f"response_json.{field}" in found, found
    assert says in found[f"response_json.{field}"]


def test_mapped_answers_and_ticked_opt_ins_become_contact_changes():
    changes = contact_changes(form(), check_answers(form(), GOOD_ANSWERS))
    assert changes == ContactChanges(
        display_name="Asha Rao",
        email="asha@example.com",
        attributes=(("budget", "120.5"), ("table", "large")),
        opt_ins=("whatsapp",),
    )
    unticked = contact_changes(form(), check_answers(form(), {**GOOD_ANSWERS, "offers": False}))
    assert unticked.opt_ins == ()
    assert not ContactChanges() and ContactChanges(opt_ins=("sms",)) and not ContactChanges(opt_ins=("sms",)).fields


# -- CSV ----------------------------------------------------------------------------------------------------------


def test_the_csv_has_a_column_per_field_and_defuses_formulas():
    answers = check_answers(form(), {**GOOD_ANSWERS, "name": '=HYPERLINK("x")', "diet": ["veg", "gf"]})
    response = Response(
        id="01J00000000000000000000001",
        token="T" * 22,
        form_id="01J00000000000000000000000",
        recipient="+919812345678",
        answers=answers,
        submit_time=1_900_000_000.5,
        create_time=1_900_000_001,
        reply_wamid="wamid.X",
        contact="01J00000000000000000000009",
        job="01J0000000000000000000000J",
    )
    rows = list(csv.reader(io.StringIO((csv_header(form()) + csv_rows(form(), [response])).decode())))
    assert rows[0] == ["response", "submit_time", "contact", "recipient", "message", "job", *(f.key for f in FIELDS)]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["response"] == "forms/01J00000000000000000000000/responses/01J00000000000000000000001"
    assert row["submit_time"] == "2030-03-17T17:46:40.500Z"
    assert (row["contact"], row["recipient"], row["message"]) == (
        "contacts/01J00000000000000000000009",
        "+919812345678",
        "",
    )
    assert row["name"] == '\'=HYPERLINK("x")' and row["diet"] == "veg;gf" and row["guests"] == "4"
    assert row["budget"] == "120.5" and row["offers"] == "true"
