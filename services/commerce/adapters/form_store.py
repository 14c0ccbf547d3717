"""The FormStore interface (FormsTable): forms, their invitations (by flow token) and responses. Implementations:
form_sqlite (embedded default), form_dynamodb (AWS). Both pass tests/commerce/test_form_store_contract.py.

Responses are listed in id order (ids grow with time: the order they were stored), strictly after a given id."""

from __future__ import annotations

from typing import Protocol

from services.commerce.domain.forms import Form
from services.commerce.domain.invitations import Invitation
from services.commerce.domain.responses import ContactSync, Response


class FormStore(Protocol):
    async def create_form(self, form: Form) -> None: ...

    async def get_form(self, form_id: str) -> Form | None: ...

    async def list_forms(self, after_id: str | None, limit: int) -> list[Form]:
        """In id (creation) order, ids strictly after after_id."""
        ...

    async def replace_form(self, form: Form, expected_version: int) -> None:
        """Stores the new version of a form; Aborted (reason VERSION_MISMATCH) when the stored one is not at
        expected_version any more, NotFound when it is gone."""
        ...

    async def delete_form(self, form_id: str, expected_version: int) -> Form | None:
        """Removes the form at expected_version (Aborted when it changed); None when there is none."""
        ...

    async def create_invitations(self, invitations: list[Invitation]) -> list[Invitation]:
        """Stores the invitations. One whose request_id another already has is not stored: at its place the
        result holds that other invitation (the caller tells a repeat from a conflict). Stored one by one: a
        failure part way leaves the earlier ones, which a retry with the same request_ids finds."""
        ...

    async def get_invitation(self, token: str) -> Invitation | None: ...

    async def set_invitation_message(self, token: str, message_id: str) -> Invitation | None:
        """Records the message that carried the invitation if none is recorded yet; returns the invitation as
        stored afterwards (its message may be another, set before), or None when there is no such invitation."""
        ...

    async def record_response(self, response: Response) -> tuple[Response, bool]:
        """Stores the response once: (it, True); or, when its flow token or its reply_wamid already has one,
        (that one, False) and nothing changes. Records the response's id on its invitation (NotFound when there
        is no invitation with its flow token)."""
        ...

    async def get_response(self, token: str) -> Response | None:
        """The response to the invitation with this flow token."""
        ...

    async def set_contact_sync(self, token: str, sync: ContactSync, error: str = "") -> None: ...

    async def responses_of_form(self, form_id: str, after: str | None, limit: int) -> list[Response]: ...

    async def responses_of_contact(self, contact_id: str, after: str | None, limit: int) -> list[Response]: ...

    async def responses_of_job(self, job_id: str, after: str | None, limit: int) -> list[Response]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
