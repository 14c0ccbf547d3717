"""AIService over real gRPC, wired as main() wires it (SQLite, the local provider), with the real contacts service
beside it and a stand-in for messaging's ListMessages: documents (bad input named and changing nothing, stale
etags), roles, the audit trail, sessions, and streamed suggested replies."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf import field_mask_pb2

from runtime.audit.model import AuditQuery
from services.ai.main import wire
from services.contacts.main import wire as contacts_wire
from tests.ai.messaging_double import messaging_double
from tests.ai.support import ADMIN, OPERATOR, POOL, VIEWER, kb_documents, markdown
from tests.support.rpc import violations
from tests.support.servers import running
from wecare.ai.v1 import ai_service_pb2 as pb
from wecare.ai.v1 import ai_service_pb2_grpc as pb_grpc
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc

GUIDE = (
    "# Visiting hours\n\nVisits run from 8 AM to 8 PM.\n\n## Sundays\n\nSunday visits are only for Senior members.\n"
)
OTHER_OPERATOR = POOL.bearer("operator", sub="operator-2")


@pytest.fixture
async def stack(tmp_path):
    """ai + contacts + the messaging stand-in; yields (ai stub, contacts stub, messaging double, ai process)."""
    async with running("contacts", contacts_wire, POOL, tmp_path / "contacts") as contacts:
        async with messaging_double(contacts.settings) as (messages, messaging_address):
            async with running(
                "ai",
                wire,
                POOL,
                tmp_path / "ai",
                contacts_address=contacts.address,
                messaging_address=messaging_address,
            ) as ai:
                async with (
                    grpc.aio.insecure_channel(ai.address) as ai_channel,
                    grpc.aio.insecure_channel(contacts.address) as contacts_channel,
                ):
                    yield (
                        pb_grpc.AIServiceStub(ai_channel),
                        contacts_grpc.ContactsServiceStub(contacts_channel),
                        messages,
                        ai,
                    )


async def create(stub, document: pb.Document, md=ADMIN) -> pb.Document:
    return await stub.CreateDocument(pb.CreateDocumentRequest(document=document), metadata=md)


async def all_documents(stub) -> list[pb.Document]:
    listed = await stub.ListDocuments(pb.ListDocumentsRequest(view=pb.DOCUMENT_VIEW_FULL), metadata=VIEWER)
    return list(listed.documents)


async def test_documents_create_get_list_update_delete(stack):
    ai, *_ = stack
    made = await create(ai, markdown(GUIDE))
    assert made.name.startswith("documents/") and made.title == "Visiting hours" and made.etag
    assert [p.heading for p in made.passages] == ["Visiting hours", "Sundays"]
    assert await ai.GetDocument(pb.GetDocumentRequest(name=made.name), metadata=VIEWER) == made
    basic = await ai.GetDocument(pb.GetDocumentRequest(name=made.name, view=pb.DOCUMENT_VIEW_BASIC), metadata=VIEWER)
    assert basic.title == made.title and not basic.content and not basic.passages

    second = await create(
        ai, pb.Document(title="Notes", content="Plain words.", content_type=pb.CONTENT_TYPE_PLAIN_TEXT)
    )
    page = await ai.ListDocuments(pb.ListDocumentsRequest(page_size=1), metadata=VIEWER)
    assert [d.name for d in page.documents] == [made.name] and not page.documents[0].content
    rest = await ai.ListDocuments(
        pb.ListDocumentsRequest(page_size=1, page_token=page.next_page_token), metadata=VIEWER
    )
    assert [d.name for d in rest.documents] == [second.name] and not rest.next_page_token

    changed = await ai.UpdateDocument(
        pb.UpdateDocumentRequest(
            document=pb.Document(
                name=made.name, content=GUIDE + "\n## Holidays\n\nNo visits on 26 January.\n", etag=made.etag
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["content"]),
        ),
        metadata=ADMIN,
    )
    assert [p.heading for p in changed.passages] == ["Visiting hours", "Sundays", "Holidays"]
    assert changed.etag != made.etag and changed.passages[0].id == made.passages[0].id

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await ai.UpdateDocument(
            pb.UpdateDocumentRequest(
                document=pb.Document(name=made.name, title="Lost update", etag=made.etag),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=ADMIN,
        )
    assert stale.value.code() is grpc.StatusCode.ABORTED
    with pytest.raises(grpc.aio.AioRpcError) as stale_delete:
        await ai.DeleteDocument(pb.DeleteDocumentRequest(name=made.name, etag=made.etag), metadata=ADMIN)
    assert stale_delete.value.code() is grpc.StatusCode.ABORTED
    assert await ai.GetDocument(pb.GetDocumentRequest(name=made.name), metadata=VIEWER) == changed

    await ai.DeleteDocument(pb.DeleteDocumentRequest(name=made.name, etag=changed.etag), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await ai.GetDocument(pb.GetDocumentRequest(name=made.name), metadata=VIEWER)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (pb.Document(content_type=pb.CONTENT_TYPE_MARKDOWN), "document.content"),
        (markdown("x" * 100_001), "document.content"),
        (markdown("# Title\n\n##\n\nText under an empty heading."), "document.content"),
        (markdown("# Title\n\n##Refunds\n\nText."), "document.content"),
        (pb.Document(title="T", content="Text."), "document.content_type"),
        (pb.Document(content="Text.", content_type=pb.CONTENT_TYPE_PLAIN_TEXT), "document.title"),
        (markdown("Text.", title="t" * 201), "document.title"),
    ],
)
async def test_bad_documents_are_refused_naming_the_field_and_change_nothing(stack, document, field):
    ai, *_ = stack
    before = await all_documents(ai)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(ai, document)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused.value) == [field]
    assert await all_documents(ai) == before


async def test_bad_updates_are_refused_and_change_nothing(stack):
    ai, *_ = stack
    made = await create(ai, markdown(GUIDE))
    cases = [
        (pb.Document(name=made.name, title="x"), ["passages"], "update_mask.paths[0]"),
        (pb.Document(name=made.name, content="# T\n\n####### Deep\n\nx"), ["content"], "document.content"),
        (pb.Document(name=made.name, content=""), ["content"], "document.content"),
        (pb.Document(name="documents/not-an-id", title="x"), ["title"], "document.name"),
    ]
    for document, paths, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ai.UpdateDocument(
                pb.UpdateDocumentRequest(document=document, update_mask=field_mask_pb2.FieldMask(paths=paths)),
                metadata=ADMIN,
            )
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT, field
        assert violations(refused.value) == [field]
    assert await ai.GetDocument(pb.GetDocumentRequest(name=made.name), metadata=VIEWER) == made


async def test_roles_decide_who_may_do_what(stack):
    ai, *_ = stack
    nobody = "documents/01J0000000000000000000000A"
    someone = "contacts/01J0000000000000000000000A"
    for call in [
        lambda: create(ai, markdown(GUIDE), md=VIEWER),  # documents are the admins'
        lambda: ai.DeleteDocument(pb.DeleteDocumentRequest(name=nobody), metadata=OPERATOR),
        lambda: _drain(ai.GenerateResponse(pb.GenerateResponseRequest(contact=someone), metadata=VIEWER)),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call()
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await ai.QueryKnowledgeBase(pb.QueryKnowledgeBaseRequest(question="hi"))
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def _drain(call) -> list:
    return [m async for m in call]


async def load_kb(ai) -> None:
    for content in kb_documents().values():
        await create(ai, markdown(content))


async def test_questions_are_answered_with_citations_and_remembered_in_sessions(stack):
    ai, _, _, process = stack
    await load_kb(ai)
    first = await ai.QueryKnowledgeBase(
        pb.QueryKnowledgeBaseRequest(question="how much is the full thali per month??"), metadata=VIEWER
    )
    assert first.answered and "₹3,200" in first.answer and first.citations[0].heading == "Full Thali"
    assert first.session.startswith("sessions/") and len(first.passages) == 3
    skip = await ai.QueryKnowledgeBase(
        pb.QueryKnowledgeBaseRequest(question="till when can i skip tomorrow's lunch?", session=first.session),
        metadata=VIEWER,
    )
    follow = await ai.QueryKnowledgeBase(
        pb.QueryKnowledgeBaseRequest(question="and dinner?", session=first.session), metadata=VIEWER
    )
    assert skip.session == follow.session == first.session
    assert follow.answered and "3 PM" in follow.answer  # read with the question before it

    got = await ai.GetSession(pb.GetSessionRequest(name=first.session), metadata=VIEWER)
    assert [t.speaker for t in got.turns] == [pb.SPEAKER_USER, pb.SPEAKER_ASSISTANT] * 3
    assert got.turns[0].text.startswith("how much is the full thali") and got.turns[1].citations
    assert got.expire_time.seconds - got.update_time.seconds == 30 * 24 * 3600

    # Nobody else sees it, or may continue it.
    other = POOL.bearer("viewer", sub="viewer-2")
    for call in (
        lambda: ai.GetSession(pb.GetSessionRequest(name=first.session), metadata=other),
        lambda: ai.QueryKnowledgeBase(
            pb.QueryKnowledgeBaseRequest(question="hi", session=first.session), metadata=other
        ),
        lambda: ai.DeleteSession(pb.DeleteSessionRequest(name=first.session), metadata=other),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await call()
        assert hidden.value.code() is grpc.StatusCode.NOT_FOUND
    assert (await ai.ListSessions(pb.ListSessionsRequest(), metadata=other)).sessions == []

    # The audit log says which session grew, not what was asked.
    records = await process.audit.list(AuditQuery(actor="viewer-1"), None, 10)
    assert {r.method for r in records} == {"/wecare.ai.v1.AIService/QueryKnowledgeBase"}
    assert all(r.resource == first.session and "thali" not in str(r.after) for r in records)

    await ai.DeleteSession(pb.DeleteSessionRequest(name=first.session), metadata=VIEWER)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await ai.GetSession(pb.GetSessionRequest(name=first.session), metadata=VIEWER)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_person_keeps_at_most_20_sessions_the_oldest_forgotten(stack):
    ai, *_ = stack
    await create(ai, markdown(GUIDE))
    me = POOL.bearer("viewer", sub="viewer-cap")
    started = []
    for i in range(21):
        answer = await ai.QueryKnowledgeBase(pb.QueryKnowledgeBaseRequest(question=f"sunday visits {i}?"), metadata=me)
        started.append(answer.session)
    listed = await ai.ListSessions(pb.ListSessionsRequest(), metadata=me)
    assert [s.name for s in listed.sessions] == list(reversed(started[1:]))
    assert all(s.turn_count == 2 and not s.turns for s in listed.sessions)
    with pytest.raises(grpc.aio.AioRpcError) as forgotten:
        await ai.GetSession(pb.GetSessionRequest(name=started[0]), metadata=me)
    assert forgotten.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.QueryKnowledgeBaseRequest(question=""), "question"),
        (pb.QueryKnowledgeBaseRequest(question="x" * 1001), "question"),
        (pb.QueryKnowledgeBaseRequest(question="hi", session="sessions/nope"), "session"),
        (pb.QueryKnowledgeBaseRequest(question="hi", max_passages=-1), "max_passages"),
    ],
)
async def test_bad_questions_are_refused_naming_the_field(stack, request_, field):
    ai, *_ = stack
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ai.QueryKnowledgeBase(request_, metadata=VIEWER)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and violations(refused.value) == [field]
    assert (await ai.ListSessions(pb.ListSessionsRequest(), metadata=VIEWER)).sessions == []


async def new_contact(contacts, **fields) -> contacts_pb.Contact:
    return await contacts.CreateContact(
        contacts_pb.CreateContactRequest(contact=contacts_pb.Contact(**fields)), metadata=OPERATOR
    )


async def test_a_suggested_reply_streams_in_pieces_and_ends_with_its_citations(stack):
    ai, contacts, messages, _ = stack
    await load_kb(ai)
    asha = await new_contact(contacts, display_name="Asha Verma", phone_number="+919812345678")
    now = time.time()
    messages.say(asha.name, "hello", now - 7200)
    messages.say(asha.name, "Hi Asha, how can we help?", now - 7100, inbound=False)
    messages.say(
        asha.name,
        "my salary is late, if i pay a couple of days after the renewal date will u stop my tiffin?",
        now - 3600,
    )

    stream = await _drain(ai.GenerateResponse(pb.GenerateResponseRequest(contact=asha.name), metadata=OPERATOR))
    pieces, last = stream[:-1], stream[-1]
    assert len(pieces) >= 5 and all(p.text and not p.done for p in pieces)
    assert last.done and last.reply == "".join(p.text for p in pieces)
    assert last.reply.startswith("Hi Asha, ") and "2 more days" in last.reply
    assert [c.heading for c in last.citations][:1] == ["If a payment is late"]
    assert not any(m.template_required for m in stream)
    assert abs(last.window_expire_time.seconds - (now - 3600 + 24 * 3600)) < 2
    assert messages.callers and all(c == "service:ai" for c in messages.callers)  # its own identity, not the person's

    session = await ai.GetSession(pb.GetSessionRequest(name=last.session), metadata=OPERATOR)
    assert [t.contact for t in session.turns] == [asha.name, asha.name] and session.turns[1].text == last.reply


async def test_a_closed_window_marks_every_piece_template_required(stack):
    ai, contacts, messages, _ = stack
    await load_kb(ai)
    ravi = await new_contact(contacts, display_name="Ravi", phone_number="+919812345679")
    messages.say(ravi.name, "can i pause my tiffin plan while i travel?", time.time() - 2 * 24 * 3600)
    stream = await _drain(ai.GenerateResponse(pb.GenerateResponseRequest(contact=ravi.name), metadata=OPERATOR))
    assert len(stream) > 2 and all(m.template_required for m in stream)
    assert "5 to 30 days" in stream[-1].reply


async def test_suggestions_refuse_what_they_cannot_do(stack):
    ai, contacts, _, _ = stack
    quiet = await new_contact(contacts, display_name="Quiet", phone_number="+919812345670")
    cases = [
        (pb.GenerateResponseRequest(contact="people/1"), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.GenerateResponseRequest(contact="contacts/01J0000000000000000000000A"), grpc.StatusCode.NOT_FOUND),
        (pb.GenerateResponseRequest(contact=quiet.name, guidance="x" * 501), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.GenerateResponseRequest(contact=quiet.name), grpc.StatusCode.FAILED_PRECONDITION),  # nothing to answer
    ]
    for request, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _drain(ai.GenerateResponse(request, metadata=OPERATOR))
        assert refused.value.code() is code, request
    # With guidance, an operator may write first.
    stream = await _drain(
        ai.GenerateResponse(
            pb.GenerateResponseRequest(contact=quiet.name, guidance="tell them about the weekly plan"),
            metadata=OPERATOR,
        )
    )
    assert stream[-1].done and stream[-1].template_required  # they never wrote: no open window
