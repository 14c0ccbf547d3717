"""Forms and their WhatsApp Flows: creating, reading, changing and deleting a form, and taking its Flow through
EUM Social: sync (create the Flow, or send the changed Flow JSON), preview, publish, deprecate.

Every step that calls WhatsApp stores what it learnt before the next call (the Flow's id first of all), and
each step first asks where the Flow is, so a step interrupted by a crash or a timeout is simply repeated: a
create whose answer was lost finds its Flow by name (unique in the WABA), a publish that went through is not
published again. Meta's validation errors are kept on the form and refuse the step with FAILED_PRECONDITION."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from runtime import ids
from runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from services.commerce.adapters.flows import FlowApi
from services.commerce.adapters.form_store import FormStore
from services.commerce.domain import flow_json
from services.commerce.domain.forms import Definition, Form, FormState, check_definition

EDITABLE = (
    "display_name",
    "heading",
    "description",
    "fields",
    "submit_label",
    "categories",
    "waba",
    "invitation_text",
    "open_label",
)


class Forms:
    def __init__(
        self, store: FormStore, flows: FlowApi, wabas: tuple[str, ...], clock: Callable[[], float] = time.time
    ):
        self._store = store
        self._flows = flows
        self._wabas = wabas
        self._clock = clock

    async def create(self, given: Definition, creator: str) -> Form:
        definition = check_definition(given, self._wabas)
        now = self._clock()
        form = Form(id=ids.new_id(), definition=definition, create_time=now, update_time=now, creator=creator)
        await self._store.create_form(form)
        return form

    async def get(self, form_id: str) -> Form:
        form = await self._store.get_form(form_id)
        if form is None:
            raise NotFound(f"forms/{form_id} does not exist")
        return form

    async def list(self, after_id: str | None, limit: int) -> list[Form]:
        return await self._store.list_forms(after_id, limit)

    async def _current(self, form_id: str, etag: str) -> Form:
        form = await self.get(form_id)
        if etag and etag != form.etag:
            raise Aborted(f"{form.name} changed since etag {etag}; read it again", reason="ETAG_MISMATCH")
        return form

    async def _save(self, form: Form, **changes) -> Form:
        updated = form.changed(self._clock(), **changes)
        await self._store.replace_form(updated, form.version)
        return updated

    async def update(self, form_id: str, given: Definition, paths: tuple[str, ...], etag: str) -> Form:
        form = await self._current(form_id, etag)
        if form.state is not FormState.DRAFT:
            raise FailedPrecondition(
                f"{form.name} is {form.state.value}: a published form does not change (answers are checked against "
                "its fields); deprecate it and create another",
                reason="FORM_NOT_DRAFT",
            )
        merged = replace(form.definition, **{p: getattr(given, p) for p in paths})
        definition = check_definition(merged, self._wabas)
        if form.flow.flow_id and definition.waba != form.definition.waba:
            raise InvalidArgument("form.waba", f"fixed once the Flow exists ({form.flow.flow_id})")
        if definition == form.definition:
            return form
        return await self._save(form, definition=definition)

    async def delete(self, form_id: str, etag: str) -> Form:
        form = await self._current(form_id, etag)
        if form.state is not FormState.DRAFT:
            raise FailedPrecondition(
                f"{form.name} is {form.state.value}: a published Flow cannot be deleted; deprecate it",
                reason="FORM_NOT_DRAFT",
            )
        if form.flow.flow_id:
            await self._flows.delete(form.definition.waba, form.flow.flow_id)
        removed = await self._store.delete_form(form.id, form.version)
        if removed is None:
            raise NotFound(f"{form.name} does not exist")
        return removed

    async def _sync(self, form: Form) -> Form:
        """The form's Flow on WhatsApp holding its current Flow JSON; FAILED_PRECONDITION when Meta finds errors."""
        definition, flow = form.definition, form.flow
        digest = definition.digest()
        if flow.flow_id and flow.synced_digest == digest:
            errors = flow.validation_errors
        else:
            body = flow_json.encoded(form)
            if not flow.flow_id:
                flow_id, errors = await self._create_flow(form, body)
                # Stored before anything else: whatever happens next, the form knows its Flow.
                form = await self._save(form, flow=replace(flow, flow_id=flow_id, status="DRAFT"))
            else:
                flow_id = flow.flow_id
                await self._flows.update_metadata(definition.waba, flow_id, form.flow_name, definition.categories)
                errors = await self._flows.update_assets(definition.waba, flow_id, body)
            form = await self._save(
                form,
                flow=replace(
                    form.flow,
                    json_version=flow_json.VERSION,
                    validation_errors=errors,
                    sync_time=self._clock(),
                    synced_digest=digest,
                ),
            )
        if errors:
            raise FailedPrecondition(
                f"WhatsApp found problems in {form.name}'s Flow JSON: {'; '.join(errors)[:1500]}",
                reason="FLOW_INVALID",
                metadata={"subject": form.name},
            )
        return form

    async def _create_flow(self, form: Form, body: bytes) -> tuple[str, tuple[str, ...]]:
        waba = form.definition.waba
        try:
            created = await self._flows.create(waba, form.flow_name, form.definition.categories, body)
            return created.flow_id, created.validation_errors
        except FailedPrecondition:
            # An earlier attempt may have created it and lost the answer: its name is taken, by our own Flow.
            found = await self._flows.find(waba, form.flow_name)
            if found is None:
                raise
            return found, await self._flows.update_assets(waba, found, body)

    async def preview(self, form_id: str, etag: str, invalidate: bool) -> Form:
        form = await self._current(form_id, etag)
        if form.state is FormState.DEPRECATED:
            raise FailedPrecondition(
                f"{form.name} is deprecated: its Flow cannot be previewed", reason="FORM_DEPRECATED"
            )
        if form.state is FormState.DRAFT:
            form = await self._sync(form)
        preview = await self._flows.preview(form.definition.waba, form.flow.flow_id, invalidate)
        return await self._save(
            form, flow=replace(form.flow, preview_url=preview.url, preview_expire_time=preview.expire_time)
        )

    async def publish(self, form_id: str, etag: str) -> Form:
        form = await self._current(form_id, etag)
        if form.state is FormState.PUBLISHED:
            return form
        if form.state is FormState.DEPRECATED:
            raise FailedPrecondition(f"{form.name} is deprecated: create another form", reason="FORM_DEPRECATED")
        form = await self._sync(form)
        waba, flow_id = form.definition.waba, form.flow.flow_id
        status = await self._flows.get(waba, flow_id)
        if status.status != "PUBLISHED":
            await self._flows.publish(waba, flow_id)
            status = await self._flows.get(waba, flow_id)
        return await self._save(
            form,
            state=FormState.PUBLISHED,
            flow=replace(form.flow, status=status.status, validation_errors=status.validation_errors),
        )

    async def deprecate(self, form_id: str, etag: str) -> Form:
        form = await self._current(form_id, etag)
        if form.state is FormState.DEPRECATED:
            return form
        if form.state is FormState.DRAFT:
            raise FailedPrecondition(
                f"{form.name} is a draft: delete it instead (only a published Flow is deprecated)",
                reason="FORM_NOT_PUBLISHED",
            )
        waba, flow_id = form.definition.waba, form.flow.flow_id
        status = await self._flows.get(waba, flow_id)
        if status.status != "DEPRECATED":
            await self._flows.deprecate(waba, flow_id)
            status = await self._flows.get(waba, flow_id)
        return await self._save(form, state=FormState.DEPRECATED, flow=replace(form.flow, status=status.status))
