"""The assistant's use cases, in the domain's words and free of protobuf: answering a question, suggesting a
reply to a contact, and a person's sessions. It ties the ports together (store, provider, contact directory,
conversation source) and applies the guardrails to everything it hands back."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from runtime import ids
from runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from services.ai.adapters.provider import KnowledgeProvider, ReplyRequest
from services.ai.adapters.store import DocsStore
from services.ai.domain import sessions
from services.ai.domain.answers import MAX_QUESTION, Answer, Citation, Question, ReplyEnd, ReplyPiece, ReplyStart
from services.ai.domain.conversations import ContactDirectory, ConversationSource, window
from services.ai.domain.guardrails import Redactor, StreamRedactor
from services.ai.domain.sessions import Session, Speaker, Turn

MAX_GUIDANCE = 500
SESSION_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class SuggestionPiece:
    text: str
    template_required: bool
    window_expire_time: float | None


@dataclass(frozen=True)
class Suggestion:
    """The end of a suggested reply."""

    reply: str
    citations: tuple[Citation, ...]
    confidence: float
    template_required: bool
    window_expire_time: float | None
    session: Session


@dataclass(frozen=True)
class SessionPolicy:
    ttl_seconds: float = sessions.SESSION_TTL_SECONDS
    max_sessions: int = sessions.MAX_SESSIONS


class Assistant:
    def __init__(
        self,
        store: DocsStore,
        provider: KnowledgeProvider,
        contacts: ContactDirectory | None,
        conversations: ConversationSource | None,
        policy: SessionPolicy = SessionPolicy(),
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._provider = provider
        self._contacts = contacts
        self._conversations = conversations
        self._policy = policy
        self._clock = clock

    # Questions

    async def query(
        self, owner: str, question: str, session_id: str | None, max_passages: int
    ) -> tuple[Answer, Session]:
        text = question.strip()
        if not text:
            raise InvalidArgument("question", "required: what to ask the knowledge base")
        if len(text) > MAX_QUESTION:
            raise InvalidArgument("question", f"at most {MAX_QUESTION} characters")
        current = await self._session(owner, session_id) if session_id else None
        answer = await self._provider.answer(Question(text, current.questions() if current else (), max_passages))
        # Numbers and addresses the knowledge base publishes may be quoted; nobody else's.
        redactor = Redactor.allowing(published=[c.quote for c in (*answer.citations, *answer.passages)])
        answer = Answer(
            redactor.redact(answer.text), answer.answered, answer.confidence, answer.citations, answer.passages
        )
        now = self._clock()
        turns = (
            Turn(Speaker.USER, text, now),
            Turn(Speaker.ASSISTANT, answer.text, now, citations=answer.citations),
        )
        saved = await self._record(owner, current, text, turns)
        return answer, saved

    # Suggested replies

    async def suggest(
        self, owner: str, contact_name: str, session_id: str | None, guidance: str
    ) -> AsyncIterator[SuggestionPiece | Suggestion]:
        guidance = " ".join(guidance.split())
        if len(guidance) > MAX_GUIDANCE:
            raise InvalidArgument("guidance", f"at most {MAX_GUIDANCE} characters")
        if self._contacts is None or self._conversations is None:
            raise FailedPrecondition(
                "suggested replies need the contacts and messaging services, and this deployment has no "
                "conversation source wired in; ask the operator of the platform to connect it",
                reason="CONVERSATIONS_UNAVAILABLE",
            )
        current = await self._session(owner, session_id) if session_id else None
        contact = await self._contacts.get(contact_name)
        if contact is None:
            raise NotFound(f"{contact_name} does not exist")
        conversation = await self._conversations.recent(contact)
        if not conversation.latest_from_contact() and not guidance:
            raise FailedPrecondition(
                f"{contact_name} has written nothing since the business last replied; give guidance for what "
                "the message should say",
                reason="NOTHING_TO_REPLY_TO",
                metadata={"subject": contact_name},
            )
        now = self._clock()
        open_window = window(conversation.last_inbound_time, now)
        template_required = not open_window.open
        request = ReplyRequest(contact, conversation, guidance)
        redact: StreamRedactor | None = None
        pieces: list[str] = []
        end = ReplyEnd((), 0.0, False)
        async for event in self._provider.reply(request):
            if isinstance(event, ReplyStart):
                redact = StreamRedactor(
                    Redactor.allowing(
                        phones=[contact.phone_number],
                        emails=[contact.email],
                        published=[c.quote for c in event.grounding],
                    )
                )
            elif isinstance(event, ReplyPiece):
                if redact is None:  # a provider that skipped ReplyStart: nothing is published
                    redact = StreamRedactor(Redactor.allowing([contact.phone_number], [contact.email]))
                out = redact.feed(event.text)
                if out:
                    pieces.append(out)
                    yield SuggestionPiece(out, template_required, open_window.expire_time)
            else:
                end = event
        rest = redact.finish() if redact else ""
        if rest:
            pieces.append(rest)
            yield SuggestionPiece(rest, template_required, open_window.expire_time)
        reply = "".join(pieces)
        asked = f"Suggest a reply to {contact_name}" + (f": {guidance}" if guidance else "")
        turns = (
            Turn(Speaker.USER, asked, now, contact=contact_name),
            Turn(Speaker.ASSISTANT, reply, self._clock(), contact=contact_name, citations=end.citations),
        )
        saved = await self._record(owner, current, asked, turns)
        yield Suggestion(reply, end.citations, end.confidence, template_required, open_window.expire_time, saved)

    # Sessions

    async def _session(self, owner: str, session_id: str) -> Session:
        found = await self._store.get_session(owner, session_id, self._clock())
        if found is None:
            raise NotFound(f"sessions/{session_id} does not exist or has expired")
        return found

    async def _record(self, owner: str, current: Session | None, opening: str, turns: tuple[Turn, ...]) -> Session:
        now = self._clock()
        ttl = self._policy.ttl_seconds
        if current is None:
            created = sessions.record(sessions.start(ids.new_id(), owner, opening, now, ttl), turns, now, ttl)
            await self._store.create_session(created, self._policy.max_sessions)
            return created
        for _ in range(SESSION_WRITE_ATTEMPTS):  # another call of the same person's may have written meanwhile
            updated = sessions.record(current, turns, now, ttl)
            try:
                await self._store.replace_session(updated, current.version)
                return updated
            except Aborted:
                current = await self._session(owner, current.id)
        raise Aborted(f"{current.name} keeps changing; retry", reason="SESSION_CHANGED")

    async def get_session(self, owner: str, session_id: str) -> Session:
        return await self._session(owner, session_id)

    async def list_sessions(self, owner: str, before_id: str | None, limit: int) -> list[Session]:
        return await self._store.list_sessions(owner, self._clock(), before_id, limit)

    async def delete_session(self, owner: str, session_id: str) -> None:
        if not await self._store.delete_session(owner, session_id):
            raise NotFound(f"sessions/{session_id} does not exist")
