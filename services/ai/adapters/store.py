"""The DocsStore interface: DocsTable holds the knowledge base's documents (with their passages), the local
provider's passage vectors (opaque bytes by encoder key and passage id) and the assistant's sessions.
Implementations: sqlite_store (embedded default), dynamodb_store (AWS). Both pass
tests/ai/test_docs_store_contract.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from services.ai.domain.documents import Document
from services.ai.domain.sessions import Session


class DocsStore(Protocol):
    async def create_document(self, document: Document) -> None: ...

    async def get_document(self, document_id: str) -> Document | None: ...

    async def list_documents(self, after_id: str | None, limit: int, with_content: bool = True) -> list[Document]:
        """In id (creation) order, ids strictly after after_id. Without content, content is "" and passages ()."""
        ...

    async def replace_document(self, document: Document, expected_version: int) -> None:
        """Writes the document over the stored one if that is still at expected_version, else Aborted;
        NotFound when it is gone."""

    async def delete_document(self, document_id: str, expected_version: int | None = None) -> Document | None:
        """Removes the document; returns what was removed (None when there was none); Aborted on a version
        mismatch."""
        ...

    async def revision(self) -> int:
        """A number that changes whenever a document is created, replaced or deleted: lets a replica keep
        its retrieval index and rebuild it only when the knowledge base changed."""
        ...

    async def all_documents(self) -> list[Document]:
        """Every document with its passages, for building a retrieval index."""
        ...

    async def passage_vectors(self, key: str, passage_ids: Sequence[str]) -> dict[str, bytes]:
        """The vectors stored under the encoder key for those of the passages that have them."""
        ...

    async def put_passage_vectors(self, key: str, vectors: Mapping[str, bytes]) -> None:
        """Stores (or overwrites) vectors by passage id. Not part of the revision: vectors are derived data."""
        ...

    async def passage_vector_ids(self, key: str) -> list[str]:
        """The ids of every passage with vectors under the key."""
        ...

    async def delete_passage_vectors(self, key: str, passage_ids: Sequence[str]) -> None:
        """Forgets those vectors (ids with none are ignored)."""
        ...

    async def create_session(self, session: Session, keep: int) -> list[str]:
        """Stores a new session, then forgets the owner's expired sessions and the oldest beyond `keep`;
        returns the ids forgotten."""
        ...

    async def get_session(self, owner: str, session_id: str, now: float) -> Session | None:
        """None when the owner has no such session, or it has expired."""
        ...

    async def list_sessions(self, owner: str, now: float, before_id: str | None, limit: int) -> list[Session]:
        """The owner's live sessions, newest first, ids strictly before before_id."""
        ...

    async def replace_session(self, session: Session, expected_version: int) -> None:
        """Aborted when the stored session moved from expected_version; NotFound when it is gone."""

    async def delete_session(self, owner: str, session_id: str) -> bool: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
