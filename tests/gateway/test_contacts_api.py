"""Every contacts route of docs/DESIGN.md through the gateway to the real contacts servicer, in proto3 JSON, and bad
input refused with 400 naming the field without changing anything."""

from __future__ import annotations

import json

import pytest

CONTACT = {
    "displayName": "Asha Rao",
    "phoneNumber": "+91 98123 45678",
    "email": "asha@example.com",
    "tags": ["vip"],
    "attributes": {"city": "Pune"},
    "whatsappConsent": {"state": "CONSENT_STATE_OPTED_IN", "source": "import"},
}


def violation_fields(status: dict) -> list[str]:
    return [
        v["field"]
        for d in status["details"]
        if d["@type"].endswith("google.rpc.BadRequest")
        for v in d["fieldViolations"]
    ]


async def everything(api, pool) -> list[dict]:
    response = await api.get("/v1/contacts", params={"pageSize": "1000"}, headers=pool.auth("viewer"))
    assert response.status == 200
    return (await response.json()).get("contacts", [])


async def create(api, pool, **fields) -> dict:
    response = await api.post("/v1/contacts", json=fields, headers=pool.auth("operator"))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_contact_lifecycle_through_every_route(api, user_pool):
    # POST /v1/contacts (body: the contact)
    created = await create(api, user_pool, **CONTACT)
    assert created["name"].startswith("contacts/")
    assert created["displayName"] == "Asha Rao"
    assert created["phoneNumber"] == "+919812345678"  # normalized to E.164 by the service
    assert created["tags"] == ["vip"] and created["attributes"] == {"city": "Pune"}
    assert created["whatsappConsent"]["state"] == "CONSENT_STATE_OPTED_IN"
    assert created["createTime"].endswith("Z") and created["etag"]
    assert "display_name" not in created  # proto3 JSON names only
    contact_id = created["name"].split("/", 1)[1]

    # GET /v1/contacts/{id}
    got = await api.get(f"/v1/contacts/{contact_id}", headers=user_pool.auth("viewer"))
    assert got.status == 200
    assert await got.json() == created

    # PATCH /v1/contacts/{id}?updateMask= with the current etag
    patched = await api.patch(
        f"/v1/contacts/{contact_id}",
        params={"updateMask": "displayName,email"},
        json={
            "displayName": "Asha R",
            "email": "asha.r@example.com",
            "phoneNumber": "ignored: not in the mask",
            "etag": created["etag"],
        },
        headers=user_pool.auth("operator"),
    )
    assert patched.status == 200, await patched.text()
    updated = await patched.json()
    assert updated["displayName"] == "Asha R" and updated["email"] == "asha.r@example.com"
    assert updated["phoneNumber"] == "+919812345678"
    assert updated["etag"] != created["etag"]

    # A stale etag: 409 ABORTED, and nothing changes
    stale = await api.patch(
        f"/v1/contacts/{contact_id}",
        params={"updateMask": "displayName"},
        json={"displayName": "Lost update", "etag": created["etag"]},
        headers=user_pool.auth("operator"),
    )
    assert stale.status == 409
    status = await stale.json()
    assert status["code"] == 10 and status["message"]
    again = await (await api.get(f"/v1/contacts/{contact_id}", headers=user_pool.auth("viewer"))).json()
    assert again == updated

    # No etag skips the check
    blind = await api.patch(
        f"/v1/contacts/{contact_id}",
        params={"update_mask": "tags"},
        json={"tags": ["vip", "north"]},
        headers=user_pool.auth("operator"),
    )
    assert blind.status == 200 and (await blind.json())["tags"] == ["vip", "north"]

    # GET /v1/contacts?pageSize=&pageToken= walks every contact once
    others = [await create(api, user_pool, displayName=f"Ravi {i}", email=f"ravi{i}@example.com") for i in range(4)]
    seen, token, pages = [], "", 0
    while True:
        params = {"pageSize": "2"} | ({"pageToken": token} if token else {})
        page = await api.get("/v1/contacts", params=params, headers=user_pool.auth("viewer"))
        assert page.status == 200
        body = await page.json()
        assert len(body["contacts"]) <= 2
        seen += [c["name"] for c in body["contacts"]]
        pages += 1
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted([created["name"], *(c["name"] for c in others)])

    # GET /v1/contacts:search?query= ranks an exact phone match first, then name prefixes
    by_phone = await api.get("/v1/contacts:search", params={"query": "098123 45678"}, headers=user_pool.auth("viewer"))
    assert by_phone.status == 200
    assert (await by_phone.json())["contacts"][0]["name"] == created["name"]
    by_name = await api.get(
        "/v1/contacts:search", params={"query": "ravi", "pageSize": "10"}, headers=user_pool.auth("viewer")
    )
    assert sorted(c["name"] for c in (await by_name.json())["contacts"]) == sorted(c["name"] for c in others)

    # DELETE /v1/contacts/{id} (admin), then 404
    deleted = await api.delete(f"/v1/contacts/{contact_id}", headers=user_pool.auth("admin"))
    assert deleted.status == 200
    assert await deleted.json() == {}
    gone = await api.get(f"/v1/contacts/{contact_id}", headers=user_pool.auth("viewer"))
    assert gone.status == 404
    status = await gone.json()
    assert status["code"] == 5 and contact_id in status["message"]
    assert set(status) == {"code", "message", "details"}


async def test_audit_log_reads_through_its_route(api, user_pool):
    created = await create(api, user_pool, displayName="Audited", email="audited@example.com")
    response = await api.get(
        "/v1/auditRecords", params={"resource": created["name"], "pageSize": "5"}, headers=user_pool.auth("admin")
    )
    assert response.status == 200
    records = (await response.json())["auditRecords"]
    assert [r["method"] for r in records] == ["/wecare.contacts.v1.ContactsService/CreateContact"]
    assert records[0]["actor"] == "user-operator" and records[0]["outcome"] == "OK"
    # A Timestamp query parameter in RFC 3339, reaching the service as start_time
    later = await api.get(
        "/v1/auditRecords", params={"startTime": "2999-01-01T00:00:00Z"}, headers=user_pool.auth("admin")
    )
    assert later.status == 200 and (await later.json()).get("auditRecords", []) == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('{"displayName": "Unclosed', "contact", "not valid JSON"),
        ('{"displayName": 5, "email": "five@example.com"}', "contact.display_name", "expected a string"),
        (
            '{"displayName": "X", "email": "x@example.com", "favouriteColour": "red"}',
            "contact.favouriteColour",
            "unknown field",
        ),
        ('{"email": "x@example.com", "tags": "vip"}', "contact.tags", "expected a JSON array"),
        (
            '{"email": "x@example.com", "whatsappConsent": {"state": "MAYBE"}}',
            "contact.whatsapp_consent.state",
            "CONSENT_STATE_OPTED_IN",
        ),
        ('{"email": "x@example.com", "displayName": "A", "displayName": "B"}', "contact.displayName", "twice"),
        ('["not", "an", "object"]', "contact", "expected a JSON object"),
        ('{"displayName": "Bad phone", "phoneNumber": "12"}', "contact.phone_number", "phone number"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field_and_change_nothing(api, user_pool, body, field, words):
    await create(api, user_pool, displayName="Existing", email="existing@example.com")
    before = await everything(api, user_pool)
    response = await api.post(
        "/v1/contacts", data=body, headers={**user_pool.auth("operator"), "Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()
    status = await response.json()
    assert status["code"] == 3
    assert field in violation_fields(status)
    assert field in status["message"] and words in status["message"]
    assert await everything(api, user_pool) == before


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": "ten"}, "page_size"),
        ({"pageSize": "1", "page_size": "2"}, "page_size"),
        ({"pageToken": "Zm9yZWlnbiB0b2tlbg"}, "page_token"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_query_parameters_are_400_naming_the_field(api, user_pool, params, field):
    response = await api.get("/v1/contacts", params=params, headers=user_pool.auth("viewer"))
    assert response.status == 400
    status = await response.json()
    assert field in violation_fields(status) and field in status["message"]


async def test_contacts_by_tags_through_the_query(api, user_pool):
    for i, tags in enumerate((["vip", "pune"], ["vip"], ["pune"], [])):
        await create(api, user_pool, displayName=f"Tagged {i}", email=f"tagged{i}@example.com", tags=tags)
    both = await api.get("/v1/contacts", params=[("tags", "vip"), ("tags", "PUNE")], headers=user_pool.auth("viewer"))
    assert both.status == 200
    assert [c["displayName"] for c in (await both.json())["contacts"]] == ["Tagged 0"]
    vip = await api.get("/v1/contacts", params={"tags": "vip"}, headers=user_pool.auth("viewer"))
    assert [c["displayName"] for c in (await vip.json())["contacts"]] == ["Tagged 0", "Tagged 1"]
    bad = await api.get("/v1/contacts", params={"tags": "no spaces"}, headers=user_pool.auth("viewer"))
    assert bad.status == 400 and "tags[0]" in violation_fields(await bad.json())


async def test_a_page_token_of_another_query_is_foreign(api, user_pool):
    for i in range(3):
        await create(api, user_pool, displayName=f"Meera {i}", email=f"meera{i}@example.com")
    search = await api.get(
        "/v1/contacts:search", params={"query": "meera", "pageSize": "1"}, headers=user_pool.auth("viewer")
    )
    token = (await search.json())["nextPageToken"]
    listed = await api.get("/v1/contacts", params={"pageToken": token}, headers=user_pool.auth("viewer"))
    assert listed.status == 400
    assert "page_token" in violation_fields(await listed.json())


async def test_bad_update_mask_and_bad_patch_changes_nothing(api, user_pool):
    created = await create(api, user_pool, displayName="Kiran", email="kiran@example.com")
    path = "/v1/" + created["name"]
    for params, body, field in [
        ({"updateMask": "createTime"}, {"displayName": "K"}, "update_mask.paths[0]"),
        ({"updateMask": "displayName"}, {"displayName": ["K"]}, "contact.display_name"),
        ({"updateMask": "displayName", "contact.displayName": "K"}, {"displayName": "K"}, "contact.display_name"),
    ]:
        response = await api.patch(path, params=params, json=body, headers=user_pool.auth("operator"))
        assert response.status == 400, (params, await response.text())
        assert field in violation_fields(await response.json())
    assert await (await api.get(path, headers=user_pool.auth("viewer"))).json() == created


async def test_body_where_the_route_takes_none_is_refused(api, user_pool):
    created = await create(api, user_pool, displayName="Body", email="body@example.com")
    response = await api.delete(
        "/v1/" + created["name"], data=json.dumps({"force": True}), headers=user_pool.auth("admin")
    )
    assert response.status == 400
    assert "body" in violation_fields(await response.json())
    assert (await api.get("/v1/" + created["name"], headers=user_pool.auth("viewer"))).status == 200
