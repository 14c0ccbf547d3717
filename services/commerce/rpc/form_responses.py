"""The RPCs of sending forms and taking their answers: CreateFormInvitation, BatchCreateFormInvitations,
GetFormInvitation, UpdateFormInvitation, SubmitFormResponse, ListFormResponses, ExportFormResponses."""

from __future__ import annotations

import json

from google.api import httpbody_pb2

from runtime import ids
from runtime.calls import caller, note_change
from runtime.errors import FieldViolation, InvalidArgument
from runtime.names import parse_name, seconds, timestamp
from runtime.pagination import PageTokens, page_size
from services.commerce.domain import flow_json
from services.commerce.domain.forms import Form
from services.commerce.domain.invitations import Invitation, InvitationRequest, is_token
from services.commerce.domain.responses import Response
from services.commerce.usecases.responses import Invitations, Responses, Submission
from wecare.commerce.v1 import forms_pb2 as pb

INVITATION_OUTPUT_ONLY = ("flow_token", "create_time", "creator", "flow_message", "response")
CSV = "text/csv; charset=utf-8"


def invitation_to_proto(form: Form, invitation: Invitation, button_index: int = 0) -> pb.FormInvitation:
    token = invitation.token
    return pb.FormInvitation(
        name=invitation.name,
        flow_token=token,
        contact=f"contacts/{invitation.contact}" if invitation.contact else "",
        recipient=invitation.recipient,
        message=f"messages/{invitation.message}" if invitation.message else "",
        job=f"bulkJobs/{invitation.job}" if invitation.job else "",
        create_time=timestamp(invitation.create_time),
        creator=invitation.creator,
        flow_message=pb.FlowMessage(
            flow_id=form.flow.flow_id,
            flow_token=token,
            interactive_json=_json(flow_json.interactive(form, token)),
            template_button_json=_json(flow_json.template_button(token, button_index)),
        ),
        response=f"forms/{invitation.form_id}/responses/{invitation.response_id}" if invitation.response_id else "",
    )


def response_to_proto(r: Response) -> pb.FormResponse:
    return pb.FormResponse(
        name=r.name,
        invitation=r.invitation,
        contact=f"contacts/{r.contact}" if r.contact else "",
        recipient=r.recipient,
        message=f"messages/{r.message}" if r.message else "",
        job=f"bulkJobs/{r.job}" if r.job else "",
        reply_message=f"messages/{r.reply_message}" if r.reply_message else "",
        reply_wamid=r.reply_wamid,
        answers=[pb.FormAnswer(key=a.key, values=list(a.values)) for a in r.answers],
        submit_time=timestamp(r.submit_time),
        create_time=timestamp(r.create_time),
        contact_sync=getattr(pb, f"CONTACT_SYNC_{r.contact_sync.value}"),
        contact_sync_error=r.contact_sync_error,
    )


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def invitation_name(name: str, field: str = "name") -> tuple[str, str]:
    """(form id, flow token) of `forms/{id}/invitations/{token}`, or INVALID_ARGUMENT naming the field."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "forms" or parts[2] != "invitations" or not ids.is_id(parts[1]):
        raise InvalidArgument(field, f"{name!r} is not an invitation name (`forms/{{id}}/invitations/{{token}}`)")
    if not is_token(parts[3]):
        raise InvalidArgument(field, "the flow token is 22 characters of [0-9A-Za-z]")
    return parts[1], parts[3]


def _button_index(request: pb.CreateFormInvitationRequest, prefix: str) -> list[FieldViolation]:
    """A template has at most 10 buttons."""
    if 0 <= request.template_button_index <= 9:
        return []
    return [FieldViolation(f"{prefix}.template_button_index" if prefix else "template_button_index", "0 to 9")]


def _request(request: pb.CreateFormInvitationRequest) -> InvitationRequest:
    invitation = request.invitation
    given = {f.name for f, _ in invitation.ListFields()}
    extras = {name: "output only: leave it out" for name in INVITATION_OUTPUT_ONLY if name in given}
    if invitation.name:
        extras["name"] = "assigned by the service: leave it out"
    return InvitationRequest(
        recipient=invitation.recipient,
        contact=invitation.contact,
        message=invitation.message,
        job=invitation.job,
        request_id=request.request_id,
        extras=extras,
    )


def _actor() -> str:
    who = caller()
    return who.subject if who else "unknown"


class FormResponsesRpc:
    def __init__(self, invitations: Invitations, responses: Responses, page_tokens: PageTokens):
        self._invitations = invitations
        self._responses = responses
        self._tokens = page_tokens

    async def CreateFormInvitation(self, request: pb.CreateFormInvitationRequest, context) -> pb.FormInvitation:
        form_id = parse_name(request.parent, "forms", "parent")
        if not request.HasField("invitation"):
            raise InvalidArgument("invitation", "required")
        if bad := _button_index(request, ""):
            raise InvalidArgument(bad)
        form, (made,) = await self._invitations.create(form_id, [_request(request)], [""], _actor())
        note_change(made.name, None, made.audit_view())
        return invitation_to_proto(form, made, request.template_button_index)

    async def BatchCreateFormInvitations(
        self, request: pb.BatchCreateFormInvitationsRequest, context
    ) -> pb.BatchCreateFormInvitationsResponse:
        form_id = parse_name(request.parent, "forms", "parent")
        if not request.requests:
            raise InvalidArgument("requests", "at least one invitation")
        prefixes = [f"requests[{i}]" for i in range(len(request.requests))]
        problems = []
        for prefix, item in zip(prefixes, request.requests, strict=True):
            if item.parent and item.parent != request.parent:
                problems.append(FieldViolation(f"{prefix}.parent", "empty or the batch's parent"))
            if not item.HasField("invitation"):
                problems.append(FieldViolation(f"{prefix}.invitation", "required"))
            problems += _button_index(item, prefix)
        if problems:
            raise InvalidArgument(problems)
        requests = [_request(r) for r in request.requests]
        form, made = await self._invitations.create(form_id, requests, prefixes, _actor())
        note_change(form.name, None, {"requested": len(requests), "invitations": len(made)})
        return pb.BatchCreateFormInvitationsResponse(
            invitations=[
                invitation_to_proto(form, m, r.template_button_index)
                for m, r in zip(made, request.requests, strict=True)
            ]
        )

    async def GetFormInvitation(self, request: pb.GetFormInvitationRequest, context) -> pb.FormInvitation:
        form, invitation = await self._invitations.get(*invitation_name(request.name))
        return invitation_to_proto(form, invitation)

    async def UpdateFormInvitation(self, request: pb.UpdateFormInvitationRequest, context) -> pb.FormInvitation:
        if not request.HasField("invitation"):
            raise InvalidArgument("invitation", "required")
        form_id, token = invitation_name(request.invitation.name, "invitation.name")
        paths = list(request.update_mask.paths) or ["message"]
        for i, path in enumerate(paths):
            if path != "message":
                raise InvalidArgument(f"update_mask.paths[{i}]", "only `message` changes")
        form, invitation = await self._invitations.record_message(form_id, token, request.invitation.message)
        note_change(invitation.name, None, invitation.audit_view())
        return invitation_to_proto(form, invitation)

    async def SubmitFormResponse(self, request: pb.SubmitFormResponseRequest, context) -> pb.SubmitFormResponseResponse:
        submitted = Submission(
            response_json=request.response_json,
            sender=request.sender,
            reply_wamid=request.reply_wamid,
            reply_message=request.reply_message,
            submit_time=seconds(request.submit_time) if request.HasField("submit_time") else None,
        )
        response, duplicate = await self._responses.submit(submitted)
        note_change(response.name, None, {**response.audit_view(), "duplicate": duplicate})
        return pb.SubmitFormResponseResponse(response=response_to_proto(response), duplicate=duplicate)

    async def ListFormResponses(self, request: pb.ListFormResponsesRequest, context) -> pb.ListFormResponsesResponse:
        form_id = "" if request.parent == "forms/-" else parse_name(request.parent, "forms", "parent")
        contact = _reference(request.contact, "contacts", "contact")
        job = _reference(request.job, "bulkJobs", "job")
        size = page_size(request.page_size, 100, 1000)
        scope = f"responses:{request.parent}:{request.contact}:{request.job}"
        after = self._tokens.decode(scope, request.page_token) if request.page_token else None
        found = await self._responses.list(form_id, contact, job, after, size + 1)
        more = len(found) > size
        found = found[:size]
        token = self._tokens.encode(scope, found[-1].id) if more else ""
        return pb.ListFormResponsesResponse(responses=[response_to_proto(r) for r in found], next_page_token=token)

    async def ExportFormResponses(self, request: pb.ExportFormResponsesRequest, context):
        _, chunks = await self._responses.export(parse_name(request.parent, "forms", "parent"))
        async for chunk in chunks:
            yield httpbody_pb2.HttpBody(content_type=CSV, data=chunk)


def _reference(value: str, collection: str, field: str) -> str:
    return parse_name(value, collection, field) if value else ""
