"""A template Meta pauses under a running campaign, through the whole stack as `make run` starts it: the template is
created through the HTTP API and approved by the sandbox, a 1,200-recipient campaign sends it from one phone, and
mid-job the sandbox (playing Meta) pauses it (POST /sandbox/templates/status: its message_template_status_update
event reaches messaging's ingest). The job pauses with the reason; nothing more of it goes out; Meta reinstates the
template, the job is resumed, and it completes. No recipient gets two messages, and the report and the sandbox log
agree recipient by recipient.

None is skipped either: sends handed to Meta after its pause and before messaging learnt of it (the event's way
through ingest, then the TEMPLATE hold every dispatcher reads within a second) are refused by Meta with 132015;
messaging reads that as withdrawn (TEMPLATE_PAUSED, the key freed) and ResumeJob reopens those recipients, so each
is sent once more. The sandbox log read independently: a call logged while the template was paused (between the
sandbox's moves, by their `moved_at_ns`) was refused; every recipient has exactly one call that was not, and the
report names that call's id."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from runtime.settings import Settings
from tests.process.meta_support import Api, campaign, job_calls
from tests.support.polling import until

pytestmark = pytest.mark.process

RECIPIENTS = 1200
SENT = {"sent", "delivered", "read"}


def test_a_template_paused_mid_job_pauses_it_with_the_reason_and_resumed_each_recipient_gets_one(stack):
    api = Api(stack)
    name = f"autumn_{uuid.uuid4().hex[:8]}"
    api.approved_template(name, "CATEGORY_MARKETING")
    numbers = [f"+9198776{i:05d}" for i in range(RECIPIENTS)]
    # One phone (80 a second): the job lasts about 15 s, long enough for the pause to reach it mid-way.
    phone = Settings.from_env({}).whatsapp_phone_number_ids[0]
    job = api.post("bulkJobs", {**campaign(name, "CATEGORY_MARKETING", numbers), "originations": [phone]})
    api.post(f"{job['name']}:start", {})

    until(
        "a sixth of the job sent",
        lambda: len(job_calls(stack, job["name"])) >= RECIPIENTS // 6,
        within=60,
        step=0.05,
    )
    reason = "Low quality: customers blocked the business"
    moved = api.sandbox_post(
        "/sandbox/templates/status", {"name": name, "language": "en_US", "event": "PAUSED", "reason": reason}
    )
    assert moved["status"] == "PAUSED"
    paused_ns = moved["moved_at_ns"]
    paused = until(
        "the job paused by the template's pause",
        lambda: (j := api.get(job["name"]))["state"] in ("JOB_STATE_PAUSED", "JOB_STATE_COMPLETED") and j,
        within=30,
    )
    assert paused["state"] == "JOB_STATE_PAUSED", f"the job finished before the pause reached it: {paused}"
    assert "TEMPLATE_PAUSED" in paused["stateReason"] and name in paused["stateReason"], paused
    assert api.get(f"templates/{name}.en_US")["templateStatus"] == "PAUSED"

    # Nothing of the job goes out while it is paused (a call in flight may land within messaging's call timeout).
    time.sleep(2.5)
    at_pause = len(job_calls(stack, job["name"]))
    assert at_pause < RECIPIENTS, "it paused with nothing left to send"
    time.sleep(2.0)
    assert len(job_calls(stack, job["name"])) == at_pause, "sent while paused"

    back = api.sandbox_post("/sandbox/templates/status", {"name": name, "language": "en_US", "event": "REINSTATED"})
    reinstated_ns = back["moved_at_ns"]
    until("the template reinstated", lambda: api.get(f"templates/{name}.en_US")["templateStatus"] == "APPROVED")
    api.post(f"{job['name']}:resume", {})
    done = until(
        "the resumed job's report", lambda: (j := api.get(job["name"])).get("reportUri") and j, within=120, step=0.5
    )
    assert done["state"] == "JOB_STATE_COMPLETED", done

    calls = job_calls(stack, job["name"])
    refused = [c for c in calls if paused_ns < c.t_ns < reinstated_ns]  # Meta answered 132015 to these
    made = [c for c in calls if c not in refused]
    in_log = Counter(c.to.lstrip("+") for c in made)
    twice = [r for r, n in in_log.items() if n > 1]
    assert not twice, f"{len(twice)} recipients got two messages, e.g. {twice[:5]}"
    report = {r.lstrip("+"): line for r, line in api.report(done).items()}
    assert sorted(report) == sorted(n.lstrip("+") for n in numbers)
    outcomes = Counter(line["outcome"] for line in report.values())
    assert set(in_log) == set(report), f"skipped: {len(set(report) - set(in_log))} ({outcomes})"
    for c in made:
        assert report[c.to.lstrip("+")]["providerMessageId"] == c.id
    assert all(line["outcome"] in SENT for line in report.values()), outcomes
    assert int(done["counts"]["sent"]) == RECIPIENTS
    assert {c.to for c in refused} <= {c.to for c in made}  # each refused one was sent again
    print(
        f"paused with {at_pause} of {RECIPIENTS} sent; outcomes {dict(outcomes)};",
        f"refused by Meta (132015) and sent again after the resume: {len(refused)}",
    )
