"""CreateJob's checks and its dry run, over gRPC on the bulk process as main() wires it: bad input is
INVALID_ARGUMENT naming the field or the row and creates nothing; the dry run counts the audience (recipients,
suppressed by reason, ETA from the binding limit) and creates and sends nothing; a contact audience is chosen by
tags and consent, and its members' values come from their contact fields and attributes."""

from __future__ import annotations

import sqlite3
from collections import Counter

import grpc
import pytest
from google.protobuf import timestamp_pb2

from tests.bulk.support import OPERATOR, VIEWER, read_report, template_job, wait_for
from tests.messaging.support import recipients
from tests.support.rpc import violations
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2 as cpb
from wecare.messaging.v1 import messaging_service_pb2 as mpb


def _chunk_rows(env) -> int:
    path = env.root / "bulk" / "BulkJobChunksTable.sqlite3"
    with sqlite3.connect(path) as db:
        return (
            db.execute("SELECT count(*) FROM recipients").fetchone()[0]
            + db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        )


def _text_job(recipients: list[str], **fields) -> pb.BulkJob:
    return pb.BulkJob(
        channel=mpb.CHANNEL_WHATSAPP,
        category=mpb.CATEGORY_UTILITY,
        content=mpb.Content(text=mpb.TextContent(body="Hi {{display_name}}, your order is ready")),
        inline_audience=pb.InlineAudience(
            recipients=[pb.InlineRecipient(address=r, display_name="Asha") for r in recipients]
        ),
        **fields,
    )


def _bad_cases() -> list[tuple[str, pb.BulkJob, str]]:
    to = recipients(4)
    no_channel = template_job(to)
    no_channel.channel = mpb.CHANNEL_UNSPECIFIED
    unknown_channel = template_job(to)
    unknown_channel.channel = 99  # a number no Channel has
    no_audience = template_job(to)
    no_audience.ClearField("inline_audience")
    empty_list = template_job([])
    empty_list.inline_audience.SetInParent()
    no_values = template_job(to)
    del no_values.content.template.body_parameters[:]
    bad_row = template_job(to)
    bad_row.inline_audience.recipients[2].address = "call me maybe"
    missing_attribute = template_job(to)
    del missing_attribute.inline_audience.recipients[1].attributes["order"]
    unknown_placeholder = template_job(to)
    unknown_placeholder.content.template.body_parameters[0].text = "{{nickname}}"
    unknown_template = template_job(to)
    unknown_template.content.template.template_name = "no_such_template"
    foreign_phone = template_job(to, originations=["phone-number-id-ffffffffffffffffffffffffffffffff"])
    sms_template = template_job(to)
    sms_template.channel = mpb.CHANNEL_SMS
    past = template_job(to, schedule_time=timestamp_pb2.Timestamp(seconds=1_600_000_000))
    no_category = template_job(to)
    no_category.category = mpb.CATEGORY_UNSPECIFIED
    return [
        ("no channel", no_channel, "job.channel"),
        ("unknown channel", unknown_channel, "job.channel"),
        ("no audience", no_audience, "job.audience"),
        ("empty list", empty_list, "job.inline_audience.recipients"),
        ("template without its values", no_values, "job.content.template.body_parameters"),
        ("a bad inline recipient", bad_row, "job.inline_audience.recipients[2].address"),
        ("a row without a value it needs", missing_attribute, "job.inline_audience.recipients[1].attributes"),
        ("unknown placeholder", unknown_placeholder, "job.content.template.body_parameters[0].text"),
        ("unknown template", unknown_template, "job.content.template.template_name"),
        ("a phone that is not ours", foreign_phone, "job.originations[0]"),
        ("a template on SMS", sms_template, "job.content.template"),
        ("a schedule in the past", past, "job.schedule_time"),
        ("no category", no_category, "job.category"),
    ]


@pytest.mark.parametrize("validate_only", [False, True], ids=["create", "dry-run"])
async def test_bad_input_names_the_field_or_row_and_creates_nothing(env, validate_only):
    stub = env.stub()
    for label, job, field in _bad_cases():
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateJob(pb.CreateJobRequest(job=job, validate_only=validate_only), metadata=OPERATOR)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT, label
        assert field in violations(refused.value), (label, violations(refused.value))
    assert list((await stub.ListJobs(pb.ListJobsRequest(), metadata=VIEWER)).jobs) == []
    assert _chunk_rows(env) == 0
    assert env.double.sends == [] and env.double.messages == {}


async def test_a_viewer_may_read_but_not_create(env):
    stub = env.stub()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateJob(pb.CreateJobRequest(job=template_job(recipients(1))), metadata=VIEWER)
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as admin_only:
        await stub.ListDeadLetterChunks(pb.ListDeadLetterChunksRequest(), metadata=OPERATOR)
    assert admin_only.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_dry_run_counts_recipients_and_suppressions_and_creates_nothing(env):
    a, b, c, d, e = recipients(5, start=300)
    await env.contacts.CreateContact(
        cpb.CreateContactRequest(
            contact=cpb.Contact(
                display_name="Dev",
                phone_number=d,
                whatsapp_consent=cpb.ChannelConsent(state=cpb.CONSENT_STATE_OPTED_OUT, source="whatsapp:keyword:STOP"),
            )
        ),
        metadata=OPERATOR,
    )
    env.double.open_windows = {a, b, c}  # e wrote to us over a day ago: its window is closed
    job = _text_job([a, b, c, d, e, a, "+91 12345"])  # a twice; a number no phone can have
    stub = env.stub()
    dry = await stub.CreateJob(pb.CreateJobRequest(job=job, validate_only=True), metadata=OPERATOR)
    summary = dry.audience_summary
    assert (summary.total_count, summary.recipient_count, summary.suppressed_count) == (7, 3, 4)
    assert dict(summary.suppressed_by_reason) == {
        "duplicate": 1,
        "invalid_number": 1,
        "opted_out": 1,
        "closed_window": 1,
    }
    assert dry.binding_rate == 160.0
    assert dry.estimated_duration.ToTimedelta().total_seconds() == pytest.approx(3 / 160)
    assert dry.name == "" and dry.state == pb.JOB_STATE_UNSPECIFIED
    assert list((await stub.ListJobs(pb.ListJobsRequest(), metadata=VIEWER)).jobs) == []
    assert _chunk_rows(env) == 0 and env.double.messages == {}


async def _contact(env, phone: str, name: str, tags: list[str], consent: int = 0, **attributes) -> cpb.Contact:
    return await env.contacts.CreateContact(
        cpb.CreateContactRequest(
            contact=cpb.Contact(
                display_name=name,
                phone_number=phone,
                tags=tags,
                attributes=attributes,
                whatsapp_consent=cpb.ChannelConsent(state=consent, source="import"),
            )
        ),
        metadata=OPERATOR,
    )


async def test_a_contact_audience_by_tags_and_consent_with_values_from_the_contacts(env):
    to = recipients(6, start=700)
    made = [
        await _contact(env, to[0], "Asha", ["vip", "pune"], cpb.CONSENT_STATE_OPTED_IN, order="A-0"),
        await _contact(env, to[1], "Ravi", ["vip"], cpb.CONSENT_STATE_OPTED_IN, order="A-1"),
        await _contact(env, to[2], "Neha", ["vip"], cpb.CONSENT_STATE_OPTED_OUT, order="A-2"),
        await _contact(env, to[3], "Imran", ["vip"], cpb.CONSENT_STATE_UNSPECIFIED, order="A-3"),
        await _contact(env, to[4], "Chen", ["vip"], cpb.CONSENT_STATE_OPTED_IN),  # no order attribute
        await _contact(env, to[5], "Maria", ["trial"], cpb.CONSENT_STATE_OPTED_IN, order="A-5"),
    ]
    job = template_job([])
    job.ClearField("inline_audience")
    job.contact_query.CopyFrom(pb.ContactQuery(tags=["VIP"], consent=pb.CONSENT_REQUIREMENT_OPTED_IN))
    stub = env.stub()
    dry = await stub.CreateJob(pb.CreateJobRequest(job=job, validate_only=True), metadata=OPERATOR)
    assert dict(dry.audience_summary.suppressed_by_reason) == {
        "opted_out": 1,
        "not_opted_in": 1,
        "missing_variable": 1,
    }
    assert (dry.audience_summary.total_count, dry.audience_summary.recipient_count) == (5, 2)

    created = await stub.CreateJob(pb.CreateJobRequest(job=job), metadata=OPERATOR)
    assert created.state == pb.JOB_STATE_DRAFT and not created.audience_summary.complete
    assert list(created.contact_query.tags) == ["vip"]
    await stub.StartJob(pb.StartJobRequest(name=created.name), metadata=OPERATOR)
    done = await wait_for(stub, created.name, pb.JOB_STATE_COMPLETED)
    sends = env.double.sent_to(f"{created.name}/")
    assert sorted(s.recipient for s in sends) == [to[0], to[1]]
    values = {h.recipient: [p.text for p in h.content.template.body_parameters] for h in env.double.messages.values()}
    assert values == {to[0]: ["Asha", "A-0"], to[1]: ["Ravi", "A-1"]}
    assert done.audience_summary.complete and done.audience_summary.suppressed_count == 3
    report = await read_report(done.report_uri)
    outcomes = {r["recipient"]: (r["outcome"], r["reason"], r["contact"]) for r in report["recipients"]}
    assert outcomes[to[2]] == ("suppressed", "opted_out", made[2].name)
    assert outcomes[to[3]] == ("suppressed", "not_opted_in", made[3].name)
    assert outcomes[to[4]] == ("suppressed", "missing_variable", made[4].name)
    assert Counter(o for o, _, _ in outcomes.values())["suppressed"] == 3 and to[5] not in outcomes
    assert (report["totalRecipients"], report["sentCount"], report["suppressedCount"]) == (5, 2, 3)
