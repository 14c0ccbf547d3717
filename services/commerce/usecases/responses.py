"""Sending a form and taking its answers: invitations (a flow token per send, bound to the contact, the number,
the message and the job), the answers that come back as `nfm_reply` (checked, stored once, written onto the
contact), and the responses listed and exported as CSV.

Submitting is safe to repeat: a flow token answered before, or a wamid seen before, returns the stored response
and changes nothing (whatever the repeat's answers). The effects on the contact come after the response is
stored; when contacts cannot take them now the response stays PENDING and the call fails UNAVAILABLE, so
messaging's ingest retries it, and the retry (a duplicate) writes them."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable

from runtime import ids, phones
from runtime.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from services.commerce.adapters.contacts import ContactWriter, ContactWriteRefused
from services.commerce.adapters.form_store import FormStore
from services.commerce.domain import answers as answer_rules
from services.commerce.domain.forms import Form, FormState, at
from services.commerce.domain.invitations import (
    Invitation,
    InvitationRequest,
    is_token,
    new_invitation,
    new_token,
    reference,
)
from services.commerce.domain.responses import ContactSync, Response, csv_header, csv_rows

log = logging.getLogger("wecare.commerce.forms")
MAX_BATCH = 1000
MAX_WAMID = 256
EXPORT_PAGE = 500


class Invitations:
    def __init__(self, store: FormStore, region: str, clock: Callable[[], float] = time.time):
        self._store = store
        self._region = region
        self._clock = clock

    async def _form(self, form_id: str) -> Form:
        form = await self._store.get_form(form_id)
        if form is None:
            raise NotFound(f"forms/{form_id} does not exist")
        return form

    async def create(
        self, form_id: str, requests: list[InvitationRequest], prefixes: list[str], creator: str
    ) -> tuple[Form, list[Invitation]]:
        """All the invitations or none: any invalid request refuses the batch, naming every bad field."""
        if len(requests) > MAX_BATCH:
            raise InvalidArgument("requests", f"at most {MAX_BATCH} invitations a call; split the batch")
        form = await self._form(form_id)
        if form.state is not FormState.PUBLISHED:
            raise FailedPrecondition(
                f"{form.name} is {form.state.value}: only a published form is sent", reason="FORM_NOT_PUBLISHED"
            )
        now = self._clock()
        made, problems, seen = [], [], {}
        for i, (asked, prefix) in enumerate(zip(requests, prefixes, strict=True)):
            try:
                made.append(
                    new_invitation(
                        asked, prefix, form_id=form.id, token=new_token(), now=now, creator=creator, region=self._region
                    )
                )
            except InvalidArgument as exc:
                problems += exc.violations
            if asked.request_id:
                if asked.request_id in seen:
                    problems.append(
                        FieldViolation(at(prefix, "request_id"), f"repeats that of requests[{seen[asked.request_id]}]")
                    )
                seen.setdefault(asked.request_id, i)
        if problems:
            raise InvalidArgument(problems)
        try:
            stored = await self._store.create_invitations(made)
        except AlreadyExists as exc:
            if exc.reason != "TOKEN_TAKEN":
                raise
            made = [dataclasses.replace(i, token=new_token()) for i in made]  # 128 random bits collided: again
            stored = await self._store.create_invitations(made)
        for wanted, got, prefix in zip(made, stored, prefixes, strict=True):
            if got.token != wanted.token and not got.same_request(wanted):
                raise AlreadyExists(
                    f"request_id {wanted.request_id!r} already made {got.name}, a different invitation",
                    reason="REQUEST_ID_REUSED",
                    metadata={"field": at(prefix, "request_id"), "invitation": got.name},
                )
        return form, stored

    async def get(self, form_id: str, token: str) -> tuple[Form, Invitation]:
        invitation = await self._store.get_invitation(token) if is_token(token) else None
        if invitation is None or invitation.form_id != form_id:
            raise NotFound(f"forms/{form_id}/invitations/{token} does not exist")
        return await self._form(form_id), invitation

    async def record_message(self, form_id: str, token: str, message: str) -> tuple[Form, Invitation]:
        problems: list[FieldViolation] = []
        message_id = reference(message, "messages", "invitation.message", problems)
        if not message:
            problems.append(FieldViolation("invitation.message", "required: `messages/{id}`"))
        if problems:
            raise InvalidArgument(problems)
        form, invitation = await self.get(form_id, token)
        if invitation.message == message_id:
            return form, invitation
        if invitation.message:
            raise FailedPrecondition(
                f"{invitation.name} was sent by messages/{invitation.message} already", reason="MESSAGE_RECORDED"
            )
        stored = await self._store.set_invitation_message(token, message_id)
        if stored is None:
            raise NotFound(f"{invitation.name} does not exist")
        if stored.message != message_id:
            raise FailedPrecondition(
                f"{invitation.name} was sent by messages/{stored.message} already", reason="MESSAGE_RECORDED"
            )
        return form, stored


@dataclasses.dataclass(frozen=True)
class Submission:
    response_json: str
    sender: str
    reply_wamid: str
    reply_message: str = ""
    submit_time: float | None = None


class Responses:
    def __init__(self, store: FormStore, contacts: ContactWriter, region: str, clock: Callable[[], float] = time.time):
        self._store = store
        self._contacts = contacts
        self._region = region
        self._clock = clock

    async def submit(self, given: Submission) -> tuple[Response, bool]:
        """The stored response and whether it was there before."""
        reply = answer_rules.read_reply(given.response_json)
        problems: list[FieldViolation] = []
        wamid = given.reply_wamid.strip()
        if not wamid or len(wamid) > MAX_WAMID or not wamid.isprintable():
            problems.append(
                FieldViolation("reply_wamid", f"required: the inbound message's wamid (at most {MAX_WAMID})")
            )
        message_id = reference(given.reply_message, "messages", "reply_message", problems)
        raw = given.sender.strip()
        raw = "+" + raw if raw.isdigit() else raw  # a wa_id is international, without its `+`
        sender = phones.e164(raw, self._region) if raw else None
        if sender is None:
            problems.append(FieldViolation("sender", "required: the number that answered, E.164"))
        if problems:
            raise InvalidArgument(problems)
        invitation = await self._store.get_invitation(reply.flow_token) if is_token(reply.flow_token) else None
        if invitation is None:
            raise NotFound("no form invitation has this flow token", reason="UNKNOWN_FLOW_TOKEN")
        if sender != invitation.recipient:
            raise InvalidArgument("sender", "is not the number the form was sent to")
        form = await self._store.get_form(invitation.form_id)
        if form is None:
            raise NotFound(f"forms/{invitation.form_id} does not exist")
        earlier = await self._store.get_response(invitation.token)
        if earlier is not None:
            return await self._effects(form, earlier), True
        checked = answer_rules.check_answers(form, reply.payload)
        changes = answer_rules.contact_changes(form, checked)
        now = self._clock()
        response = Response(
            id=ids.new_id(),
            token=invitation.token,
            form_id=form.id,
            recipient=invitation.recipient,
            answers=checked,
            submit_time=given.submit_time or now,
            create_time=now,
            reply_wamid=wamid,
            reply_message=message_id,
            contact=invitation.contact,
            message=invitation.message,
            job=invitation.job,
            contact_sync=ContactSync.PENDING if changes else ContactSync.NONE,
        )
        stored, created = await self._store.record_response(response)
        return await self._effects(form, stored), not created

    async def _effects(self, form: Form, response: Response) -> Response:
        """Writes a PENDING response's answers onto the contact; Unavailable (left PENDING) when contacts is."""
        if response.contact_sync is not ContactSync.PENDING:
            return response
        changes = answer_rules.contact_changes(form, response.answers)
        try:
            await self._contacts.apply(
                changes,
                contact_id=response.contact,
                phone=response.recipient,
                at=response.submit_time,
                source=f"form:{form.name}",
            )
        except ContactWriteRefused as refused:
            log.warning(
                "form answers not written onto the contact", extra={"response": response.name, "why": str(refused)}
            )
            await self._store.set_contact_sync(response.token, ContactSync.FAILED, str(refused))
            return dataclasses.replace(response, contact_sync=ContactSync.FAILED, contact_sync_error=str(refused))
        await self._store.set_contact_sync(response.token, ContactSync.APPLIED)
        return dataclasses.replace(response, contact_sync=ContactSync.APPLIED)

    async def list(self, form_id: str, contact_id: str, job_id: str, after: str | None, limit: int) -> list[Response]:
        """Responses in id order after `after`: of the form (form_id "" for any form), of the contact, of the job.
        Reads the narrowest index and filters by the rest."""
        if not (form_id or contact_id or job_id):
            raise InvalidArgument("parent", "`forms/-` needs contact or job")
        if form_id and await self._store.get_form(form_id) is None:
            raise NotFound(f"forms/{form_id} does not exist")
        if contact_id:
            source = lambda a, n: self._store.responses_of_contact(contact_id, a, n)  # noqa: E731
        elif job_id:
            source = lambda a, n: self._store.responses_of_job(job_id, a, n)  # noqa: E731
        else:
            source = lambda a, n: self._store.responses_of_form(form_id, a, n)  # noqa: E731
        out: list[Response] = []
        while len(out) < limit:
            page = await source(after, limit)
            out += [r for r in page if (not form_id or r.form_id == form_id) and (not job_id or r.job == job_id)]
            if len(page) < limit:
                break
            after = page[-1].id
        return out[:limit]

    async def export(self, form_id: str) -> tuple[Form, AsyncIterator[bytes]]:
        """The form (NotFound before anything is sent) and its CSV, a page of rows at a time."""
        form = await self._store.get_form(form_id)
        if form is None:
            raise NotFound(f"forms/{form_id} does not exist")

        async def chunks() -> AsyncIterator[bytes]:
            yield csv_header(form)
            after = None
            while True:
                page = await self._store.responses_of_form(form.id, after, EXPORT_PAGE)
                if page:
                    yield csv_rows(form, page)
                if len(page) < EXPORT_PAGE:
                    return
                after = page[-1].id

        return form, chunks()
