"""What the ai tests share: test identities, the knowledge-base fixture, calling the service, reading errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.support.identity import TestPool
from wecare.ai.v1 import ai_service_pb2 as pb

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")
KB = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "kb"


@dataclass(frozen=True)
class KbQuestion:
    id: str
    question: str
    doc: str | None
    section: str | None
    answer_contains: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return self.doc is not None


def kb_documents() -> dict[str, str]:
    """The fixture's documents by file name (the fixture ships beside the repository, in shared/)."""
    docs = sorted((KB / "docs").glob("*.md"))
    assert docs, f"the knowledge-base fixture is missing: expected Markdown files in {KB / 'docs'}"
    return {p.name: p.read_text(encoding="utf-8") for p in docs}


def kb_questions() -> list[KbQuestion]:
    raw = json.loads((KB / "questions.json").read_text(encoding="utf-8"))
    return [KbQuestion(q["id"], q["question"], q["doc"], q["section"], tuple(q["answer_contains"])) for q in raw]


def markdown(content: str, title: str = "") -> pb.Document:
    return pb.Document(title=title, content=content, content_type=pb.CONTENT_TYPE_MARKDOWN)
