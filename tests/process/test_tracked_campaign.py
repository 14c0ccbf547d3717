"""A tracked campaign through the whole stack as `make run` starts it, over the network only: a bulk job of 1,000
WhatsApp recipients with tracking on (its template's URL button a tracked link per recipient, minted by messaging
at acceptance through commerce), the sandbox playing the customers (WhatsApp's preview fetch of every link, and a
known share of them opening theirs through the gateway's `/l/{code}`). The report's clicks, GetJob's counts and
a message's clicks match the sandbox's record exactly, previews are not clicks, and a retargeting dry run of
"sent but did not click" counts the rest."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

pytestmark = pytest.mark.process

SHARE = 0.3


def wait_job(gateway: str, name: str, headers: dict, within: float = 240.0) -> dict:
    deadline = time.monotonic() + within
    while True:
        job = requests.get(f"{gateway}/{name}", headers=headers, timeout=10).json()
        if job.get("state") in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED") and job.get("reportUri"):
            return job
        assert time.monotonic() < deadline, f"{name} still {job.get('state')}: {job.get('counts')}"
        time.sleep(0.5)


def test_a_tracked_campaign_of_1000_counts_exactly_the_opens_the_customers_made(stack):
    gateway = f"http://{stack.addresses['gateway']}/v1"
    sandbox = f"http://{stack.addresses['sandbox']}"
    operator = {"Authorization": f"Bearer {stack.token('operator')}"}
    to = [f"+9198771{i:05d}" for i in range(1000)]
    job = {
        "displayName": "links for all",
        "channel": "CHANNEL_WHATSAPP",
        "category": "CATEGORY_UTILITY",
        "trackLinks": True,
        "content": {
            "template": {
                "templateName": "link_update",
                "language": "en_US",
                "bodyParameters": [{"text": "{{display_name}}"}],
                "buttonParameters": [{"index": 0, "subType": "url", "text": "https://shop.example/diwali?from=wa"}],
            }
        },
        "inlineAudience": {"recipients": [{"address": a, "displayName": f"Guest {i}"} for i, a in enumerate(to)]},
    }
    assert requests.post(f"{sandbox}/sandbox/config", json={"open_links_share": SHARE}, timeout=10).ok
    try:
        made = requests.post(f"{gateway}/bulkJobs", json=job, headers=operator, timeout=60)
        assert made.status_code == 200, made.text
        name = made.json()["name"]
        assert made.json()["trackLinks"] is True
        started = requests.post(f"{gateway}/{name}:start", json={}, headers=operator, timeout=30)
        assert started.status_code == 200, started.text
        done = wait_job(gateway, name, operator)
    finally:
        requests.post(f"{sandbox}/sandbox/config", json={"open_links_share": 0.0}, timeout=10)

    record = [f for f in requests.get(f"{sandbox}/sandbox/links/opened", timeout=30).json()["opened"] if f["to"] in to]
    kinds = Counter(f["kind"] for f in record)
    assert kinds["preview"] == 1000  # every recipient's link was fetched for a preview, once
    assert all(f["status"] == 302 for f in record)  # every fetch was of a real link, redirected
    clickers = {f["to"] for f in record if f["kind"] == "click"}
    assert 200 < len(clickers) < 400  # the share, drawn per number
    assert kinds["click"] == len(clickers)  # one open each

    counts = done["counts"]
    assert counts["sent"] == "1000" and int(counts.get("failed", 0)) == 0
    assert (int(counts["clicked"]), int(counts["clicks"])) == (len(clickers), len(clickers))
    assert counts["clickRate"] == pytest.approx(len(clickers) / 1000)
    report = requests.get(done["reportUri"], timeout=30).json()
    assert report["clickedCount"] == len(clickers) and report["clickCount"] == len(clickers)
    rows = {r["recipient"]: r for r in report["recipients"]}
    assert sorted(rows) == sorted(to)
    assert {a for a, r in rows.items() if r["clicked"]} == clickers  # exactly who opened; previews are not clicks
    assert all(rows[a]["firstClickTime"] and rows[a]["clicks"] == 1 for a in clickers)

    # A message carries its own short link, and GetMessage shows its recipient's open.
    someone = sorted(clickers)[0]
    message = requests.get(f"{gateway}/messages/{rows[someone]['messageId']}", headers=operator, timeout=10).json()
    assert message["trackLinks"] is True and message["job"] == name
    code = message["content"]["template"]["buttonParameters"][0]["text"]
    assert len(code) == 22 and next(f["url"].rsplit("/", 1)[1] for f in record if f["to"] == someone) == code
    [click] = message["clicks"]
    assert click["clickCount"] == "1" and click["link"].startswith("links/")
    nobody = sorted(set(to) - clickers)[0]
    quiet = requests.get(f"{gateway}/messages/{rows[nobody]['messageId']}", headers=operator, timeout=10).json()
    assert "clicks" not in quiet  # a preview is not a click

    # Retargeting: those it reached who did not open their link.
    retarget = {
        "channel": "CHANNEL_WHATSAPP",
        "category": "CATEGORY_UTILITY",
        "content": {
            "template": {
                "templateName": "order_update",
                "language": "en_US",
                "bodyParameters": [{"text": "{{display_name}}"}, {"text": "A-1"}],
            }
        },
        "retarget": {"sourceJob": name, "outcomes": ["RETARGET_OUTCOME_SENT"], "clicked": "ENGAGEMENT_NO"},
    }
    dry = requests.post(
        f"{gateway}/bulkJobs", params={"validateOnly": "true"}, json=retarget, headers=operator, timeout=60
    )
    assert dry.status_code == 200, dry.text
    assert int(dry.json()["audienceSummary"]["recipientCount"]) == 1000 - len(clickers)
