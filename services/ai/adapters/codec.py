"""Documents, passages and sessions <-> plain dicts (JSON), shared by the SQLite and DynamoDB stores."""

from __future__ import annotations

from typing import Any

from services.ai.domain.answers import Citation
from services.ai.domain.documents import ContentType, Document, Passage
from services.ai.domain.sessions import Session, Speaker, Turn


def passages_to_list(passages: tuple[Passage, ...]) -> list[dict[str, str]]:
    return [{"id": p.id, "heading": p.heading, "text": p.text} for p in passages]


def passages_from_list(items: list[dict[str, Any]]) -> tuple[Passage, ...]:
    return tuple(Passage(p["id"], p["heading"], p["text"]) for p in items)


def document_fields(document: Document) -> dict[str, Any]:
    """The document without content and passages (what a BASIC view reads)."""
    return {
        "id": document.id,
        "title": document.title,
        "content_type": document.content_type.value,
        "create_time": document.create_time,
        "update_time": document.update_time,
        "version": document.version,
        "created_by": document.created_by,
    }


def document_from(fields: dict[str, Any], content: str = "", passages: tuple[Passage, ...] = ()) -> Document:
    return Document(
        id=fields["id"],
        title=fields["title"],
        content=content,
        content_type=ContentType(fields["content_type"]),
        passages=passages,
        create_time=float(fields["create_time"]),
        update_time=float(fields["update_time"]),
        version=int(fields["version"]),
        created_by=fields.get("created_by", ""),
    )


def _citation_to(c: Citation) -> dict[str, Any]:
    return {
        "document": c.document,
        "document_title": c.document_title,
        "passage_id": c.passage_id,
        "heading": c.heading,
        "quote": c.quote,
        "score": c.score,
    }


def _citation_from(d: dict[str, Any]) -> Citation:
    return Citation(
        d["document"],
        d.get("document_title", ""),
        d.get("passage_id", ""),
        d.get("heading", ""),
        d.get("quote", ""),
        float(d.get("score", 0.0)),
    )


def session_to(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "owner": session.owner,
        "title": session.title,
        "create_time": session.create_time,
        "update_time": session.update_time,
        "expire_time": session.expire_time,
        "version": session.version,
        "turns": [
            {
                "speaker": t.speaker.value,
                "text": t.text,
                "time": t.time,
                "contact": t.contact,
                "citations": [_citation_to(c) for c in t.citations],
            }
            for t in session.turns
        ],
    }


def session_from(d: dict[str, Any]) -> Session:
    return Session(
        id=d["id"],
        owner=d["owner"],
        title=d.get("title", ""),
        turns=tuple(
            Turn(
                Speaker(t["speaker"]),
                t["text"],
                float(t["time"]),
                t.get("contact", ""),
                tuple(_citation_from(c) for c in t.get("citations", [])),
            )
            for t in d.get("turns", [])
        ),
        create_time=float(d["create_time"]),
        update_time=float(d["update_time"]),
        expire_time=float(d["expire_time"]),
        version=int(d["version"]),
    )
