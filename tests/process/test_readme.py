"""The README's examples work as written: each shell block of "Try it" runs against a stack started as `make run`
starts it (only the ports differ: the test stack runs on free ones), and says what the README says it says."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess

import pytest

from localrun.procs import ROOT
from localrun.stack import PROCESSES
from runtime.settings import Settings

pytestmark = pytest.mark.process


def _blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def _run(block: str, stack) -> str:
    # The README names the default addresses; the test stack runs on free ports (one pass: a free port must not
    # be taken for the start of a default one).
    defaults = Settings.from_env({})
    ours = {p.address(defaults): stack.addresses[p.name] for p in PROCESSES}
    script = re.sub("|".join(re.escape(a) + r"(?!\d)" for a in ours), lambda m: ours[m.group(0)], block)
    env = {**os.environ, "WECARE_RUN_DIR": str(stack.run.root)}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"README block failed ({done.returncode}):\n{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_has_the_two_commands_first_and_its_examples():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, flags=re.S).group(1)
    assert first_block.splitlines()[0].startswith("make run") and first_block.splitlines()[1].startswith("make test")
    assert len(_blocks()) == 10


def test_curl_examples(stack):
    out = _run(_blocks()[0], stack)
    assert '"phoneNumber":"+919812345678"' in out  # created, normalised to E.164
    assert '"displayName":"Asha V."' in out  # patched
    assert '"code":3' in out and "contact.phone_number" in out  # the bad number, named
    assert re.search(r"}401\n", out)  # -w prints the status right after the previous JSON
    assert '"method":"/wecare.contacts.v1.ContactsService/UpdateContact"' in out  # the audit log
    assert '"ready": true' in out or '"ready":true' in out


def _events(out: str) -> list[dict]:
    """The JSON of each Server-Sent Event in curl's output."""
    return [json.loads(line[len("data: ") :]) for line in out.splitlines() if line.startswith("data: ")]


def _replies(out: str) -> list[dict]:
    """Each JSON reply in curl's output (curl adds no newline after a body, so they may share a line)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := out.find("{", at)) >= 0:
        value, at = decoder.raw_decode(out, at)
        found.append(value)
    return found


def test_knowledge_base_examples(stack):
    created, answer = _replies(_run(_blocks()[1], stack))
    assert created["name"].startswith("documents/") and created["passages"]
    assert answer["answered"] is True
    assert answer["citations"][0]["document"] == created["name"]
    assert "three to five days" in answer["answer"]


def test_conversation_examples(stack):
    out = _run(_blocks()[2], stack)
    assert re.search(r'"status":"STATUS_(SENT|DELIVERED|READ)"', out)  # the template went out
    assert '"reason":"WINDOW_CLOSED"' in out and '"code":9' in out  # free text refused before the customer wrote
    assert '"wamid"' in out  # the sandbox took the customer's message
    assert '"body":"How long does delivery take?"' in out  # in the conversation list
    reply = [e for e in _events(out) if e.get("done")]
    assert len(reply) == 1 and reply[0]["reply"]  # the suggested reply, streamed to its end
    assert out.rstrip().endswith("}") and '"body":"It ships today' in out.splitlines()[-1]  # free text now accepted
    assert '"code"' not in out.splitlines()[-1]


def test_campaign_examples(stack):
    out = _run(_blocks()[3], stack)
    states = [e["state"] for e in _events(out)]
    assert states and states[-1] in ("JOB_STATE_COMPLETED",), states
    report = json.loads(out[out.rindex('{"jobId"') :])
    assert report["status"] == "completed" and report["sentCount"] == 3 and report["totalRecipients"] == 3
    assert sorted(r["recipient"] for r in report["recipients"]) == ["+919812345691", "+919812345692", "+919812345693"]


def test_tracked_link_examples(stack):
    out = _run(_blocks()[4], stack)
    link = _replies(out)[0]
    assert link["shortUrl"].endswith("/l/" + link["code"])
    assert link["targetUrl"] == "https://example.com/sale?utm_source=whatsapp"
    lines = out.splitlines()
    assert lines[1:5] == [
        "302 https://example.com/sale?utm_source=whatsapp",
        "302 https://example.com/sale?utm_source=whatsapp",
        "302 https://example.com/sale?utm_source=whatsapp",
        "404",
    ]
    stats = _replies(out)[-1]["stats"]
    assert (stats["clickCount"], stats["uniqueClickers"], stats["previewCount"]) == ("2", "1", "1"), stats
    assert stats["firstClickTime"] <= stats["lastClickTime"]


def test_grpcurl_examples(stack):
    out = _run(_blocks()[5], stack)
    for service in (
        "wecare.contacts.v1.ContactsService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "wecare.messaging.v1.MessagingService",
    ):
        assert service in out
    assert '"status": "SERVING"' in out
    assert '"phone_number": "+919903300044"' in out
    assert out.count('"display_name": "Ravi Kumar"') == 2  # created, then found


def test_invoice_examples(stack):
    out = _run(_blocks()[6], stack).splitlines()
    totals = json.loads(out[0])
    assert (
        totals["totalPaise"] == "106299" and totals["cgstPaise"] == "3150" and "igstPaise" not in totals
    )  # zero: proto3 JSON leaves it out
    refused = json.loads(out[1])
    assert refused["code"] == 3 and "line_items[0].gst_rate_basis_points" in out[1]
    assert re.fullmatch(r"INV/\d\d-\d\d/\d{5}", out[2]), out[2]
    assert out[3] == "%PDF-"
    assert out[4] == "INTERACTIVE_KIND_ORDER_DETAILS"  # the phone takes WhatsApp payments: an order to pay in the chat
    assert out[5] == "INVOICE_STATUS_PAID"
    assert "payment of INR 1,062.99 received for invoice " + out[2] in out[6] and "Paid in full" in out[6]
    assert out[7] == "INTERACTIVE_KIND_ORDER_STATUS"
    assert out[8] == "401"
    assert out[9] == "REFUND_STATE_PENDING"
    assert out[10] == "INVOICE_STATUS_PARTIALLY_PAID"
    books = json.loads(out[11])
    assert int(books["capturedPaise"]) >= 106299 and int(books["refundedPaise"]) >= 10000


def test_tracked_campaign_examples(stack):
    out = _run(_blocks()[7], stack).splitlines()
    counts = json.loads(out[0])
    rows = dict(line.split() for line in out[1:5])
    clicked = {to for to, yes in rows.items() if yes == "True"}
    # The sandbox's customers who open (drawn per number), exactly: the first and third; previews not counted.
    assert clicked == {"+919812345716", "+919812345718"}, rows
    assert counts["sent"] == "4" and counts["clicked"] == "2" and counts["clicks"] == "2", counts
    assert counts["clickRate"] == 0.5
    assert out[5] == "2"  # the reminder reaches those who did not click


def test_form_examples(stack):
    out = _run(_blocks()[8], stack).splitlines()
    assert out[0] == "FORM_STATE_PUBLISHED"
    rows = list(csv.DictReader(out[1:-1]))
    assert [(r["recipient"], r["rating"], r["offers"]) for r in rows] == [("+919812345721", "5", "true")]
    assert "rating" in out[-1]  # the refusal names the field


def test_template_and_tier_examples(stack):
    gap, created, approved, tier, dry_run, job = _replies(_run(_blocks()[9], stack))
    assert gap.get("code") == 3 and "body.text" in json.dumps(gap), gap  # refused before submission, naming the field
    assert created.get("templateStatus") == "PENDING" and created.get("metaTemplateId"), created
    assert approved.get("templateStatus") == "APPROVED", approved  # the sandbox reviewed it and said so in an event
    assert tier.get("limitSource") == "setting" and "phones" in tier, tier
    assert dry_run.get("budgetRecipients") == "2" and dry_run.get("estimatedFinishTime"), dry_run
    assert job.get("state") == "JOB_STATE_COMPLETED" and job["counts"].get("sent") == "2", job  # used in a campaign
