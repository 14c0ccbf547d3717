"""ContactsService and AuditService: protobuf in, domain calls, protobuf out. Rules live in domain.py."""

from __future__ import annotations

import time

from google.protobuf import empty_pb2, struct_pb2
from google.rpc import status_pb2

from runtime import ids
from runtime.audit.model import AuditQuery, AuditStore
from runtime.calls import caller, note_change
from runtime.errors import Aborted, AlreadyExists, DomainError, FieldViolation, InvalidArgument, NotFound
from runtime.names import parse_name, seconds, timestamp
from runtime.pagination import PageTokens, page_size
from services.contacts import domain
from services.contacts.adapters.store import ContactStore
from services.contacts.domain import CHANNELS, ChannelConsent, ConsentState, Contact, ContactInput
from wecare.audit.v1 import audit_service_pb2, audit_service_pb2_grpc
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

MAX_BATCH = 1000
MAX_SEARCH_RESULTS = 500
CHANNEL_NAMES = {pb.CHANNEL_WHATSAPP: "whatsapp", pb.CHANNEL_SMS: "sms", pb.CHANNEL_EMAIL: "email"}
CONSENT_FROM_PB = {
    pb.CONSENT_STATE_UNSPECIFIED: ConsentState.UNKNOWN,
    pb.CONSENT_STATE_OPTED_IN: ConsentState.OPTED_IN,
    pb.CONSENT_STATE_OPTED_OUT: ConsentState.OPTED_OUT,
}
CONSENT_TO_PB = {v: k for k, v in CONSENT_FROM_PB.items()}


def to_proto(contact: Contact) -> pb.Contact:
    out = pb.Contact(
        name=contact.name,
        display_name=contact.display_name,
        phone_number=contact.phone_number,
        email=contact.email,
        tags=contact.tags,
        attributes=contact.attributes,
        create_time=timestamp(contact.create_time),
        update_time=timestamp(contact.update_time),
        etag=contact.etag,
    )
    for channel in CHANNELS:
        consent = contact.consent.get(channel)
        if consent is not None:
            getattr(out, f"{channel}_consent").CopyFrom(
                pb.ChannelConsent(
                    state=CONSENT_TO_PB[consent.state],
                    update_time=timestamp(consent.update_time),
                    source=consent.source,
                    history=[
                        pb.ConsentChange(
                            state=CONSENT_TO_PB[c.state], update_time=timestamp(c.update_time), source=c.source
                        )
                        for c in contact.consent_history.get(channel, ())
                    ],
                )
            )
    return out


def from_proto(message: pb.Contact) -> ContactInput:
    consent = {}
    for channel in CHANNELS:
        field = f"{channel}_consent"
        if message.HasField(field):
            given = getattr(message, field)
            consent[channel] = ChannelConsent(
                CONSENT_FROM_PB.get(given.state, ConsentState.UNKNOWN),
                seconds(given.update_time) if given.HasField("update_time") else None,
                given.source,
            )
    return ContactInput(
        display_name=message.display_name,
        phone_number=message.phone_number,
        email=message.email,
        tags=tuple(message.tags),
        attributes=dict(message.attributes),
        consent=consent,
    )


def _actor() -> str:
    who = caller()
    return who.subject if who else "unknown"


def _populated_paths(message: pb.Contact) -> tuple[str, ...]:
    """AIP-134: without an update_mask, the fields the caller set."""
    paths = [f.name for f, _ in message.ListFields()]
    return tuple(p for p in domain.WRITABLE if p in paths)


def _status(error: DomainError) -> status_pb2.Status:
    return error.to_status()


class ContactsServicer(contacts_service_pb2_grpc.ContactsServiceServicer):
    def __init__(self, store: ContactStore, region: str, page_tokens: PageTokens):
        self._store = store
        self._region = region
        self._tokens = page_tokens

    async def _get(self, contact_id: str) -> Contact:
        contact = await self._store.get(contact_id)
        if contact is None:
            raise NotFound(f"contacts/{contact_id} does not exist")
        return contact

    async def GetContact(self, request: pb.GetContactRequest, context) -> pb.Contact:
        return to_proto(await self._get(parse_name(request.name, "contacts")))

    async def ListContacts(self, request: pb.ListContactsRequest, context) -> pb.ListContactsResponse:
        size = page_size(request.page_size, 50, 1000)
        tags = domain.tag_filter(tuple(request.tags), "tags")
        if tags:
            return await self._list_tagged(tags, size, request.page_token)
        after = self._tokens.decode("contacts:list", request.page_token) if request.page_token else None
        contacts = await self._store.list(after, size + 1)
        more = len(contacts) > size
        contacts = contacts[:size]
        token = self._tokens.encode("contacts:list", contacts[-1].id) if more else ""
        return pb.ListContactsResponse(contacts=[to_proto(c) for c in contacts], next_page_token=token)

    async def _list_tagged(self, tags: tuple[str, ...], size: int, page_token: str) -> pb.ListContactsResponse:
        scope = "contacts:list:tags=" + ",".join(tags)
        after = None
        if page_token:
            try:
                after = self._tokens.decode(scope, page_token)
            except InvalidArgument:
                # A position in the whole book (bulk's saved cursor from before the tag index) is one here too.
                after = self._tokens.decode("contacts:list", page_token)
        contacts, resume = await self._store.list_tagged(tags, after, size + 1)
        if len(contacts) > size:
            contacts, resume = contacts[:size], contacts[size - 1].id
        token = self._tokens.encode(scope, resume) if resume else ""
        return pb.ListContactsResponse(contacts=[to_proto(c) for c in contacts], next_page_token=token)

    def _new(self, given: pb.Contact, prefix: str) -> Contact:
        valid = domain.validate(from_proto(given), self._region, prefix)
        return domain.new_contact(ids.new_id(), valid, time.time(), _actor(), prefix)

    async def CreateContact(self, request: pb.CreateContactRequest, context) -> pb.Contact:
        if not request.HasField("contact"):
            raise InvalidArgument("contact", "required")
        contact = self._new(request.contact, "contact")
        await self._store.create(contact)
        note_change(contact.name, None, contact.audit_view())
        return to_proto(contact)

    async def BatchCreateContacts(
        self, request: pb.BatchCreateContactsRequest, context
    ) -> pb.BatchCreateContactsResponse:
        if not request.requests:
            raise InvalidArgument("requests", "at least one contact")
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument("requests", f"at most {MAX_BATCH} contacts a call; split the import")
        results: list[pb.BatchCreateContactResult | None] = [None] * len(request.requests)
        valid: list[tuple[int, Contact]] = []
        for i, item in enumerate(request.requests):
            try:
                valid.append((i, self._new(item.contact, f"requests[{i}].contact")))
            except DomainError as exc:
                results[i] = pb.BatchCreateContactResult(error=_status(exc))
        outcomes = await self._store.create_many([c for _, c in valid]) if valid else []
        for (i, contact), error in zip(valid, outcomes, strict=True):
            if error is None:
                results[i] = pb.BatchCreateContactResult(contact=to_proto(contact))
            else:
                results[i] = pb.BatchCreateContactResult(error=_status(error))
        created = sum(1 for r in results if r is not None and r.HasField("contact"))
        note_change("contacts", None, {"requested": len(request.requests), "created": created})
        return pb.BatchCreateContactsResponse(results=results)

    async def UpdateContact(self, request: pb.UpdateContactRequest, context) -> pb.Contact:
        if not request.HasField("contact"):
            raise InvalidArgument("contact", "required")
        contact_id = parse_name(request.contact.name, "contacts", "contact.name")
        paths = self._paths(request)
        given = domain.validate(from_proto(request.contact), self._region, "contact", paths)
        for _ in range(5):  # without an etag, a concurrent writer makes us re-read, not fail
            current = await self._get(contact_id)
            updated = domain.apply_update(current, given, paths, request.contact.etag, time.time(), _actor())
            if updated is current:
                return to_proto(current)
            try:
                await self._store.replace(updated, current.version)
            except Aborted:
                if request.contact.etag:
                    raise
                continue
            note_change(updated.name, current.audit_view(), updated.audit_view())
            return to_proto(updated)
        raise Aborted(f"{request.contact.name} keeps changing; retry", reason="CONCURRENT_UPDATES")

    @staticmethod
    def _paths(request: pb.UpdateContactRequest) -> tuple[str, ...]:
        given = list(request.update_mask.paths)
        if not given:
            return _populated_paths(request.contact)
        if given == ["*"]:
            return domain.WRITABLE
        for i, path in enumerate(given):
            if path not in domain.WRITABLE:
                raise InvalidArgument(
                    f"update_mask.paths[{i}]", f"{path!r} cannot be updated; updatable: {', '.join(domain.WRITABLE)}"
                )
        return tuple(dict.fromkeys(given))

    async def DeleteContact(self, request: pb.DeleteContactRequest, context) -> empty_pb2.Empty:
        contact_id = parse_name(request.name, "contacts")
        expected = None
        if request.etag:
            current = await self._get(contact_id)
            if current.etag != request.etag:
                raise Aborted(
                    f"{request.name} changed since etag {request.etag}; read it again", reason="ETAG_MISMATCH"
                )
            expected = current.version
        removed = await self._store.delete(contact_id, expected)
        if removed is None:
            raise NotFound(f"{request.name} does not exist")
        note_change(request.name, {"version": removed.version}, None)
        return empty_pb2.Empty()

    async def SearchContacts(self, request: pb.SearchContactsRequest, context) -> pb.SearchContactsResponse:
        plan = domain.plan_search(request.query, self._region)
        size = page_size(request.page_size, 20, 100)
        scope = "contacts:search:" + plan.prefix
        offset = int(self._tokens.decode(scope, request.page_token)) if request.page_token else 0
        want = min(offset + size + 1, MAX_SEARCH_RESULTS)
        exact = [c for c in [await self._exact(plan)] if c is not None]
        by_prefix = await self._store.by_name_prefix(plan.prefix, want)
        by_words = await self._store.by_words(plan.words, want) if len(by_prefix) < want else []
        ranked = domain.rank(exact, by_prefix, by_words)
        page = ranked[offset : offset + size]
        more = len(ranked) > offset + size and offset + size < MAX_SEARCH_RESULTS
        token = self._tokens.encode(scope, offset + size) if more else ""
        return pb.SearchContactsResponse(contacts=[to_proto(c) for c in page], next_page_token=token)

    async def _exact(self, plan: domain.SearchPlan) -> Contact | None:
        if plan.phone:
            found = await self._store.find_by_phone(plan.phone)
            if found:
                return found
        if plan.email:
            return await self._store.find_by_email(plan.email)
        return None

    async def RecordConsentChange(self, request: pb.RecordConsentChangeRequest, context) -> pb.Contact:
        channel, state, phone, email, at = self._consent_request(request)
        now = time.time()
        for _ in range(5):
            current = await (self._store.find_by_phone(phone) if phone else self._store.find_by_email(email))
            if current is None:
                given = ContactInput(
                    display_name=" ".join(request.display_name.split())[: domain.MAX_NAME],
                    phone_number=phone,
                    email=email,
                )
                contact = domain.record_consent(
                    domain.new_contact(ids.new_id(), given, now, _actor()), channel, state, at, request.source, now
                )
                try:
                    await self._store.create(contact)
                except AlreadyExists:
                    continue  # created meanwhile by another event: apply to it
                note_change(contact.name, None, contact.audit_view())
                return to_proto(contact)
            updated = domain.record_consent(current, channel, state, at, request.source, now)
            if updated is current:
                return to_proto(current)
            try:
                await self._store.replace(updated, current.version)
            except Aborted:
                continue
            note_change(updated.name, current.audit_view(), updated.audit_view())
            return to_proto(updated)
        raise Aborted("the contact keeps changing; retry", reason="CONCURRENT_UPDATES")

    def _consent_request(self, request: pb.RecordConsentChangeRequest):
        problems = []
        if bool(request.phone_number) == bool(request.email):
            problems.append(("phone_number", "give exactly one of phone_number and email"))
        channel = CHANNEL_NAMES.get(request.channel)
        if channel is None:
            problems.append(("channel", "required: CHANNEL_WHATSAPP, CHANNEL_SMS or CHANNEL_EMAIL"))
        elif (channel == "email" and request.phone_number) or (channel != "email" and request.email):
            problems.append(
                ("channel", "email consent goes with an email, WhatsApp and SMS consent with a phone number")
            )
        state = CONSENT_FROM_PB.get(request.state, ConsentState.UNKNOWN)
        if state is ConsentState.UNKNOWN:
            problems.append(("state", "required: CONSENT_STATE_OPTED_IN or CONSENT_STATE_OPTED_OUT"))
        if not request.source.strip():
            problems.append(("source", "required: where the change comes from, e.g. whatsapp:keyword:STOP"))
        if problems:
            raise InvalidArgument([FieldViolation(f, d) for f, d in problems])
        phone = (
            domain.normalize_phone(request.phone_number, self._region, "phone_number") if request.phone_number else ""
        )
        email = (
            domain.validate(ContactInput(email=request.email), self._region, "", ("email",)).email
            if request.email
            else ""
        )
        at = seconds(request.event_time) if request.HasField("event_time") else time.time()
        return channel, state, phone, email, at


class AuditServicer(audit_service_pb2_grpc.AuditServiceServicer):
    def __init__(self, store: AuditStore, page_tokens: PageTokens):
        self._store = store
        self._tokens = page_tokens

    async def ListAuditRecords(self, request: audit_service_pb2.ListAuditRecordsRequest, context):
        query = AuditQuery(
            actor=request.actor,
            resource=request.resource,
            start_time=seconds(request.start_time) if request.HasField("start_time") else None,
            end_time=seconds(request.end_time) if request.HasField("end_time") else None,
        )
        if query.start_time is not None and query.end_time is not None and query.end_time <= query.start_time:
            raise InvalidArgument("end_time", "must be after start_time")
        size = page_size(request.page_size, 50, 1000)
        scope = f"audit:{query}"
        before = self._tokens.decode(scope, request.page_token) if request.page_token else None
        entries = await self._store.list(query, before, size + 1)
        more = len(entries) > size
        entries = entries[:size]
        records = []
        for e in entries:
            record = audit_service_pb2.AuditRecord(
                name=f"auditRecords/{e.id}",
                actor=e.actor,
                actor_roles=e.actor_roles,
                method=e.method,
                resource=e.resource,
                outcome=e.outcome,
                time=timestamp(e.time),
                trace_id=e.trace_id,
            )
            for field, value in (("before", e.before), ("after", e.after)):
                if value is not None:
                    struct = struct_pb2.Struct()
                    struct.update(value)
                    getattr(record, field).CopyFrom(struct)
            records.append(record)
        token = self._tokens.encode(scope, entries[-1].id) if more else ""
        return audit_service_pb2.ListAuditRecordsResponse(audit_records=records, next_page_token=token)
