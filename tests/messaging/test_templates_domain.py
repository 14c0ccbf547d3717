"""Templates as Meta reviews them (domain.templates): each of Meta's rules broken alone is refused naming its field,
a good draft becomes Meta's definition and a catalogue entry acceptance can check sends against, and status and
category events move a template forward only."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.errors import InvalidArgument
from services.messaging.domain import rules, templates
from services.messaging.domain.model import Category
from services.messaging.domain.templates import Button, Draft

GOOD = Draft(
    template_name="spring_sale",
    language="en_US",
    category="MARKETING",
    header_format="TEXT",
    header_text="Our {{1}} sale",
    header_example="spring",
    body_text="Hi {{1}}, take {{2}} off until Sunday.",
    body_examples=("Asha", "20%"),
    footer_text="Reply STOP to opt out",
    buttons=(
        Button("QUICK_REPLY", "Interested"),
        Button("QUICK_REPLY", "Not now"),
        Button("URL", "Shop", url="https://wecare.digital/shop/{{1}}", url_example="https://wecare.digital/shop/sp1"),
        Button("PHONE_NUMBER", "Call us", phone_number="+919812345678"),
    ),
)


def refused(draft: Draft) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        templates.check(draft)
    return {v.field: v.description for v in caught.value.violations}


def test_a_good_draft_passes_and_becomes_metas_definition():
    templates.check(GOOD)
    d = templates.definition(GOOD)
    assert (d["name"], d["language"], d["category"], d["parameter_format"]) == (
        "spring_sale",
        "en_US",
        "MARKETING",
        "POSITIONAL",
    )
    header, body, footer, buttons = d["components"]
    assert header == {
        "type": "HEADER",
        "format": "TEXT",
        "text": "Our {{1}} sale",
        "example": {"header_text": ["spring"]},
    }
    assert body["example"] == {"body_text": [["Asha", "20%"]]}
    assert footer == {"type": "FOOTER", "text": "Reply STOP to opt out"}
    assert buttons["buttons"][2] == {
        "type": "URL",
        "text": "Shop",
        "url": "https://wecare.digital/shop/{{1}}",
        "example": ["https://wecare.digital/shop/sp1"],
    }
    assert buttons["buttons"][3] == {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+919812345678"}


CASES = [
    (
        "gap in the body's variables",
        {"body_text": "Hi {{1}}, take {{3}} off now.", "body_examples": ("a", "b")},
        "template.body.text",
        "{{2}} is missing",
    ),
    ("an example missing", {"body_examples": ("Asha",)}, "template.body.examples", "one example"),
    ("an empty example", {"body_examples": ("Asha", " ")}, "template.body.examples[1]", "empty"),
    ("a variable starts the body", {"body_text": "{{1}}, take {{2}} off now."}, "template.body.text", "start"),
    ("a variable ends the body", {"body_text": "Hi {{1}}, take {{2}}"}, "template.body.text", "end"),
    (
        "a named variable in a positional template",
        {"body_text": "Hi {{name}} there."},
        "template.body.text",
        "parameter_format NAMED",
    ),
    ("a body too long", {"body_text": "x" * 1025, "body_examples": ()}, "template.body.text", "1024"),
    ("no body", {"body_text": " ", "body_examples": ()}, "template.body.text", "required"),
    ("a bad name", {"template_name": "Spring Sale"}, "template.template_name", "lower-case"),
    ("a bad language", {"language": "english"}, "template.language", "language code"),
    ("a bad category", {"category": "PROMO"}, "template.category", "MARKETING"),
    ("a header too long", {"header_text": "x" * 61, "header_example": ""}, "template.header.text", "60"),
    ("two header variables", {"header_text": "{{1}} and {{2}}"}, "template.header.text", "at most one"),
    ("a header variable without its example", {"header_example": ""}, "template.header.example", "required"),
    (
        "a media header without its file",
        {"header_format": "IMAGE", "header_text": "", "header_example": ""},
        "template.header.media_key",
        "required",
    ),
    ("a footer with a variable", {"footer_text": "bye {{1}}"}, "template.footer_text", "no variables"),
    ("a footer too long", {"footer_text": "x" * 61}, "template.footer_text", "60"),
    (
        "eleven buttons",
        {"buttons": tuple(Button("QUICK_REPLY", f"b{i}") for i in range(11))},
        "template.buttons",
        "at most 10",
    ),
    (
        "three URL buttons",
        {"buttons": tuple(Button("URL", f"u{i}", url="https://a.b/") for i in range(3))},
        "template.buttons",
        "2 URL",
    ),
    (
        "two phone buttons",
        {"buttons": (Button("PHONE_NUMBER", "a", phone_number="+919812345678"),) * 2},
        "template.buttons",
        "1 phone",
    ),
    (
        "quick replies apart",
        {"buttons": (Button("QUICK_REPLY", "a"), Button("URL", "u", url="https://a.b/"), Button("QUICK_REPLY", "b"))},
        "template.buttons",
        "together",
    ),
    ("a button text too long", {"buttons": (Button("QUICK_REPLY", "x" * 26),)}, "template.buttons[0].text", "25"),
    ("an unknown button kind", {"buttons": (Button("COPY", "x"),)}, "template.buttons[0].kind", "QUICK_REPLY"),
    (
        "a URL variable not at the end",
        {"buttons": (Button("URL", "u", url="https://a.b/{{1}}/x"),)},
        "template.buttons[0].url",
        "last part",
    ),
    (
        "a URL suffix without its example",
        {"buttons": (Button("URL", "u", url="https://a.b/{{1}}"),)},
        "template.buttons[0].url_example",
        "required",
    ),
    (
        "a bad phone number",
        {"buttons": (Button("PHONE_NUMBER", "call", phone_number="12"),)},
        "template.buttons[0].phone_number",
        "E.164",
    ),
    ("authentication written by hand", {"category": "AUTHENTICATION"}, "template.category", "library"),
]


@pytest.mark.parametrize(("what", "change", "path", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_broken_alone_is_refused_naming_its_field(what, change, path, words):
    found = refused(dataclasses.replace(GOOD, **change))
    assert path in found, found
    assert words in found[path]


def test_named_variables_need_an_example_each():
    named = dataclasses.replace(
        GOOD,
        parameter_format="NAMED",
        header_format="",
        header_text="",
        header_example="",
        body_text="Hi {{first_name}}, your code is {{code}} today.",
        body_examples=(),
        named_examples={"first_name": "Asha", "other": "x"},
    )
    found = refused(named)
    assert "an example" in found["template.body.named_examples[code]"]
    assert "no such variable" in found["template.body.named_examples[other]"]
    ok = dataclasses.replace(named, named_examples={"first_name": "Asha", "code": "1234"})
    templates.check(ok)
    body = templates.components(ok)[0]
    assert body["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Asha"},
            {"param_name": "code", "example": "1234"},
        ]
    }


def test_an_entry_is_what_acceptance_checks_sends_against_and_comes_back_as_its_draft():
    entry = templates.entry(GOOD, "waba-1", "1234", "PENDING", "MARKETING", now=10.0)
    assert entry.key == "spring_sale.en_US" and entry.template_status == "PENDING"
    assert entry.body_variables == ("1", "2") and entry.header_variables == ("1",) and entry.dynamic_buttons == (2,)
    approved = templates.on_status(entry, "APPROVED", "NONE", at=11.0)
    message = {
        "template_name": "spring_sale",
        "language": "en_US",
        "body_parameters": [{"text": "Asha"}, {"text": "20%"}],
        "header_parameters": [{"text": "spring"}],
        "button_parameters": [{"index": 2, "sub_type": "url", "text": "sp1"}],
    }
    draft = rules.Draft(
        channel=rules.Channel.WHATSAPP,
        category=Category.MARKETING,
        recipient="+919812345678",
        content={"template": message},
    )
    assert rules.check_rules(draft, rules.RuleFacts(template=approved), now=12.0) == Category.MARKETING
    assert templates.draft_of(entry) == GOOD


def test_status_events_move_a_template_forward_with_their_reasons():
    t = templates.entry(GOOD, "waba-1", "1234", "PENDING", "MARKETING", now=10.0)
    rejected = templates.on_status(t, "REJECTED", "INVALID_FORMAT: a variable is out of place", at=20.0)
    assert rejected.template_status == "REJECTED" and rejected.status_reason.startswith("INVALID_FORMAT")
    assert templates.on_status(rejected, "APPROVED", "", at=19.0) is None  # older than what it has
    approved = templates.on_status(rejected, "APPROVED", "", at=30.0)
    paused = templates.on_status(approved, "PAUSED", "FIRST_PAUSE: paused for 3 hours", at=40.0)
    assert (paused.template_status, paused.status_reason) == ("PAUSED", "FIRST_PAUSE: paused for 3 hours")
    back = templates.on_status(paused, "REINSTATED", "", at=50.0)
    assert back.template_status == "APPROVED" and back.status_reason == ""
    flagged = templates.on_status(back, "FLAGGED", "low quality", at=60.0)
    assert flagged.template_status == "APPROVED" and flagged.status_reason == "FLAGGED: low quality"
    assert templates.on_status(flagged, "SOMETHING_NEW", "", at=70.0) is None
    disabled = templates.on_status(flagged, "DISABLED", "", at=70.0)
    assert disabled.template_status == "DISABLED"


def test_category_changes_are_kept_announced_and_made():
    t = templates.entry(dataclasses.replace(GOOD, category="UTILITY"), "w", "1", "APPROVED", "UTILITY", now=1.0)
    told = templates.on_category(t, new="UTILITY", previous="", correct="MARKETING", at=2.0)
    assert told.category == Category.UTILITY and told.upcoming_category == "MARKETING"
    made = templates.on_category(told, new="MARKETING", previous="UTILITY", correct="", at=3.0)
    assert (made.category, made.previous_category, made.upcoming_category) == (Category.MARKETING, "UTILITY", "")
    assert templates.on_category(made, new="MARKETING", previous="UTILITY", correct="", at=4.0) is None
