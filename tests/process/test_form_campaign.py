"""A form sent by a campaign and answered, through the whole stack as `make run` starts it, over the network only:
a form created and published (its Flow through the sandbox's EUM Social), a bulk job sending it to 100 contacts
(an invitation each, its flow token in the template's FLOW button), some customers answering in the sandbox
(POST /sandbox/flows/reply: the nfm_reply comes back through messaging's ingest to commerce's
SubmitFormResponse), one answering twice, one answering wrongly. Every valid answer is stored once, the wrong one
is refused naming its field (shown on the inbound message), consent follows the opt-in, the CSV export and the
job's answered count are right."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest
import requests

from tests.support.polling import until

pytestmark = pytest.mark.process


def test_a_form_campaign_to_100_contacts_answered_once_each_wrong_answers_refused(stack):
    gateway = f"http://{stack.addresses['gateway']}/v1"
    sandbox = f"http://{stack.addresses['sandbox']}"
    operator = {"Authorization": f"Bearer {stack.token('operator')}"}
    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    tag = f"form-{uuid.uuid4().hex[:8]}"
    numbers = [f"+9198772{i:05d}" for i in range(100)]
    contacts = {}
    for i, number in enumerate(numbers):
        made = requests.post(
            f"{gateway}/contacts",
            json={"phoneNumber": number, "displayName": f"Guest {i}", "tags": [tag]},
            headers=operator,
            timeout=10,
        )
        assert made.status_code == 200, made.text
        contacts[number] = made.json()["name"]
    fields = [
        {
            "key": "name",
            "label": "Your name",
            "type": "FIELD_TYPE_TEXT",
            "required": True,
            "contactField": "display_name",
        },
        {
            "key": "rating",
            "label": "Rating",
            "type": "FIELD_TYPE_NUMBER",
            "required": True,
            "minValue": "1",
            "maxValue": "5",
        },
        {
            "key": "offers",
            "label": "Offers on WhatsApp",
            "type": "FIELD_TYPE_OPT_IN",
            "consentChannel": "CHANNEL_WHATSAPP",
        },
    ]
    form = requests.post(
        f"{gateway}/forms", json={"displayName": f"Visit {tag}", "fields": fields}, headers=operator, timeout=10
    ).json()
    published = requests.post(f"{gateway}/{form['name']}:publish", json={}, headers=admin, timeout=30)
    assert published.status_code == 200, published.text

    job = {
        "channel": "CHANNEL_WHATSAPP",
        "category": "CATEGORY_UTILITY",
        "form": form["name"],
        "content": {"template": {"templateName": "visit_feedback", "language": "en_US"}},
        "contactQuery": {"tags": [tag]},
    }
    bad = requests.post(f"{gateway}/bulkJobs", json={**job, "form": "forms/nope"}, headers=operator, timeout=30)
    assert bad.status_code == 400 and bad.json()["details"][0]["fieldViolations"][0]["field"] == "job.form"
    made = requests.post(f"{gateway}/bulkJobs", json=job, headers=operator, timeout=30)
    assert made.status_code == 200, made.text
    name = made.json()["name"]
    assert requests.post(f"{gateway}/{name}:start", json={}, headers=operator, timeout=30).status_code == 200
    done = until(
        "the form campaign's report",
        lambda: (j := requests.get(f"{gateway}/{name}", headers=operator, timeout=10).json()).get("reportUri") and j,
        within=120,
    )
    assert done["state"] == "JOB_STATE_COMPLETED" and done["counts"]["sent"] == "100"

    # Each contact got a flow token of their own (the sandbox saw it in the FLOW button).
    tokens = {}
    for number in numbers:
        sent = requests.get(f"{sandbox}/sandbox/flows/sent", params={"to": number}, timeout=10).json()["sent"]
        assert len(sent) == 1, (number, sent)
        tokens[number] = sent[0]["flow_token"]
    assert len(set(tokens.values())) == 100

    answering = numbers[:30]
    for i, number in enumerate(answering):
        answer = {"name": f"Meera {i}", "rating": str(1 + i % 5), "offers": i % 2 == 0}
        reply = requests.post(
            f"{sandbox}/sandbox/flows/reply", json={"flow_token": tokens[number], "response": answer}, timeout=10
        )
        assert reply.status_code == 200, reply.text
    for number in answering[:5]:  # they press send again: a new message, the same invitation
        requests.post(
            f"{sandbox}/sandbox/flows/reply",
            json={"flow_token": tokens[number], "response": {"name": "Again", "rating": "1"}},
            timeout=10,
        )
    wrong = numbers[50]
    refused = requests.post(
        f"{sandbox}/sandbox/flows/reply",
        json={"flow_token": tokens[wrong], "response": {"name": "Ravi", "rating": "9"}},
        timeout=10,
    )
    assert refused.status_code == 200

    def responses():
        found = requests.get(
            f"{gateway}/{form['name']}/responses", params={"pageSize": 500}, headers=operator, timeout=10
        ).json()
        return found.get("responses", [])

    stored = until("30 answers", lambda: (r := responses()) and len(r) >= 30 and r)
    time.sleep(1.0)  # the repeats and the wrong answer came after: give them the time to (not) count
    stored = responses()
    assert sorted(r["recipient"] for r in stored) == sorted(answering)  # each once, the repeats changed nothing
    assert {r["invitation"].rsplit("/", 1)[1] for r in stored} == {tokens[n] for n in answering}
    assert all(r["job"] == name and r["replyMessage"].startswith("messages/") for r in stored)
    by_number = {r["recipient"]: r for r in stored}
    assert {a["key"]: a["values"] for a in by_number[answering[3]]["answers"]} == {
        "name": ["Meera 3"],
        "rating": ["4"],
        "offers": ["false"],
    }

    # The wrong answer: kept as an inbound message, commerce's refusal on it naming the field; nothing stored.
    def refusal():
        listed = requests.get(f"{gateway}/messages", params={"customer": wrong}, headers=operator, timeout=10).json()
        replies = [m for m in listed.get("messages", []) if m["direction"] == "DIRECTION_INBOUND"]
        return replies and replies[0]["content"]["interactive"].get("formError") and replies[0]

    inbound = until("the refusal on the message", refusal)
    assert inbound["content"]["interactive"]["kind"] == "INTERACTIVE_KIND_FLOW_REPLY"
    assert "rating" in inbound["content"]["interactive"]["formError"]
    assert wrong not in by_number

    # Consent from the opt-in, with the form as its source; names onto the contacts.
    opted = requests.get(f"{gateway}/{contacts[answering[0]]}", headers=operator, timeout=10).json()
    assert opted["displayName"] == "Meera 0" and opted["whatsappConsent"]["state"] == "CONSENT_STATE_OPTED_IN"
    assert opted["whatsappConsent"]["source"] == f"form:{form['name']}"
    declined = requests.get(f"{gateway}/{contacts[answering[1]]}", headers=operator, timeout=10).json()
    assert declined.get("whatsappConsent", {}).get("state") != "CONSENT_STATE_OPTED_IN"  # unticked: unchanged

    exported = requests.get(
        f"{gateway}/{form['name']}/responses:export", params={"access_token": stack.token("viewer")}, timeout=10
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted((r["recipient"], r["name"], r["rating"], r["offers"]) for r in rows) == sorted(
        (n, f"Meera {i}", str(1 + i % 5), "true" if i % 2 == 0 else "false") for i, n in enumerate(answering)
    )
    # The job's counts read commerce's answers at most every few seconds.
    until(
        "the job's answered count",
        lambda: (
            requests.get(f"{gateway}/{name}", headers=operator, timeout=10).json()["counts"].get("answered") == "30"
        ),
        within=15,
    )
