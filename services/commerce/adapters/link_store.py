"""The LinkStore interface (LinkTable). Implementations: link_sqlite (embedded default), link_dynamodb (AWS).
Both pass tests/commerce/test_link_store_contract.py.

Clicks are listed in `click_key` order (link id, then person), so a page continues after the last key it gave."""

from __future__ import annotations

from typing import Protocol

from services.commerce.domain.links import Click, Link, LinkStats


def click_key(link_id: str, person: str) -> str:
    return f"{link_id}|{person}"


class LinkStore(Protocol):
    async def create(self, links: list[Link]) -> list[Link]:
        """Stores the links. A link whose request_id another link already has is not stored: at its place the
        result holds that other link (the caller tells a repeat from a conflict). Links are stored one by one: a
        failure part way leaves the earlier ones, which a retry with the same request_ids finds."""
        ...

    async def get(self, link_id: str) -> Link | None: ...

    async def by_code(self, code: str) -> Link | None: ...

    async def list(self, after_id: str | None, limit: int) -> list[Link]:
        """In id (creation) order, ids strictly after after_id."""
        ...

    async def delete(self, link_id: str) -> Link | None:
        """Removes the link, its code, request_id and stats (its clicks stay); returns what was removed."""
        ...

    async def stats(self, link_id: str) -> LinkStats: ...

    async def record_click(self, link: Link, person: str, at: float) -> bool:
        """One open by a person: True when it is their first of this link (a click), False for a repeat."""
        ...

    async def record_preview(self, link: Link, at: float) -> None: ...

    async def clicks_of_message(self, message_id: str, after: str | None, limit: int) -> list[Click]:
        """Clicks on links minted for the message, in click_key order, keys strictly after `after`."""
        ...

    async def clicks_of_job(self, job_id: str, after: str | None, limit: int) -> list[Click]:
        """Clicks on links minted for the bulk job, in click_key order, keys strictly after `after`."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
