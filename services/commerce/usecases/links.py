"""Tracked links: creating them (one, or a batch for every recipient of a send), reading them with their counts,
deleting them, following one (`GET /l/{code}`), and the clicks of a message or a bulk job.

Following a link answers where to redirect, or NotFound: for a malformed code (before any lookup), an unknown
one, a deleted one and an expired one alike, so a caller learns nothing from the difference. An open is recorded
before the answer (a click once per person and link, repeats apart, previews apart); if the store cannot take it
after retries, the open is logged whole at ERROR (the log pipeline keeps it) and the person is still sent on:
losing a count must not break the customer's link."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from runtime import ids
from runtime.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from services.commerce.adapters.link_store import LinkStore, click_key
from services.commerce.domain import codes
from services.commerce.domain.links import Click, Link, LinkRequest, LinkStats, new_link
from services.commerce.domain.links import field_at as _at
from services.commerce.domain.visitors import Open, OpenKind, kind_of, person_of

log = logging.getLogger("wecare.commerce.links")
MAX_BATCH = 1000
RECORD_ATTEMPTS = 3


@dataclass(frozen=True)
class Followed:
    link: Link
    kind: OpenKind
    first: bool  # a person's first open (meaningful for clicks)


class Links:
    def __init__(self, store: LinkStore, links_base_url: str, clock: Callable[[], float] = time.time):
        self._store = store
        self.base_url = links_base_url
        self._clock = clock

    async def create(self, requests: list[LinkRequest], prefixes: list[str], creator: str) -> list[Link]:
        """All the links or none: any invalid request refuses the batch, naming every bad field."""
        if len(requests) > MAX_BATCH:
            raise InvalidArgument("requests", f"at most {MAX_BATCH} links a call; split the batch")
        now = self._clock()
        made, problems = [], []
        seen: dict[str, int] = {}
        for i, (asked, prefix) in enumerate(zip(requests, prefixes, strict=True)):
            try:
                made.append(
                    new_link(
                        asked,
                        prefix,
                        link_id=ids.new_id(),
                        code=codes.new_code(),
                        now=now,
                        creator=creator,
                        links_base_url=self.base_url,
                    )
                )
            except InvalidArgument as exc:
                problems += exc.violations
            if asked.request_id:
                if asked.request_id in seen:
                    problems.append(
                        FieldViolation(_at(prefix, "request_id"), f"repeats that of requests[{seen[asked.request_id]}]")
                    )
                seen.setdefault(asked.request_id, i)
        if problems:
            raise InvalidArgument(problems)
        try:
            stored = await self._store.create(made)
        except AlreadyExists as exc:
            if exc.reason != "CODE_TAKEN":
                raise
            # 128 random bits met an existing code: as likely as a meteor; new codes, once.
            made = [dataclasses.replace(link, code=codes.new_code()) for link in made]
            stored = await self._store.create(made)
        for wanted, got, prefix in zip(made, stored, prefixes, strict=True):
            if got.id != wanted.id and not got.same_request(wanted):
                raise AlreadyExists(
                    f"request_id {wanted.request_id!r} already made {got.name}, a different link",
                    reason="REQUEST_ID_REUSED",
                    metadata={"field": _at(prefix, "request_id"), "link": got.name},
                )
        return stored

    async def get(self, link_id: str) -> tuple[Link, LinkStats]:
        link = await self._store.get(link_id)
        if link is None:
            raise NotFound(f"links/{link_id} does not exist")
        return link, await self._store.stats(link_id)

    async def list(self, after_id: str | None, limit: int) -> list[Link]:
        return await self._store.list(after_id, limit)

    async def delete(self, link_id: str) -> Link:
        removed = await self._store.delete(link_id)
        if removed is None:
            raise NotFound(f"links/{link_id} does not exist")
        return removed

    async def follow(self, code: str, request: Open) -> Followed:
        if not codes.is_code(code):
            raise NotFound("no such link")
        link = await self._store.by_code(code)
        now = self._clock()
        if link is None or link.expired(now):
            raise NotFound("no such link")
        kind = kind_of(request)
        person = person_of(link.contact, link.recipient, request)
        first = False
        for attempt in range(RECORD_ATTEMPTS):
            try:
                if kind is OpenKind.PREVIEW:
                    await self._store.record_preview(link, now)
                else:
                    first = await self._store.record_click(link, person, now)
                break
            except Exception as exc:
                if attempt == RECORD_ATTEMPTS - 1:
                    log.error(
                        "open not recorded; the record follows",
                        extra={
                            "link": link.name,
                            "kind": kind.value,
                            "person": person,
                            "time": now,
                            "error": repr(exc),
                        },
                    )
                else:
                    await asyncio.sleep(0.05 * 2**attempt)
        return Followed(link, kind, first)

    async def clicks(self, message_id: str, job_id: str, after: str | None, limit: int) -> tuple[list[Click], str]:
        """A page of clicks of the message or the job, and the key to continue after ("" on the last page)."""
        if message_id:
            found = await self._store.clicks_of_message(message_id, after, limit + 1)
        else:
            found = await self._store.clicks_of_job(job_id, after, limit + 1)
        page = found[:limit]
        more = len(found) > limit
        return page, click_key(page[-1].link_id, page[-1].person) if more else ""
