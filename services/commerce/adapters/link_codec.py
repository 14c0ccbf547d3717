"""Link <-> plain dict, shared by the stores that keep a link as one document."""

from __future__ import annotations

from typing import Any

from services.commerce.domain.links import Link


def to_document(link: Link) -> dict[str, Any]:
    return {
        "id": link.id,
        "code": link.code,
        "target_url": link.target_url,
        "contact": link.contact,
        "recipient": link.recipient,
        "message": link.message,
        "job": link.job,
        "expire_time": link.expire_time,
        "create_time": link.create_time,
        "creator": link.creator,
        "request_id": link.request_id,
    }


def from_document(doc: dict[str, Any]) -> Link:
    expire = doc.get("expire_time")
    return Link(
        id=doc["id"],
        code=doc["code"],
        target_url=doc["target_url"],
        contact=doc.get("contact", ""),
        recipient=doc.get("recipient", ""),
        message=doc.get("message", ""),
        job=doc.get("job", ""),
        expire_time=None if expire is None else float(expire),
        create_time=float(doc["create_time"]),
        creator=doc.get("creator", ""),
        request_id=doc.get("request_id", ""),
    )
