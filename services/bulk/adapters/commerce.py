"""The commerce service as bulk uses it, over its gRPC API with bulk's service identity: what a job's
recipients did (the clicks on its tracked links, ListClicks by job; the answers to its form, ListFormResponses
by job), and a form job's invitations (BatchCreateFormInvitations, one per recipient under
`bulkJobs/<job>/<recipient>`; UpdateFormInvitation once the message is known).

A job's engagement is read at most every CACHE_SECONDS per job: GetJob and WatchJob ask often, and the clicks
of a big job take a page a thousand recipients."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import grpc
from google.protobuf import field_mask_pb2

from runtime.errors import FailedPrecondition, InvalidArgument, Unavailable
from runtime.names import seconds
from services.bulk.domain.engagement import Engagement
from wecare.commerce.v1 import commerce_service_pb2_grpc, forms_pb2, links_pb2

TIMEOUT = 30.0
CACHE_SECONDS = 5.0
BATCH = 1000


@dataclass(frozen=True)
class Invitation:
    name: str  # forms/{form}/invitations/{token}
    interactive_json: str
    template_button_json: str


class Commerce(Protocol):
    async def engagement(self, job_id: str, clicks: bool, answers: bool, fresh: bool = False) -> Engagement:
        """Who clicked the job's links and who answered its form. Raises Unavailable."""
        ...

    async def invitations(self, form: str, job_id: str, recipients: list[tuple[str, str]]) -> list[Invitation]:
        """One invitation per (address, contact id), in order; a repeat returns the ones made before."""
        ...

    async def note_message(self, invitation: str, message: str) -> None:
        """Records the message that carried an invitation."""
        ...


def _fault(what: str, exc: grpc.aio.AioRpcError) -> Exception:
    detail = f"commerce's {what}: {exc.code().name} {exc.details()}"
    if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument("job.form", detail)
    if exc.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
        return FailedPrecondition(detail, reason="FORM_NOT_SENDABLE")
    return Unavailable(detail)


class CommerceClient:
    def __init__(self, channel: grpc.aio.Channel, clock=time.monotonic):
        self._stub = commerce_service_pb2_grpc.CommerceServiceStub(channel)
        self._clock = clock
        self._cache: dict[tuple[str, bool, bool], tuple[float, Engagement]] = {}

    async def engagement(self, job_id: str, clicks: bool, answers: bool, fresh: bool = False) -> Engagement:
        key = (job_id, clicks, answers)
        held = self._cache.get(key)
        if held is not None and not fresh and self._clock() - held[0] < CACHE_SECONDS:
            return held[1]
        found = Engagement.of(
            await self._clicks(job_id) if clicks else [], await self._answers(job_id) if answers else set()
        )
        self._cache[key] = (self._clock(), found)
        if len(self._cache) > 256:
            self._cache.pop(next(iter(self._cache)))
        return found

    async def _clicks(self, job_id: str) -> list[tuple[str, float, int]]:
        out: list[tuple[str, float, int]] = []
        token = ""
        while True:
            try:
                reply = await self._stub.ListClicks(
                    links_pb2.ListClicksRequest(job=f"bulkJobs/{job_id}", page_size=BATCH, page_token=token),
                    timeout=TIMEOUT,
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"commerce's ListClicks: {exc.code().name} {exc.details()}") from None
            out += [(c.recipient, seconds(c.first_click_time), int(c.click_count)) for c in reply.clicks]
            token = reply.next_page_token
            if not token:
                return out

    async def _answers(self, job_id: str) -> set[str]:
        out: set[str] = set()
        token = ""
        while True:
            try:
                reply = await self._stub.ListFormResponses(
                    forms_pb2.ListFormResponsesRequest(
                        parent="forms/-", job=f"bulkJobs/{job_id}", page_size=BATCH, page_token=token
                    ),
                    timeout=TIMEOUT,
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"commerce's ListFormResponses: {exc.code().name} {exc.details()}") from None
            out |= {r.recipient for r in reply.responses}
            token = reply.next_page_token
            if not token:
                return out

    async def invitations(self, form: str, job_id: str, recipients: list[tuple[str, str]]) -> list[Invitation]:
        out: list[Invitation] = []
        for start in range(0, len(recipients), BATCH):
            request = forms_pb2.BatchCreateFormInvitationsRequest(
                parent=form,
                requests=[
                    forms_pb2.CreateFormInvitationRequest(
                        parent=form,
                        invitation=forms_pb2.FormInvitation(
                            recipient=address,
                            contact=f"contacts/{contact}" if contact else "",
                            job=f"bulkJobs/{job_id}",
                        ),
                        request_id=f"bulkJobs/{job_id}/{address}",
                    )
                    for address, contact in recipients[start : start + BATCH]
                ],
            )
            try:
                reply = await self._stub.BatchCreateFormInvitations(request, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as exc:
                raise _fault("BatchCreateFormInvitations", exc) from None
            out += [
                Invitation(i.name, i.flow_message.interactive_json, i.flow_message.template_button_json)
                for i in reply.invitations
            ]
        return out

    async def note_message(self, invitation: str, message: str) -> None:
        request = forms_pb2.UpdateFormInvitationRequest(
            invitation=forms_pb2.FormInvitation(name=invitation, message=message),
            update_mask=field_mask_pb2.FieldMask(paths=["message"]),
        )
        try:
            await self._stub.UpdateFormInvitation(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"commerce's UpdateFormInvitation: {exc.code().name} {exc.details()}") from None
