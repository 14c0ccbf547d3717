"""The sending rules (domain.rules.check_rules), table-driven: a message that passes them all; each rule broken
alone, refused with that rule's reason and nothing else; and every pair of rules broken together, refused with
the one that comes first in the order they are checked (pairs fix the whole order)."""

from __future__ import annotations

import itertools
from typing import Any

import grpc
import pytest

from runtime.errors import FailedPrecondition
from services.messaging.domain.model import Category, Channel, Template
from services.messaging.domain.rules import Draft, RuleFacts, check_rules

NOW = 1_750_000_000.0

# The order in which check_rules refuses: the first rule a message breaks is the one it is refused for.
ORDER = [
    "CONSENT_OPTED_OUT",
    "WINDOW_CLOSED",
    "TEMPLATE_UNKNOWN",
    "TEMPLATE_NOT_APPROVED",
    "TEMPLATE_PAUSED",
    "TEMPLATE_DISABLED",
    "CATEGORY_MISMATCH",
    "TEMPLATE_VARIABLES_INCOMPLETE",
    "SENDER_PAUSED",
    "MARKETING_CONSENT_REQUIRED",
    "MARKETING_SUPPRESSED",
    "MARKETING_FREQUENCY_CAP",
    "PHONE_QUALITY_LOW",
]

# A marketing template on WhatsApp outside the customer's window, to a recipient who opted in: it passes.
BASE: dict[str, Any] = {
    "content": "template",  # or "text" (free-form)
    "category": Category.MARKETING,
    "template": True,  # in the synced catalogue
    "template_status": "APPROVED",
    "body_values": 2,  # the template takes two
    "consent": "OPTED_IN",
    "window_open": False,
    "paused": False,
    "requires_opt_in": False,
    "suppressed": None,
    "marketing_sent": 0,  # of a cap of 3
    "quality": "GREEN",
}

# What breaks each rule, and nothing else, from BASE.
BREAKS: dict[str, dict[str, Any]] = {
    "CONSENT_OPTED_OUT": {"consent": "OPTED_OUT"},
    "WINDOW_CLOSED": {"content": "text"},
    "TEMPLATE_UNKNOWN": {"template": False},
    "TEMPLATE_NOT_APPROVED": {"template_status": "REJECTED"},
    "TEMPLATE_PAUSED": {"template_status": "PAUSED"},
    "TEMPLATE_DISABLED": {"template_status": "DISABLED"},
    "CATEGORY_MISMATCH": {"category": Category.UTILITY},
    "TEMPLATE_VARIABLES_INCOMPLETE": {"body_values": 1},
    "SENDER_PAUSED": {"paused": True},
    "MARKETING_CONSENT_REQUIRED": {"requires_opt_in": True, "consent": "UNKNOWN"},
    "MARKETING_SUPPRESSED": {"suppressed": "131050"},
    "MARKETING_FREQUENCY_CAP": {"marketing_sent": 3},
    "PHONE_QUALITY_LOW": {"quality": "RED"},
}


def judge(spec: dict[str, Any], channel: Channel = Channel.WHATSAPP, **facts) -> str | Category:
    """The reason the message of `spec` is refused for, or the category it is accepted with."""
    if spec["content"] == "template":
        params = [{"text": f"v{i}"} for i in range(spec["body_values"])]
        content = {"template": {"template_name": "promo", "language": "en_US", "body_parameters": params}}
    else:
        content = {"text": {"body": "hello"}}
    template = (
        Template("promo", "en_US", Category.MARKETING, spec["template_status"], "waba-1", body_variables=("1", "2"))
        if spec["template"]
        else None
    )
    draft = Draft(channel, spec["category"], "+919812345678", content)
    rule_facts = RuleFacts(
        consent=spec["consent"],
        window_open=spec["window_open"],
        template=template,
        suppressed=spec["suppressed"],
        sender_paused_until=NOW + 60 if spec["paused"] else 0.0,
        marketing_requires_opt_in=spec["requires_opt_in"],
        marketing_sent=spec["marketing_sent"],
        marketing_cap=3,
        phone_quality=spec["quality"],
        **facts,
    )
    try:
        return check_rules(draft, rule_facts, NOW)
    except FailedPrecondition as refusal:
        assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
        assert refusal.metadata == {"subject": "+919812345678"}  # names whom it is about
        return refusal.reason


def broken(*rules: str) -> dict[str, Any] | None:
    """BASE with these rules broken; None when two of them set the same fact differently."""
    spec = dict(BASE)
    changed: dict[str, Any] = {}
    for rule in rules:
        for key, value in BREAKS[rule].items():
            if key in changed and changed[key] != value:
                return None
            changed[key] = value
    spec.update(changed)
    return spec


def test_the_table_covers_every_rule_in_order():
    assert list(BREAKS) == ORDER


def test_a_message_that_breaks_no_rule_is_accepted_with_its_templates_category():
    assert judge(BASE) == Category.MARKETING
    # Free-form inside the window, as a service message.
    assert judge({**BASE, "content": "text", "window_open": True, "category": Category.SERVICE}) == Category.SERVICE


@pytest.mark.parametrize("rule", ORDER)
def test_each_rule_alone(rule):
    assert judge(broken(rule)) == rule


# A template has one status at a time: these rules are never broken together.
ONE_STATUS = {"TEMPLATE_NOT_APPROVED", "TEMPLATE_PAUSED", "TEMPLATE_DISABLED"}
PAIRS = [pair for pair in itertools.combinations(ORDER, 2) if not set(pair) <= ONE_STATUS]


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_of_two_rules_broken_the_earlier_refuses(first, second):
    spec = broken(first, second)
    if spec is None:  # both set consent: opted out breaks both (a marketing opt-in is then missing too)
        spec = {**BASE, "consent": "OPTED_OUT", "requires_opt_in": True}
    assert judge(spec) == first


def test_every_rule_broken_at_once_refuses_for_the_first():
    spec = {**BASE, **{k: v for rule in ORDER for k, v in BREAKS[rule].items()}, "consent": "OPTED_OUT"}
    assert judge(spec) == "CONSENT_OPTED_OUT"


def test_the_opt_out_confirmation_passes_the_consent_rule_only():
    assert judge(broken("CONSENT_OPTED_OUT"), opt_out_confirmation=True) == Category.MARKETING
    assert judge(broken("CONSENT_OPTED_OUT", "SENDER_PAUSED"), opt_out_confirmation=True) == "SENDER_PAUSED"


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])
def test_whatsapps_own_rules_do_not_apply_on_other_channels(channel):
    text = {**BASE, "content": "text"}
    assert judge({**text, "paused": True}, channel) == Category.MARKETING  # no window, no pause off WhatsApp
    assert judge({**text, "consent": "OPTED_OUT"}, channel) == "CONSENT_OPTED_OUT"
    assert judge({**text, "suppressed": "131050"}, channel) == "MARKETING_SUPPRESSED"
