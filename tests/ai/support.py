"""What the ai tests share: test identities, the knowledge-base fixture (tests/fixtures/kb, read through
bench/ai_eval.py, which also scores it), calling the service, reading errors."""

from __future__ import annotations

from bench.ai_eval import EvalQuestion, documents, questions
from tests.support.identity import TestPool
from wecare.ai.v1 import ai_service_pb2 as pb

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")


def kb_documents() -> dict[str, str]:
    """The fixture's documents by file name (tests/fixtures/kb/docs)."""
    return documents()


def kb_questions() -> list[EvalQuestion]:
    return questions()


def markdown(content: str, title: str = "") -> pb.Document:
    return pb.Document(title=title, content=content, content_type=pb.CONTENT_TYPE_MARKDOWN)
