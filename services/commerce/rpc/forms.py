"""The form RPCs of CommerceService: CreateForm, GetForm, ListForms, UpdateForm, DeleteForm, PreviewForm,
PublishForm, DeprecateForm."""

from __future__ import annotations

from google.protobuf import empty_pb2

from runtime.calls import caller, note_change
from runtime.errors import FieldViolation, InvalidArgument
from runtime.names import parse_name, timestamp
from runtime.pagination import PageTokens, page_size
from services.commerce.domain.forms import CATEGORIES, Definition, Field, FieldType, Form, Option
from services.commerce.usecases.forms import EDITABLE, Forms
from wecare.commerce.v1 import forms_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb

OUTPUT_ONLY = ("state", "flow", "create_time", "update_time", "creator")
FIELD_TYPES = {getattr(pb, f"FIELD_TYPE_{t.value}"): t for t in FieldType}
CHANNELS = {
    contacts_pb.CHANNEL_WHATSAPP: "whatsapp",
    contacts_pb.CHANNEL_SMS: "sms",
    contacts_pb.CHANNEL_EMAIL: "email",
}
CHANNEL_ENUMS = {name: value for value, name in CHANNELS.items()}


def field_from_proto(f: pb.FormField) -> Field:
    return Field(
        key=f.key,
        label=f.label,
        type=FIELD_TYPES.get(f.type),  # unset or unknown: refused, naming `type`
        required=f.required,
        helper_text=f.helper_text,
        min_length=f.min_length,
        max_length=f.max_length,
        pattern=f.pattern,
        min_value=f.min_value,
        max_value=f.max_value,
        decimal_places=f.decimal_places,
        min_date=f.min_date,
        max_date=f.max_date,
        options=tuple(Option(o.id, o.title) for o in f.options),
        min_selected=f.min_selected,
        max_selected=f.max_selected,
        contact_field=f.contact_field,
        consent_channel=CHANNELS.get(f.consent_channel, "" if not f.consent_channel else "?"),
    )


def definition_from_proto(form: pb.Form) -> Definition:
    return Definition(
        display_name=form.display_name,
        fields=tuple(field_from_proto(f) for f in form.fields),
        heading=form.heading,
        description=form.description,
        submit_label=form.submit_label,
        categories=tuple(pb.FlowCategory.Name(c).removeprefix("FLOW_CATEGORY_") for c in form.categories),
        waba=form.waba,
        invitation_text=form.invitation_text,
        open_label=form.open_label,
    )


def field_to_proto(f: Field) -> pb.FormField:
    return pb.FormField(
        key=f.key,
        label=f.label,
        type=getattr(pb, f"FIELD_TYPE_{f.type.value}"),
        required=f.required,
        helper_text=f.helper_text,
        min_length=f.min_length,
        max_length=f.max_length,
        pattern=f.pattern,
        min_value=f.min_value,
        max_value=f.max_value,
        decimal_places=f.decimal_places,
        min_date=f.min_date,
        max_date=f.max_date,
        options=[pb.FormOption(id=o.id, title=o.title) for o in f.options],
        min_selected=f.min_selected,
        max_selected=f.max_selected,
        contact_field=f.contact_field,
        consent_channel=CHANNEL_ENUMS.get(f.consent_channel, contacts_pb.CHANNEL_UNSPECIFIED),
    )


def form_to_proto(form: Form) -> pb.Form:
    d, flow = form.definition, form.flow
    return pb.Form(
        name=form.name,
        display_name=d.display_name,
        heading=d.heading,
        description=d.description,
        fields=[field_to_proto(f) for f in d.fields],
        submit_label=d.submit_label,
        categories=[getattr(pb, f"FLOW_CATEGORY_{c}") for c in d.categories if c in CATEGORIES],
        waba=d.waba,
        invitation_text=d.invitation_text,
        open_label=d.open_label,
        state=getattr(pb, f"FORM_STATE_{form.state.value}"),
        flow=pb.FlowInfo(
            flow_id=flow.flow_id,
            status=flow.status,
            json_version=flow.json_version,
            validation_errors=list(flow.validation_errors),
            preview_url=flow.preview_url,
            preview_expire_time=timestamp(flow.preview_expire_time),
            sync_time=timestamp(flow.sync_time),
        )
        if flow.flow_id
        else None,
        create_time=timestamp(form.create_time),
        update_time=timestamp(form.update_time),
        creator=form.creator,
        etag=form.etag,
    )


def _refuse_output_only(form: pb.Form, name_allowed: bool) -> None:
    given = {f.name for f, _ in form.ListFields()}
    problems = [FieldViolation(f"form.{name}", "output only: leave it out") for name in OUTPUT_ONLY if name in given]
    if form.name and not name_allowed:
        problems.append(FieldViolation("form.name", "assigned by the service: leave it out"))
    if problems:
        raise InvalidArgument(problems)


def _actor() -> str:
    who = caller()
    return who.subject if who else "unknown"


def _paths(request: pb.UpdateFormRequest) -> tuple[str, ...]:
    given = list(request.update_mask.paths)
    if not given:
        present = {f.name for f, _ in request.form.ListFields()}
        return tuple(p for p in EDITABLE if p in present)
    if given == ["*"]:
        return EDITABLE
    for i, path in enumerate(given):
        if path not in EDITABLE:
            raise InvalidArgument(
                f"update_mask.paths[{i}]", f"{path!r} cannot be changed; changeable: {', '.join(EDITABLE)}"
            )
    return tuple(dict.fromkeys(given))


class FormsRpc:
    def __init__(self, forms: Forms, page_tokens: PageTokens):
        self._forms = forms
        self._tokens = page_tokens

    async def CreateForm(self, request: pb.CreateFormRequest, context) -> pb.Form:
        if not request.HasField("form"):
            raise InvalidArgument("form", "required")
        _refuse_output_only(request.form, name_allowed=False)
        form = await self._forms.create(definition_from_proto(request.form), _actor())
        note_change(form.name, None, form.audit_view())
        return form_to_proto(form)

    async def GetForm(self, request: pb.GetFormRequest, context) -> pb.Form:
        return form_to_proto(await self._forms.get(parse_name(request.name, "forms")))

    async def ListForms(self, request: pb.ListFormsRequest, context) -> pb.ListFormsResponse:
        size = page_size(request.page_size, 50, 1000)
        after = self._tokens.decode("forms:list", request.page_token) if request.page_token else None
        forms = await self._forms.list(after, size + 1)
        more = len(forms) > size
        forms = forms[:size]
        token = self._tokens.encode("forms:list", forms[-1].id) if more else ""
        return pb.ListFormsResponse(forms=[form_to_proto(f) for f in forms], next_page_token=token)

    async def UpdateForm(self, request: pb.UpdateFormRequest, context) -> pb.Form:
        if not request.HasField("form"):
            raise InvalidArgument("form", "required")
        form_id = parse_name(request.form.name, "forms", "form.name")
        _refuse_output_only(request.form, name_allowed=True)
        paths = _paths(request)
        before = await self._forms.get(form_id)
        form = await self._forms.update(form_id, definition_from_proto(request.form), paths, request.form.etag)
        note_change(form.name, before.audit_view(), form.audit_view())
        return form_to_proto(form)

    async def DeleteForm(self, request: pb.DeleteFormRequest, context) -> empty_pb2.Empty:
        removed = await self._forms.delete(parse_name(request.name, "forms"), request.etag)
        note_change(removed.name, removed.audit_view(), None)
        return empty_pb2.Empty()

    async def PreviewForm(self, request: pb.PreviewFormRequest, context) -> pb.Form:
        form = await self._forms.preview(parse_name(request.name, "forms"), request.etag, request.invalidate)
        note_change(form.name, None, {"preview": True, "flow_id": form.flow.flow_id})
        return form_to_proto(form)

    async def PublishForm(self, request: pb.PublishFormRequest, context) -> pb.Form:
        form = await self._forms.publish(parse_name(request.name, "forms"), request.etag)
        note_change(form.name, None, form.audit_view())
        return form_to_proto(form)

    async def DeprecateForm(self, request: pb.DeprecateFormRequest, context) -> pb.Form:
        form = await self._forms.deprecate(parse_name(request.name, "forms"), request.etag)
        note_change(form.name, None, form.audit_view())
        return form_to_proto(form)
