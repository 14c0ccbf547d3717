"""TemplateStore on DynamoDB: the WhatsApp template catalogue, one partition (`tpl`) with an item per template
keyed `name.language`, replaced per WABA by a sync, written one at a time by the lifecycle (created, updated, moved by
Meta's events, deleted). A portfolio holds hundreds of templates, not millions: one partition serves them."""

from __future__ import annotations

import json
from typing import Any

from services.messaging.adapters.codec import dumps, template_from_dict, template_to_dict
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s
from services.messaging.domain.model import Template


class DynamoTemplateStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def _templates(self) -> list[dict[str, Any]]:
        return await self._t.query(None, "pk", "tpl", ConsistentRead=True)

    async def replace_templates(self, waba: str, templates: list[Template]) -> tuple[int, int]:
        db = await self._t.db()
        before = {i["sk"]["S"] for i in await self._templates() if i["waba"]["S"] == waba}
        after = {t.key for t in templates}
        for gone in before - after:
            await db.delete_item(TableName=self._t.name, Key=key("tpl", gone))
        for t in templates:
            await db.put_item(TableName=self._t.name, Item=_item(t, waba))
        return len(after - before), len(before - after)

    async def list_templates(self, language: str, after: str, limit: int) -> list[Template]:
        items = [i for i in await self._templates() if i["sk"]["S"] > after]
        if language:
            items = [i for i in items if i["language"]["S"] == language]
        items.sort(key=lambda i: i["sk"]["S"])
        return [template_from_dict(json.loads(i["doc"]["S"])) for i in items[:limit]]

    async def get_template(self, template_name: str, language: str) -> Template | None:
        item = await self._t.get("tpl", f"{template_name}.{language}")
        return template_from_dict(json.loads(item["doc"]["S"])) if item else None

    async def put_template(self, template: Template) -> None:
        db = await self._t.db()
        await db.put_item(TableName=self._t.name, Item=_item(template, template.waba))

    async def delete_template(self, template_name: str, language: str) -> Template | None:
        db = await self._t.db()
        reply = await db.delete_item(
            TableName=self._t.name, Key=key("tpl", f"{template_name}.{language}"), ReturnValues="ALL_OLD"
        )
        old = reply.get("Attributes")
        return template_from_dict(json.loads(old["doc"]["S"])) if old else None


def _item(t: Template, waba: str) -> dict[str, Any]:
    return {**key("tpl", t.key), "waba": s(waba), "language": s(t.language), "doc": s(dumps(template_to_dict(t)))}
