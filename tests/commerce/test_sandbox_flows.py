"""The sandbox as EUM Social's Flow API and as the customer who fills a form in: the forms' own client code
(EumSocialFlows over aiobotocore) against it, the rules a Flow's life follows, the flow tokens of the flow
messages and FLOW-button templates it accepts, and the nfm_reply it emits when told to answer."""

from __future__ import annotations

import dataclasses
import json

import aiohttp
import pytest

from runtime.errors import FailedPrecondition, NotFound
from services.commerce.adapters.flows import EumSocialFlows
from services.commerce.domain import flow_json
from services.commerce.domain.forms import Flow
from tests.commerce.flow_sandbox import CUSTOMER, OneClient, sandbox_serving
from tests.commerce.form_samples import WABA, form


@pytest.fixture
async def here(tmp_path):
    async with sandbox_serving(tmp_path) as served:
        yield served


@pytest.fixture
def flows(here):
    return EumSocialFlows(OneClient(here.social), None)


BODY = flow_json.encoded(form())


async def test_a_flows_life_through_the_forms_client(here, flows):
    created = await flows.create(WABA, "Dinner [1]", ("SURVEY",), BODY)
    assert created.status == "DRAFT" and created.validation_errors == ()
    assert (await flows.get(WABA, created.flow_id)).status == "DRAFT"
    assert await flows.find(WABA, "Dinner [1]") == created.flow_id
    with pytest.raises(FailedPrecondition, match="already exists"):
        await flows.create(WABA, "Dinner [1]", ("SURVEY",), BODY)  # names are unique in a WABA
    preview = await flows.preview(WABA, created.flow_id, invalidate=False)
    async with aiohttp.ClientSession() as http, http.get(preview.url) as page:
        assert page.status == 200 and (await page.json())["flowJson"] == json.loads(BODY)
    assert preview.expire_time is not None
    await flows.publish(WABA, created.flow_id)
    assert (await flows.get(WABA, created.flow_id)).status == "PUBLISHED"
    with pytest.raises(FailedPrecondition, match="only a DRAFT"):
        await flows.delete(WABA, created.flow_id)
    await flows.deprecate(WABA, created.flow_id)
    assert (await flows.get(WABA, created.flow_id)).status == "DEPRECATED"
    with pytest.raises(FailedPrecondition, match="only a PUBLISHED"):
        await flows.deprecate(WABA, created.flow_id)
    with pytest.raises(NotFound):
        await flows.get(WABA, "999")


async def test_broken_flow_json_is_reported_and_does_not_publish(flows):
    broken = json.dumps({"version": "7.3", "screens": [{"id": "A", "terminal": True, "layout": {"children": []}}]})
    created = await flows.create(WABA, "Broken", ("OTHER",), broken.encode())
    assert any("MISSING_FOOTER" in e for e in created.validation_errors)
    with pytest.raises(FailedPrecondition, match="validation errors"):
        await flows.publish(WABA, created.flow_id)
    assert await flows.update_assets(WABA, created.flow_id, BODY) == ()
    await flows.publish(WABA, created.flow_id)
    # new assets on a published Flow turn it back into a draft, as EUM Social documents
    await flows.update_assets(WABA, created.flow_id, BODY)
    assert (await flows.get(WABA, created.flow_id)).status == "DRAFT"
    await flows.update_metadata(WABA, created.flow_id, "Fixed", ("SURVEY",))
    assert await flows.find(WABA, "Fixed") == created.flow_id
    await flows.delete(WABA, created.flow_id)
    await flows.delete(WABA, created.flow_id)  # gone already: no error


def flow_message(flow_id: str, token: str) -> dict:
    published = form(flow=dataclasses.replace(Flow(), flow_id=flow_id))
    return {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": flow_json.interactive(published, token),
    }


async def test_flow_tokens_sent_are_known_and_a_draft_flow_fails_like_metas(here, flows):
    draft = await flows.create(WABA, "Draft", ("OTHER",), BODY)
    published = await flows.create(WABA, "Live", ("OTHER",), BODY)
    await flows.publish(WABA, published.flow_id)
    good = await here.send(flow_message(published.flow_id, "T" * 22))
    bad = await here.send(flow_message(draft.flow_id, "U" * 22))
    template = {
        "messaging_product": "whatsapp",
        "to": "+919812345679",
        "type": "template",
        "template": {
            "name": "hello_world",
            "language": {"code": "en_US"},
            "components": [flow_json.template_button("V" * 22, 0)],
        },
    }
    await here.send(template)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{here.url}/sandbox/flows/sent") as reply:
            sent = {s["flow_token"]: s for s in (await reply.json())["sent"]}
        async with http.get(f"{here.url}/sandbox/flows/sent", params={"to": CUSTOMER}) as reply:
            mine = {s["flow_token"] for s in (await reply.json())["sent"]}
    assert set(sent) == {"T" * 22, "U" * 22, "V" * 22} and mine == {"T" * 22, "U" * 22}
    assert (sent["T" * 22]["flow_id"], sent["T" * 22]["wamid"], sent["T" * 22]["to"]) == (
        published.flow_id,
        good,
        CUSTOMER,
    )
    failed = [s for kind, s in here.events.messages() if kind == "status" and s["status"] == "failed"]
    assert [(s["id"], s["errors"][0]["code"]) for s in failed] == [(bad, 131009)]
    with pytest.raises(here.social.exceptions.ValidationException):
        broken = flow_message(published.flow_id, "W" * 22)
        broken["interactive"]["action"]["parameters"]["flow_message_version"] = "2"
        await here.send(broken)


async def test_the_customer_answers_with_an_nfm_reply(here, flows):
    published = await flows.create(WABA, "Live", ("OTHER",), BODY)
    await flows.publish(WABA, published.flow_id)
    sent = await here.send(flow_message(published.flow_id, "T" * 22))
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{here.url}/sandbox/flows/reply",
            json={"flow_token": "T" * 22, "response": {"name": "Asha", "guests": "2"}},
        ) as reply:
            assert reply.status == 200
            wamid = (await reply.json())["wamid"]
        async with http.post(f"{here.url}/sandbox/flows/reply", json={"flow_token": "X" * 22, "response": {}}) as reply:
            assert reply.status == 404
        async with http.post(
            f"{here.url}/sandbox/flows/reply", json={"flow_token": "T" * 22, "response": [1]}
        ) as reply:
            assert reply.status == 400
    (answer,) = [m for kind, m in here.events.messages() if kind == "message"]
    assert answer["id"] == wamid and answer["from"] == CUSTOMER.lstrip("+") and answer["type"] == "interactive"
    assert answer["context"]["id"] == sent
    nfm = answer["interactive"]
    assert nfm["type"] == "nfm_reply" and nfm["nfm_reply"]["name"] == "flow"
    assert json.loads(nfm["nfm_reply"]["response_json"]) == {"flow_token": "T" * 22, "name": "Asha", "guests": "2"}


async def test_flow_calls_check_the_waba_and_the_blob(here):
    with pytest.raises(here.social.exceptions.ValidationException):
        await here.social.get_whatsapp_flow(id="waba-nothex", flowId="1")
    with pytest.raises(here.social.exceptions.ResourceNotFoundException):
        await here.social.publish_whatsapp_flow(id=WABA, flowId="123")
    with pytest.raises(here.social.exceptions.ValidationException):
        await here.social.create_whatsapp_flow(id=WABA, flowName="x", categories=["PARTY"])
