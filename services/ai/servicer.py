"""AIService: protobuf in, domain and assistant calls, protobuf out. Rules live in domain/, use cases in
assistant.py."""

from __future__ import annotations

import time

from google.protobuf import empty_pb2

from runtime import ids
from runtime.calls import caller, note_change
from runtime.errors import Aborted, InvalidArgument, NotFound, PermissionDenied
from runtime.names import parse_name, timestamp
from runtime.pagination import PageTokens, page_size
from services.ai.adapters.store import DocsStore
from services.ai.assistant import Assistant, Suggestion
from services.ai.domain import documents
from services.ai.domain.answers import Citation
from services.ai.domain.documents import ContentType, Document, DocumentInput
from services.ai.domain.sessions import Session, Speaker
from wecare.ai.v1 import ai_service_pb2 as pb
from wecare.ai.v1 import ai_service_pb2_grpc

CONTENT_TYPES = {pb.CONTENT_TYPE_PLAIN_TEXT: ContentType.PLAIN_TEXT, pb.CONTENT_TYPE_MARKDOWN: ContentType.MARKDOWN}
CONTENT_TYPES_PB = {v: k for k, v in CONTENT_TYPES.items()}
SPEAKERS_PB = {Speaker.USER: pb.SPEAKER_USER, Speaker.ASSISTANT: pb.SPEAKER_ASSISTANT}
MAX_PASSAGES = 10


def document_to_proto(document: Document, view: int = pb.DOCUMENT_VIEW_FULL) -> pb.Document:
    out = pb.Document(
        name=document.name,
        title=document.title,
        content_type=CONTENT_TYPES_PB[document.content_type],
        create_time=timestamp(document.create_time),
        update_time=timestamp(document.update_time),
        etag=document.etag,
    )
    if view == pb.DOCUMENT_VIEW_FULL:
        out.content = document.content
        out.passages.extend(pb.Passage(id=p.id, heading=p.heading, text=p.text) for p in document.passages)
    return out


def document_from_proto(message: pb.Document) -> DocumentInput:
    return DocumentInput(
        title=message.title, content=message.content, content_type=CONTENT_TYPES.get(message.content_type)
    )


def citation_to_proto(citation: Citation) -> pb.Citation:
    return pb.Citation(
        document=citation.document,
        document_title=citation.document_title,
        passage_id=citation.passage_id,
        heading=citation.heading,
        quote=citation.quote,
        score=citation.score,
    )


def session_to_proto(session: Session, with_turns: bool = True) -> pb.Session:
    out = pb.Session(
        name=session.name,
        title=session.title,
        turn_count=len(session.turns),
        create_time=timestamp(session.create_time),
        update_time=timestamp(session.update_time),
        expire_time=timestamp(session.expire_time),
    )
    if with_turns:
        out.turns.extend(
            pb.Turn(
                speaker=SPEAKERS_PB[t.speaker],
                text=t.text,
                contact=t.contact,
                citations=[citation_to_proto(c) for c in t.citations],
                create_time=timestamp(t.time),
            )
            for t in session.turns
        )
    return out


def _owner() -> str:
    """Sessions belong to the person calling: their Cognito subject."""
    who = caller()
    if who is None or who.is_service:
        raise PermissionDenied("assistant sessions belong to people; a service identity has none")
    return who.subject


def _session_id(name: str, field: str) -> str | None:
    return parse_name(name, "sessions", field) if name else None


class AIServicer(ai_service_pb2_grpc.AIServiceServicer):
    def __init__(self, store: DocsStore, assistant: Assistant, page_tokens: PageTokens):
        self._store = store
        self._assistant = assistant
        self._tokens = page_tokens

    # Documents

    async def _get(self, document_id: str) -> Document:
        document = await self._store.get_document(document_id)
        if document is None:
            raise NotFound(f"documents/{document_id} does not exist")
        return document

    async def CreateDocument(self, request: pb.CreateDocumentRequest, context) -> pb.Document:
        if not request.HasField("document"):
            raise InvalidArgument("document", "required")
        document = documents.new_document(
            ids.new_id(), document_from_proto(request.document), time.time(), caller().subject if caller() else ""
        )
        await self._store.create_document(document)
        note_change(document.name, None, document.audit_view())
        return document_to_proto(document)

    async def GetDocument(self, request: pb.GetDocumentRequest, context) -> pb.Document:
        document = await self._get(parse_name(request.name, "documents"))
        return document_to_proto(document, request.view or pb.DOCUMENT_VIEW_FULL)

    async def ListDocuments(self, request: pb.ListDocumentsRequest, context) -> pb.ListDocumentsResponse:
        size = page_size(request.page_size, 50, 200)
        view = request.view or pb.DOCUMENT_VIEW_BASIC
        after = self._tokens.decode("documents:list", request.page_token) if request.page_token else None
        found = await self._store.list_documents(after, size + 1, with_content=view == pb.DOCUMENT_VIEW_FULL)
        more = len(found) > size
        found = found[:size]
        token = self._tokens.encode("documents:list", found[-1].id) if more else ""
        return pb.ListDocumentsResponse(documents=[document_to_proto(d, view) for d in found], next_page_token=token)

    @staticmethod
    def _paths(request: pb.UpdateDocumentRequest) -> tuple[str, ...]:
        given = list(request.update_mask.paths)
        if not given:
            populated = {f.name for f, _ in request.document.ListFields()}
            paths = tuple(p for p in documents.WRITABLE if p in populated)
            if not paths:
                raise InvalidArgument("update_mask", f"nothing to update: set {', '.join(documents.WRITABLE)}")
            return paths
        if given == ["*"]:
            return documents.WRITABLE
        for i, path in enumerate(given):
            if path not in documents.WRITABLE:
                raise InvalidArgument(
                    f"update_mask.paths[{i}]",
                    f"{path!r} cannot be updated; updatable: {', '.join(documents.WRITABLE)}",
                )
        return tuple(dict.fromkeys(given))

    async def UpdateDocument(self, request: pb.UpdateDocumentRequest, context) -> pb.Document:
        if not request.HasField("document"):
            raise InvalidArgument("document", "required")
        document_id = parse_name(request.document.name, "documents", "document.name")
        paths = self._paths(request)
        given = document_from_proto(request.document)
        for _ in range(5):  # without an etag, a concurrent writer makes us re-read, not fail
            current = await self._get(document_id)
            updated = documents.apply_update(current, given, paths, request.document.etag, time.time())
            if updated is current:
                return document_to_proto(current)
            try:
                await self._store.replace_document(updated, current.version)
            except Aborted:
                if request.document.etag:
                    raise
                continue
            note_change(updated.name, current.audit_view(), updated.audit_view())
            return document_to_proto(updated)
        raise Aborted(f"{request.document.name} keeps changing; retry", reason="CONCURRENT_UPDATES")

    async def DeleteDocument(self, request: pb.DeleteDocumentRequest, context) -> empty_pb2.Empty:
        document_id = parse_name(request.name, "documents")
        expected = None
        if request.etag:
            current = await self._get(document_id)
            if current.etag != request.etag:
                raise Aborted(
                    f"{request.name} changed since etag {request.etag}; read it again", reason="ETAG_MISMATCH"
                )
            expected = current.version
        removed = await self._store.delete_document(document_id, expected)
        if removed is None:
            raise NotFound(f"{request.name} does not exist")
        note_change(request.name, removed.audit_view(), None)
        return empty_pb2.Empty()

    # The assistant

    async def QueryKnowledgeBase(self, request: pb.QueryKnowledgeBaseRequest, context) -> pb.QueryKnowledgeBaseResponse:
        max_passages = page_size(request.max_passages, 3, MAX_PASSAGES, "max_passages")
        owner = _owner()
        answer, session = await self._assistant.query(
            owner, request.question, _session_id(request.session, "session"), max_passages
        )
        # The audit keeps which session grew and how the question fared, not what was asked.
        note_change(session.name, None, {"turns": len(session.turns), "answered": answer.answered})
        return pb.QueryKnowledgeBaseResponse(
            answer=answer.text,
            answered=answer.answered,
            confidence=answer.confidence,
            citations=[citation_to_proto(c) for c in answer.citations],
            passages=[citation_to_proto(c) for c in answer.passages],
            session=session.name,
        )

    async def GenerateResponse(self, request: pb.GenerateResponseRequest, context):
        parse_name(request.contact, "contacts", "contact")
        owner = _owner()
        session_id = _session_id(request.session, "session")
        async for event in self._assistant.suggest(owner, request.contact, session_id, request.guidance):
            if isinstance(event, Suggestion):
                note_change(event.session.name, None, {"turns": len(event.session.turns), "contact": request.contact})
                yield pb.GenerateResponseResponse(
                    done=True,
                    template_required=event.template_required,
                    window_expire_time=timestamp(event.window_expire_time),
                    reply=event.reply,
                    citations=[citation_to_proto(c) for c in event.citations],
                    confidence=event.confidence,
                    session=event.session.name,
                )
            else:
                yield pb.GenerateResponseResponse(
                    text=event.text,
                    template_required=event.template_required,
                    window_expire_time=timestamp(event.window_expire_time),
                )

    # Sessions

    async def GetSession(self, request: pb.GetSessionRequest, context) -> pb.Session:
        session_id = parse_name(request.name, "sessions")
        return session_to_proto(await self._assistant.get_session(_owner(), session_id))

    async def ListSessions(self, request: pb.ListSessionsRequest, context) -> pb.ListSessionsResponse:
        owner = _owner()
        size = page_size(request.page_size, 20, 20)
        scope = f"sessions:list:{owner}"  # another person's token is foreign here
        before = self._tokens.decode(scope, request.page_token) if request.page_token else None
        found = await self._assistant.list_sessions(owner, before, size + 1)
        more = len(found) > size
        found = found[:size]
        token = self._tokens.encode(scope, found[-1].id) if more else ""
        return pb.ListSessionsResponse(
            sessions=[session_to_proto(s, with_turns=False) for s in found], next_page_token=token
        )

    async def DeleteSession(self, request: pb.DeleteSessionRequest, context) -> empty_pb2.Empty:
        session_id = parse_name(request.name, "sessions")
        await self._assistant.delete_session(_owner(), session_id)
        note_change(request.name, None, None)
        return empty_pb2.Empty()
