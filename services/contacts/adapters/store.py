"""The ContactStore interface. Implementations: sqlite_store (embedded default), dynamodb_store (AWS).
Both pass tests/contacts/test_store_contract.py."""

from __future__ import annotations

from typing import Protocol

from runtime.errors import DomainError
from services.contacts.domain import Contact


class ContactStore(Protocol):
    async def get(self, contact_id: str) -> Contact | None: ...

    async def create(self, contact: Contact) -> None:
        """AlreadyExists (naming phone_number or email) when another contact has the number or address."""

    async def create_many(self, contacts: list[Contact]) -> list[DomainError | None]:
        """Each contact created or refused on its own; the result lines up with the input."""
        ...

    async def replace(self, contact: Contact, expected_version: int) -> None:
        """Writes contact over the stored one if that is still at expected_version, else Aborted;
        NotFound when it is gone; AlreadyExists when the new number or address is another contact's."""

    async def delete(self, contact_id: str, expected_version: int | None = None) -> Contact | None:
        """Removes the contact and frees its number and address; returns what was removed."""
        ...

    async def list(self, after_id: str | None, limit: int) -> list[Contact]:
        """In id (creation) order, ids strictly after after_id."""
        ...

    async def list_tagged(
        self, tags: tuple[str, ...], after_id: str | None, limit: int
    ) -> tuple[list[Contact], str | None]:
        """Contacts carrying every one of tags, in id order after after_id, read from the tag index: at most
        limit of them, and the id to continue after (None when none can follow). A page may hold fewer than limit
        while more follow (a store may bound the reads of one call)."""
        ...

    async def find_by_phone(self, phone_number: str) -> Contact | None: ...

    async def find_by_email(self, email: str) -> Contact | None:
        """Case-insensitive."""
        ...

    async def by_name_prefix(self, prefix: str, limit: int) -> list[Contact]:
        """Contacts whose folded display name starts with the folded prefix, by name then id."""
        ...

    async def by_words(self, words: tuple[str, ...], limit: int) -> list[Contact]:
        """Contacts with, for every given word, a word of name, email or tags starting with it."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
