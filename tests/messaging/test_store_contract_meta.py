"""The store contract of what Meta's rules need (templates written one at a time by their lifecycle, the
portfolio's tier ledger and counted customers, the marketing cap, the pair log handed over with a phone), run on
SQLite and on DynamoDB (moto, server mode) like tests/messaging/test_store_contract.py, whose fixture it uses."""

from __future__ import annotations

import dataclasses

from services.messaging.domain.model import Category, Template
from tests.messaging.test_store_contract import stores  # noqa: F401  (the fixture: both engines)

NOW = 1_718_000_000.25


async def test_templates_one_at_a_time(stores):  # noqa: F811
    out, _ = stores
    t = Template(
        "spring_sale",
        "en_US",
        Category.MARKETING,
        "PENDING",
        "waba-1",
        meta_template_id="123",
        components=({"type": "BODY", "text": "Hi {{1}} there", "example": {"body_text": [["Asha"]]}},),
        status_time=NOW,
    )
    await out.templates.put_template(t)
    assert await out.templates.get_template("spring_sale", "en_US") == t
    moved = dataclasses.replace(t, template_status="REJECTED", status_reason="SCAM: no", status_time=NOW + 1)
    await out.templates.put_template(moved)
    assert await out.templates.get_template("spring_sale", "en_US") == moved
    assert [x.key for x in await out.templates.list_templates("", "", 10)] == ["spring_sale.en_US"]
    assert await out.templates.delete_template("spring_sale", "en_US") == moved
    assert await out.templates.delete_template("spring_sale", "en_US") is None
    assert await out.templates.get_template("spring_sale", "en_US") is None
