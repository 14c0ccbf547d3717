"""The bulk domain's rules, without I/O: the job state machine, how a recipient's outcome may move and what it
counts, placeholders and their values, who is suppressed and why, messaging's answers read as outcomes, the
binding rate, and the report's pieces forming one JSON document."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from runtime.errors import FailedPrecondition, InvalidArgument
from services.bulk.domain import report, spec
from services.bulk.domain.limits import Limits, RateWindow
from services.bulk.domain.model import (
    Audience,
    Channel,
    Counts,
    Job,
    JobState,
    Outcome,
    Recipient,
    Update,
    advances,
    delta,
    move,
)
from services.bulk.domain.outcomes import SendState, Verdict, verdict
from services.bulk.domain.spec import Candidate, Problems

NOW = 1_718_000_000.0


def _job(**changes) -> Job:
    base = Job(
        id="J1",
        channel=Channel.WHATSAPP,
        category="UTILITY",
        content={"text": {"body": "Hi {{display_name}}"}},
        audience=Audience("inline"),
        originations=("p1", "p2"),
        create_time=NOW,
    )
    return dataclasses.replace(base, **changes)


def test_the_state_machine_allows_exactly_its_moves():
    draft = _job()
    running = move(draft, "start", NOW)
    assert (running.state, running.start_time, running.version) == (JobState.RUNNING, NOW, 2)
    scheduled = move(_job(schedule_time=NOW + 60), "start", NOW)
    assert scheduled.state == JobState.SCHEDULED and scheduled.start_time is None
    assert move(scheduled, "begin", NOW + 60).start_time == NOW + 60
    paused = move(running, "pause", NOW + 1)
    resumed = move(paused, "resume", NOW + 2)
    assert resumed.state == JobState.RUNNING and resumed.requeue and resumed.start_time == NOW
    done = move(resumed, "complete", NOW + 3)
    assert (done.state, done.finish_time) == (JobState.COMPLETED, NOW + 3)
    assert move(paused, "cancel", NOW + 4).state == JobState.CANCELLED
    assert move(running, "fail", NOW, "contacts unreachable").failure_reason == "contacts unreachable"
    for job, action in [
        (draft, "pause"),
        (draft, "resume"),
        (draft, "complete"),
        (running, "start"),
        (running, "resume"),
        (paused, "pause"),
        (paused, "complete"),
        (done, "cancel"),
        (done, "start"),
        (scheduled, "pause"),
    ]:
        with pytest.raises(FailedPrecondition) as refused:
            move(job, action, NOW)
        assert refused.value.reason == "JOB_STATE" and job.state.value in refused.value.message


def test_outcomes_only_move_forward():
    assert advances(Outcome.PENDING, Outcome.SENT) and advances(Outcome.CLAIMED, Outcome.SUPPRESSED)
    assert advances(Outcome.SENT, Outcome.DELIVERED) and advances(Outcome.DELIVERED, Outcome.READ)
    assert advances(Outcome.UNKNOWN, Outcome.SENT) and advances(Outcome.DELIVERED, Outcome.FAILED)
    assert not advances(Outcome.READ, Outcome.FAILED)  # a read message did not fail
    assert not advances(Outcome.READ, Outcome.DELIVERED) and not advances(Outcome.SENT, Outcome.SENT)
    assert not advances(Outcome.FAILED, Outcome.SENT) and not advances(Outcome.SUPPRESSED, Outcome.SENT)
    assert not advances(Outcome.SENT, Outcome.PENDING) and not advances(Outcome.PENDING, Outcome.CLAIMED)
    # 131049 after a send; nothing moves a limited recipient (its re-attempt is another message).
    assert advances(Outcome.SENT, Outcome.LIMITED) and not advances(Outcome.LIMITED, Outcome.DELIVERED)


def test_counts_follow_each_move_once():
    path = [Outcome.PENDING, Outcome.SENT, Outcome.DELIVERED, Outcome.READ]
    totals: dict[str, int] = {"total": 1}
    for a, b in itertools.pairwise(path):
        for k, v in delta(a, b).items():
            totals[k] = totals.get(k, 0) + v
    counts = Counts.from_totals(totals)
    assert (counts.sent, counts.delivered, counts.read, counts.pending) == (1, 1, 1, 0)
    assert delta(Outcome.DELIVERED, Outcome.FAILED) == {"sent": -1, "delivered": -1, "failed": 1}
    assert Counts.from_totals({"total": 3, "suppressed": 2, "sup:opted_out": 2}).audience_suppressed == {"opted_out": 2}
    assert delta(Outcome.SENT, Outcome.LIMITED) == {"sent": -1, "limited": 1}
    limited = Counts.from_totals({"total": 2, "limited": 1, "sent": 1})
    assert (limited.limited, limited.pending) == (1, 0)


def test_placeholders_are_found_rendered_and_valued():
    content = {
        "template": {
            "body_parameters": [{"text": "{{display_name}}"}, {"text": "{{ attributes.order }} / {{1}}"}],
            "header_parameters": [],
        }
    }
    assert spec.placeholders(content) == {"display_name", "attributes.order"}
    assert [s.path for s in spec.sites(content)] == [
        ("template", "body_parameters", 0, "text"),
        ("template", "body_parameters", 1, "text"),
    ]
    values = {"display_name": "Asha", "attributes.order": "A-1"}
    assert spec.render("{{ attributes.order }} / {{1}}", values) == "A-1 / {{1}}"  # Meta's own stay as they are
    found, missing = spec.values_of(Candidate("+91", display_name="Asha"), {"display_name", "attributes.order"})
    assert found == {"display_name": "Asha"} and missing == ["attributes.order"]


def _check(**overrides) -> list[str]:
    problems = Problems()
    fields = {
        "channel": Channel.WHATSAPP,
        "category": "UTILITY",
        "content": {"text": {"body": "Hi {{display_name}}"}},
        "content_kind": "text",
        "originations": (),
        "configured": {Channel.WHATSAPP: ("p1", "p2"), Channel.SMS: ("pool",), Channel.EMAIL: ("one@x.io",)},
        "display_name": "",
        "schedule_time": None,
        "now": NOW,
        **overrides,
    }
    spec.check_job(problems, **fields)
    return [p.field for p in problems.found]


def test_a_job_is_checked_field_by_field():
    assert _check() == []
    assert _check(channel=None) == ["job.channel"]
    assert _check(category=None) == ["job.category"]
    assert _check(originations=("p3",)) == ["job.originations[0]"]
    assert _check(originations=("p1", "p1")) == ["job.originations"]
    assert _check(schedule_time=NOW - 1) == ["job.schedule_time"]
    assert _check(content={}, content_kind=None) == ["job.content"]
    assert _check(content={"text": {"body": " "}}) == ["job.content.text.body"]
    assert _check(channel=Channel.SMS, content={"email": {"subject": "x", "text_body": "y"}}, content_kind="email") == [
        "job.content.email"
    ]
    assert _check(content={"text": {"body": "{{shoe_size}}"}}) == ["job.content.text.body"]
    assert _check(channel=Channel.EMAIL, content={"email": {"subject": "", "html_body": ""}}, content_kind="email") == [
        "job.content.email.subject",
        "job.content.email.text_body",
    ]


def test_a_template_gets_each_of_its_variables():
    facts = spec.TemplateFacts("order_update", "en_US", "UTILITY", "APPROVED", body_variables=("1", "2"))

    def fields(body, f=facts, category="UTILITY") -> list[str]:
        problems = Problems()
        spec.check_template(problems, {"template_name": "order_update", "language": "en_US", **body}, f, category)
        return [p.field for p in problems.found]

    two = {"body_parameters": [{"text": "a"}, {"text": "b"}]}
    assert fields(two) == []
    assert fields({}) == ["job.content.template.body_parameters"]
    assert fields({"body_parameters": [{"text": "a"}, {"text": " "}]}) == [
        "job.content.template.body_parameters[1].text"
    ]
    assert fields(two, None) == ["job.content.template.template_name"]
    assert fields(two, category="MARKETING") == ["job.category"]
    assert fields(two, dataclasses.replace(facts, status="PAUSED")) == ["job.content.template.template_name"]


def test_inline_rows_are_checked_row_by_row_and_problems_raise_together():
    problems = Problems()
    rows = [
        Candidate("+919812345678", display_name="Asha"),
        Candidate("", display_name="Ravi"),
        Candidate("hello", display_name="Neha"),
        Candidate("+919812345679"),
        Candidate("098123 45670", display_name="Imran", attributes={"bad key": "x"}),
    ]
    spec.check_inline(problems, rows, Channel.WHATSAPP, {"display_name"})
    assert [p.field for p in problems.found] == [
        "job.inline_audience.recipients[1].address",
        "job.inline_audience.recipients[2].address",
        "job.inline_audience.recipients[3].display_name",
        "job.inline_audience.recipients[4].attributes",
    ]
    with pytest.raises(InvalidArgument) as raised:
        problems.raise_any()
    assert len(raised.value.violations) == 4


def test_who_is_admitted_and_why_others_are_suppressed():
    def admit(c: Candidate, channel=Channel.WHATSAPP, consent="NOT_OPTED_OUT", names=frozenset(), inline=True):
        return spec.admit(c, channel, "IN", set(names), consent, inline)

    assert admit(Candidate("098123 45678")) == spec.Admitted("+919812345678", {})
    assert admit(Candidate("+91 12345")) == "invalid_number"
    assert admit(Candidate("")) == "no_address"
    assert admit(Candidate("+919812345678", consent="OPTED_OUT")) == "opted_out"
    assert admit(Candidate("+919812345678"), consent="OPTED_IN") == "not_opted_in"
    assert admit(Candidate("+919812345678", consent="OPTED_IN"), consent="OPTED_IN") == spec.Admitted(
        "+919812345678", {}
    )
    assert admit(Candidate("+919812345678"), names={"attributes.city"}) == "missing_variable"
    assert admit(Candidate("Asha@Example.com"), channel=Channel.EMAIL) == spec.Admitted("asha@example.com", {})
    assert admit(Candidate("asha@"), channel=Channel.EMAIL) == "invalid_address"
    # An inline recipient's address answers {{phone_number}}.
    assert admit(Candidate("+919812345678"), names={"phone_number"}) == spec.Admitted(
        "+919812345678", {"phone_number": "+919812345678"}
    )


def test_messaging_answers_read_as_outcomes():
    assert verdict(3, SendState("SENT", "messages/M", "wamid.1")) == (
        Verdict.OUTCOME,
        Update(3, Outcome.SENT, message="messages/M", provider_id="wamid.1"),
    )
    kind, update = verdict(1, SendState("FAILED", "messages/M", "w", "131026", "undeliverable"))
    assert kind == Verdict.OUTCOME and (update.outcome, update.error_code, update.reason) == (
        Outcome.FAILED,
        "131026",
        "undeliverable",
    )
    assert verdict(0, SendState("ACCEPTED")) == (Verdict.IN_FLIGHT, None)
    assert verdict(0, SendState("WITHDRAWN")) == (Verdict.WITHDRAWN, None)
    refused = SendState(refusal_code="FAILED_PRECONDITION", refusal_reason="CONSENT_OPTED_OUT")
    assert verdict(0, refused)[1].reason == "opted_out"
    assert verdict(0, SendState(refusal_code="FAILED_PRECONDITION", refusal_reason="WINDOW_CLOSED"))[1].reason == (
        "closed_window"
    )
    assert verdict(0, SendState(refusal_code="UNAVAILABLE")) == (Verdict.RETRY, None)
    bad = verdict(0, SendState(refusal_code="INVALID_ARGUMENT", refusal_message="messages[0].recipient: bad"))[1]
    assert (bad.outcome, bad.error_code) == (Outcome.FAILED, "INVALID_ARGUMENT")


def test_meta_rules_read_as_outcomes():
    # Failed by a rule at the call (messaging read it again just before): suppressed with the rule's reason.
    capped = verdict(2, SendState("FAILED", "messages/M", "", "MARKETING_FREQUENCY_CAP", "refused before the call"))[1]
    assert (capped.outcome, capped.reason, capped.message) == (Outcome.SUPPRESSED, "frequency_cap", "messages/M")
    stopped = verdict(2, SendState("FAILED", "messages/M", "", "CONSENT_OPTED_OUT", ""))[1]
    assert (stopped.outcome, stopped.reason) == (Outcome.SUPPRESSED, "opted_out")
    refused = SendState(refusal_code="FAILED_PRECONDITION", refusal_reason="MARKETING_FREQUENCY_CAP")
    assert verdict(0, refused)[1].reason == "frequency_cap"
    # 131049: limited, the reason naming the re-attempt.
    limited = SendState(
        "LIMITED",
        "messages/M",
        "wamid.1",
        "131049",
        "",
        reattempt_key="bulkJobs/J/+91/reattempt-1",
        reattempt_time="2026-12-04T10:00:00Z",
    )
    kind, update = verdict(4, limited)
    assert kind == Verdict.OUTCOME and (update.outcome, update.error_code) == (Outcome.LIMITED, "131049")
    assert update.reason == "re-attempt bulkJobs/J/+91/reattempt-1 due 2026-12-04T10:00:00Z"
    assert verdict(4, SendState("LIMITED", "messages/M", "", "131049"))[1].reason == "no re-attempt"


def test_the_binding_rate_and_the_rate_window():
    limits = Limits({"p2": 1000.0}, default_phone_rate=80, account_rate=1000, sms_rate=20, email_rate=14)
    assert limits.binding_rate(Channel.WHATSAPP, ("p1", "p3")) == 160
    assert limits.binding_rate(Channel.WHATSAPP, ("p1", "p2")) == 1000  # the account's limit binds
    assert limits.binding_rate(Channel.SMS, ("a", "b", "c")) == 60
    assert limits.binding_rate(Channel.EMAIL, ("one@x.io",)) == 14
    clock = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    window = RateWindow(span=3.0, clock=lambda: next(clock))
    rates = [window.observe(n) for n in (0, 100, 200, 300, 400, 400)]
    assert rates[1:4] == [100.0, 100.0, 100.0] and rates[5] < rates[4]


def test_the_report_pieces_make_one_json_document():
    job = _job(state=JobState.CANCELLED, finish_time=NOW + 90)
    rows = [
        Recipient(0, "+919812345678", "C1", outcome=Outcome.READ, message="messages/M1", provider_id="w1"),
        Recipient(1, "+919812345679", outcome=Outcome.SUPPRESSED, reason="cancelled"),
        Recipient(2, "+919812345670", outcome=Outcome.FAILED, message="messages/M2", error_code="131026"),
        Recipient(3, "+919812345671", outcome=Outcome.UNKNOWN, message="messages/M3"),
    ]
    tally = report.Tally()
    body = report.head(job)
    for r in rows:
        body += report.line(r, first=tally.total == 0)
        tally.add(r.outcome)
    doc = json.loads(body + report.tail(tally))
    assert set(doc) == {
        "jobId",
        "channel",
        "status",
        "createTime",
        "finishTime",
        "recipients",
        "totalRecipients",
        "sentCount",
        "failedCount",
        "suppressedCount",
    }
    assert (doc["status"], doc["createTime"], doc["finishTime"]) == (
        "cancelled",
        "2024-06-10T06:13:20.000Z",
        "2024-06-10T06:14:50.000Z",
    )
    assert (doc["totalRecipients"], doc["sentCount"], doc["failedCount"], doc["suppressedCount"]) == (4, 1, 1, 1)
    assert doc["recipients"][0] == {
        "recipient": "+919812345678",
        "contact": "contacts/C1",
        "outcome": "read",
        "messageId": "M1",
        "providerMessageId": "w1",
        "errorCode": "",
        "reason": "",
    }
    empty = json.loads(report.head(job) + report.tail(report.Tally()))
    assert empty["recipients"] == [] and empty["totalRecipients"] == 0
