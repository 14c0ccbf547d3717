"""The platform's own marketing frequency cap across three messaging processes (WECARE_MESSAGING_PROCESSES=3, the
cap WECARE_WHATSAPP_MARKETING_CAP=1 a contact in its period): two marketing campaigns to the same 100 customers,
started together, one from each phone (so the sends go through different owners, and acceptance through any of the
three processes). The sandbox log shows each customer once; in the reports each customer is sent by one job and
suppressed with the reason `frequency_cap` by the other."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from localrun.handle import Stack, running_stack
from runtime.settings import Settings
from tests.process.meta_support import Api, campaign, job_calls
from tests.support.polling import until

pytestmark = pytest.mark.process

CUSTOMERS = 100


@pytest.fixture(scope="module")
def cap_stack(tmp_path_factory) -> Iterator[Stack]:
    env = {"WECARE_MESSAGING_PROCESSES": "3", "WECARE_WHATSAPP_MARKETING_CAP": "1"}
    with running_stack(tmp_path_factory.mktemp("cap-stack"), extra_env=env) as running:
        yield running


def test_two_campaigns_to_the_same_customers_reach_each_once_under_a_cap_of_one(cap_stack):
    api = Api(cap_stack)
    name = f"capped_{uuid.uuid4().hex[:8]}"
    api.approved_template(name, "CATEGORY_MARKETING")
    numbers = [f"+9198778{i:05d}" for i in range(CUSTOMERS)]
    phones = Settings.from_env({}).whatsapp_phone_number_ids[:2]
    assert len(phones) == 2
    jobs = [
        api.post("bulkJobs", {**campaign(name, "CATEGORY_MARKETING", numbers), "originations": [phone]})
        for phone in phones
    ]
    for job in jobs:
        api.post(f"{job['name']}:start", {})
    done = [
        until(f"{job['name']}'s report", lambda j=job: (g := api.get(j["name"])).get("reportUri") and g, within=120)
        for job in jobs
    ]
    assert all(d["state"] == "JOB_STATE_COMPLETED" for d in done), done

    in_log = Counter(c.to.lstrip("+") for job in jobs for c in job_calls(cap_stack, job["name"]))
    assert sorted(in_log) == sorted(n.lstrip("+") for n in numbers), "a customer got nothing"
    assert max(in_log.values()) == 1, [r for r, n in in_log.items() if n > 1][:5]

    reports = [api.report(d) for d in done]
    for number in numbers:
        lines = sorted((r[number]["outcome"], r[number].get("reason", "")) for r in reports)
        sent = [o for o, _ in lines if o in ("sent", "delivered", "read")]
        capped = [(o, why) for o, why in lines if o == "suppressed"]
        assert len(sent) == 1 and capped == [("suppressed", "frequency_cap")], (number, lines)
    suppressed = sum(int(d["counts"].get("suppressed", 0)) for d in done)
    print(f"sent {[d['counts'].get('sent') for d in done]}, suppressed by the cap {suppressed}")
    assert suppressed == CUSTOMERS
