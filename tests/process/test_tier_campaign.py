"""A marketing campaign planned against the messaging tier, through the whole stack as `make run` starts it, with
Meta's day compressed (WECARE_TIME_SCALE): issue 15's 5,000 recipients against a tier of 2,000, scaled down by ten
to 500 against 200 (the same ratio, 2.5 tiers) so the test takes about a minute and a half on two cores. Meta's day
lasts 30 s (scale 2880); the reserve for utility and authentication is the default 10% (20 places), so marketing
may reach 180 customers in any rolling window.

Shown from outside: the dry run says 180 recipients today and a finish time with the waits included; the job sends
up to 180, goes WAITING with the time it expects to continue (GetJob and WatchJob), continues by itself, and
completes; each recipient once; an independent reading of the sandbox log finds no rolling (30 s) window with more
than 180 unique recipients; and the dry run's finish is within 5% (of the job's whole duration) of the last send
the sandbox logged. The figures are printed (run with -s to see them).

On the same stack, 131049: limited recipients re-attempted once a (compressed) day later, not those who wrote STOP
meanwhile; the job waits for the re-attempts and completes only after them, its report saying what became of each."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from localrun.handle import Stack, running_stack
from localrun.sandbox import log as sandbox_log
from runtime.timescale import TimeScale
from services.messaging.domain.tier import ADMISSION_GRACE
from tests.process.meta_support import Api, Watch, campaign, job_calls, wall
from tests.support.polling import until

pytestmark = pytest.mark.process

SCALE = 2880.0  # Meta's day in 30 s
# WECARE_TIER_DEMO=full runs the issue's own sizes (5,000 against 2,000: about three minutes more), as recorded in
# the closing note; `make test` runs the tenth.
FULL = os.environ.get("WECARE_TIER_DEMO") == "full"
TIER = 2000 if FULL else 200
RESERVE = TIER // 10  # WECARE_WHATSAPP_TIER_RESERVE's default, 10%
RECIPIENTS = 5000 if FULL else 500
ETA_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def tier_stack(tmp_path_factory) -> Iterator[Stack]:
    env = {"WECARE_TIME_SCALE": str(SCALE), "WECARE_WHATSAPP_MESSAGING_TIER": str(TIER)}
    with running_stack(tmp_path_factory.mktemp("tier-stack"), extra_env=env) as running:
        yield running


def test_a_campaign_over_the_tier_waits_for_the_window_and_finishes_when_the_dry_run_said(tier_stack):
    api = Api(tier_stack)
    day = TimeScale(SCALE).day
    tier = api.get("messagingTier")
    assert (int(tier["limit"]), int(tier["reserve"]), tier["limitSource"]) == (TIER, RESERVE, "setting")
    assert int(tier["marketingAvailable"]) == TIER - RESERVE and int(tier.get("used", 0)) == 0
    assert tier["windowSeconds"] == pytest.approx(day)
    # A customer leaves the window up to a bucket and the admission's grace after a day: the dry run plans with it.
    assert tier["releaseLagSeconds"] == pytest.approx(tier["bucketSeconds"] + ADMISSION_GRACE)

    name = f"spring_{uuid.uuid4().hex[:8]}"
    api.approved_template(name, "CATEGORY_MARKETING")
    numbers = [f"+9198775{i:05d}" for i in range(RECIPIENTS)]
    body = campaign(name, "CATEGORY_MARKETING", numbers)
    job = api.post("bulkJobs", body)

    # The dry run of the very job, just before it starts.
    dry = api.post("bulkJobs", body, validateOnly="true")
    planned_at = time.time()
    assert int(dry["budgetRecipients"]) == TIER - RESERVE, dry
    eta = wall(dry["estimatedFinishTime"])
    assert eta > planned_at + 2 * day, "2.5 tiers of recipients: two waits for the window at least"

    watch = Watch(api, job["name"])
    api.post(f"{job['name']}:start", {})

    waiting = until(
        "the job waiting for the tier",
        lambda: (j := api.get(job["name"]))["state"] != "JOB_STATE_RUNNING" and j,
        within=day,
    )
    assert waiting["state"] == "JOB_STATE_WAITING", waiting
    assert "tier" in waiting["stateReason"], waiting
    expected = wall(waiting["resumeTime"])
    first = job_calls(tier_stack, job["name"])
    assert first, "nothing sent before the job waited"
    first_send = min(c.t_ns for c in first) / 1e9
    assert expected >= first_send + day, "it expects to go on only once the first customers leave the window"
    # Nothing goes out while it waits (a send already in flight may land within the call timeout).
    time.sleep(2.5)
    sent_by_then = len(job_calls(tier_stack, job["name"]))
    assert sent_by_then <= TIER - RESERVE
    assert time.time() + 3.0 < expected, "the job waits well past this second look"
    time.sleep(3.0)
    assert len(job_calls(tier_stack, job["name"])) == sent_by_then, "sent while waiting"

    done = until(
        "the campaign's report",
        lambda: (j := api.get(job["name"])).get("reportUri") and j,
        within=3 * day + 60,
        step=0.5,
    )
    watch.join(within=30)
    assert done["state"] == "JOB_STATE_COMPLETED" and int(done["counts"]["sent"]) == RECIPIENTS, done
    states = watch.states()
    assert states[-1] == "JOB_STATE_COMPLETED" and "JOB_STATE_WAITING" in states, states
    assert states.index("JOB_STATE_WAITING") > states.index("JOB_STATE_RUNNING"), states
    assert any(step.get("resumeTime") for _, step in watch.steps if step["state"] == "JOB_STATE_WAITING")

    # The independent reading: the sandbox log.
    calls = job_calls(tier_stack, job["name"])
    per_recipient = Counter(c.to.lstrip("+") for c in calls)
    assert sorted(per_recipient) == sorted(n.lstrip("+") for n in numbers), "someone skipped"
    assert max(per_recipient.values()) == 1, [r for r, n in per_recipient.items() if n > 1][:5]
    times = sorted(c.t_ns for c in calls)
    width = int(day * 1e9)
    worst = sandbox_log.max_in_window(times, width)  # each recipient once: sends in a window = unique recipients
    in_first_window = sum(1 for t in times if t < times[0] + width)
    assert worst <= TIER - RESERVE, f"{worst} unique recipients in one rolling window (marketing's cap)"
    assert in_first_window <= TIER - RESERVE

    finished = times[-1] / 1e9
    duration = finished - planned_at
    error = abs(eta - finished) / duration
    figures = (
        f"first window {in_first_window} sent, worst rolling window {worst} (tier {TIER}, marketing {TIER - RESERVE});"
        f" dry run's finish {eta - planned_at:.1f}s after it, last send {duration:.1f}s after it:"
        f" off by {eta - finished:+.2f}s = {error:.1%} of the job's duration; states {states}"
    )
    print(figures)
    assert error <= ETA_TOLERANCE, figures


def test_131049_recipients_are_re_attempted_once_a_day_later_but_not_after_a_stop(tier_stack):
    """Meta's per-user marketing limit (131049, every marketing send of the first attempt: limited_share 1): the job
    records them LIMITED and, rather than finish with re-attempts still to go, waits (WAITING, the reason naming
    them); a (compressed) day later messaging re-attempts each once, except those who sent STOP meanwhile; only then
    does the job complete, and its report says what became of each re-attempt. Runs after the campaign above on the
    same stack: its last customers leave the window within it."""
    api = Api(tier_stack)
    day = TimeScale(SCALE).day
    name = f"limited_{uuid.uuid4().hex[:8]}"
    api.approved_template(name, "CATEGORY_MARKETING")
    numbers = [f"+9198777{i:05d}" for i in range(12)]
    stopping = numbers[:4]
    requests.post(f"{api.sandbox}/sandbox/config", json={"limited_share": 1.0}, timeout=10).raise_for_status()
    try:
        job = api.post("bulkJobs", campaign(name, "CATEGORY_MARKETING", numbers))
        api.post(f"{job['name']}:start", {})
        waiting = until(
            "the job waiting for its re-attempts",
            lambda: (j := api.get(job["name"]))["state"] != "JOB_STATE_RUNNING" and j,
            within=day,
        )
    finally:
        requests.post(f"{api.sandbox}/sandbox/config", json={"limited_share": 0.0}, timeout=10).raise_for_status()
    assert waiting["state"] == "JOB_STATE_WAITING" and "131049" in waiting["stateReason"], waiting
    assert int(waiting["counts"]["limited"]) == len(numbers), waiting
    first = {c.to.lstrip("+"): c for c in job_calls(tier_stack, job["name"])}
    assert sorted(first) == sorted(n.lstrip("+") for n in numbers)

    for number in stopping:  # they write STOP before their re-attempt is due
        api.sandbox_post(
            "/sandbox/inbound", {"phone": first[number.lstrip("+")].origin, "from": number, "text": "STOP"}
        )
    last_first = max(c.t_ns for c in first.values()) / 1e9
    assert time.time() < last_first + day - 3, "the STOPs came before the re-attempts were due"

    done = until("the limited job's report", lambda: (j := api.get(job["name"])).get("reportUri") and j, within=2 * day)
    assert done["state"] == "JOB_STATE_COMPLETED" and int(done["counts"]["limited"]) == len(numbers), done
    again = [c for c in job_calls(tier_stack, job["name"]) if c.id not in {f.id for f in first.values()}]
    by_recipient = Counter(c.to.lstrip("+") for c in again)
    assert sorted(by_recipient) == sorted(n.lstrip("+") for n in numbers if n not in stopping), by_recipient
    assert max(by_recipient.values()) == 1, by_recipient
    for c in again:
        waited = (c.t_ns - first[c.to.lstrip("+")].t_ns) / 1e9
        assert waited >= day, f"{c.to} re-attempted {waited:.1f}s after the first (a day is {day:.0f}s)"
        assert "reattempt-1" in c.ref
    # Never after the job finished: it completed after the last re-attempt went.
    assert wall(done["finishTime"]) >= max(c.t_ns for c in again) / 1e9
    # The report says which were limited and what became of each re-attempt: sent (its id), or stopped.
    report = {r.lstrip("+"): line for r, line in api.report(done).items()}
    assert {line["outcome"] for line in report.values()} == {"limited"}
    calls = {c.to.lstrip("+"): c for c in again}
    for r, line in report.items():
        key = f"{job['name']}/+{r}/reattempt-1"
        assert line["reason"].startswith(f"re-attempt {key}: "), line
        if r in calls:
            assert calls[r].id in line["reason"], line
        else:  # stopped: withdrawn by the STOP, or refused at its call (consent read again)
            assert line["reason"].endswith(": withdrawn") or "CONSENT_OPTED_OUT" in line["reason"], line
    print(
        f"131049: {len(numbers)} limited, {len(again)} re-attempted once a day later; the job waited and completed"
        f" {wall(done['finishTime']) - max(c.t_ns for c in again) / 1e9:.1f}s after the last; e.g."
        f" {[line['reason'] for line in report.values()][:2]}"
    )
