"""domain.holds: what the book says of a message at its call, rule by rule (pure, no I/O)."""

from __future__ import annotations

import dataclasses

from services.messaging.domain import holds
from services.messaging.domain.model import Category, Channel
from tests.messaging.test_store_contract import NOW, message

WHO = "+919812345678"


def book(*noted: holds.Hold) -> holds.HoldBook:
    b = holds.HoldBook()
    b.add(noted)
    return b


def code(b: holds.HoldBook, m) -> str | None:
    verdict = b.verdict(m)
    return verdict.code if verdict else None


def test_a_stop_after_acceptance_holds_every_message_but_the_confirmation_and_a_start_lifts_it():
    m = message(recipient=WHO, at=NOW)
    stop = holds.opted_out(Channel.WHATSAPP, WHO, NOW + 5, "whatsapp:keyword:STOP")
    assert code(book(stop), m) == "CONSENT_OPTED_OUT"
    assert code(book(stop), dataclasses.replace(m, extra={holds.OPT_OUT_CONFIRMATION: "1"})) is None
    assert code(book(stop), dataclasses.replace(m, channel=Channel.SMS)) is None  # another channel
    assert code(book(stop), message(recipient="+919800000001", at=NOW)) is None
    start = holds.opted_in(Channel.WHATSAPP, WHO, NOW + 6, "whatsapp:keyword:START")
    assert code(book(stop, start), m) is None
    assert code(book(start, stop), m) is None  # the latest decides, whatever order they are read in
    # A STOP acceptance could already have known (older than the consent it read) is contacts' to judge.
    assert code(book(stop), message(recipient=WHO, at=NOW + 5 + holds.CONSENT_STALENESS + 1)) is None
    assert code(book(stop), message(recipient=WHO, at=NOW + 5 + holds.CONSENT_STALENESS - 1)) == "CONSENT_OPTED_OUT"


def test_a_suppression_holds_marketing_only():
    m = message(recipient=WHO, at=NOW)
    b = book(holds.suppressed(WHO, NOW + 1, "131050"))
    assert code(b, m) is None
    assert code(b, dataclasses.replace(m, category=Category.MARKETING)) == "MARKETING_SUPPRESSED"


def test_a_withdrawal_holds_what_was_accepted_under_it_by_then_not_what_came_after():
    b = book(holds.withdrawn("bulkJobs/J1/", NOW + 1), holds.withdrawn("k/x/exact", NOW + 1))
    assert code(b, message(key="bulkJobs/J1/+919812345678", at=NOW)) == "WITHDRAWN"
    assert code(b, message(key="bulkJobs/J1/+919812345678", at=NOW + 2)) is None  # resumed: accepted anew
    assert code(b, message(key="bulkJobs/J10/+919812345678", at=NOW)) is None
    assert code(b, message(key="k/x/exact", at=NOW)) == "WITHDRAWN"
    assert code(b, message(key="k/x/exactly", at=NOW)) is None  # a whole key is not a prefix
    assert code(b, message(at=NOW)) is None  # no key


def test_the_book_forgets_what_is_older_than_its_horizon():
    b = book(holds.opted_out(Channel.WHATSAPP, WHO, NOW, "STOP"), holds.withdrawn("bulkJobs/J1/", NOW))
    assert len(b) == 2
    b.forget_before(NOW + 1)
    assert len(b) == 0 and code(b, message(recipient=WHO, key="bulkJobs/J1/a", at=NOW - 1)) is None


def test_a_template_hold_holds_nothing_back_and_counts_as_a_template_move():
    b = book(holds.template_moved("spring_sale.en_US", NOW, "PAUSED"))
    assert b.templates_changed == 1
    assert code(b, message(recipient=WHO, key="bulkJobs/J1/a", at=NOW - 1)) is None
    b.add([holds.template_moved("spring_sale.en_US", NOW + 1, "REINSTATED")])
    assert b.templates_changed == 2
    b.add([holds.template_moved("spring_sale.en_US", NOW + 1, "REINSTATED")])  # read again (reads overlap)
    assert b.templates_changed == 2
