"""Guardrails on what goes into a model and what comes out of the assistant.

In: documents and customer messages are data. Text that reads as an instruction to an assistant ("ignore
previous instructions ...") is never obeyed: the local provider leaves it out of answers (it is no fact for a
customer), and a prompt to a model carries retrieved text and messages inside marked data blocks, with any
marker look-alikes in them defused, under a system prompt that says they are untrusted.

Out: a phone number or an email address in generated text is removed unless it belongs to the contact the
reply is for, or is published in the knowledge-base passages the answer stands on (the business's own
numbers). So one customer's details never reach another, whatever a model or a document says."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions?|rules|prompts?|guidelines|"
    r"directions|above|previous|prior)\b"
    r"|\b(?:system|developer)\s+(?:prompt|message|instructions?)\b"
    r"|\byou\s+are\s+now\b|\bact\s+as\b|\bpretend\s+(?:to\s+be|you)\b|\bjailbreak|\bdo\s+anything\s+now\b"
    r"|\breveal\b[^.!?\n]{0,40}\b(?:prompt|instructions?|password|secret|keys?|numbers?|emails?|contacts?)\b",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?<![\w+])\+?\d[\d \t().-]{6,}\d(?!\w)")
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
MIN_PHONE_DIGITS = 9
REMOVED_PHONE = "[phone number removed]"
REMOVED_EMAIL = "[email removed]"
# What may still grow into a phone number or an email when more text arrives.
PENDING = (re.compile(r"\+?\d[\d \t().-]*$"), re.compile(r"[\w.+%-]+(?:@[\w.-]*)?$"))
# Angle brackets become single guillemets: a data block's text can no longer spell a tag that ends it.
DATA_MARKERS = str.maketrans({"<": "\u2039", ">": "\u203a"})


def looks_like_instruction(text: str) -> bool:
    return bool(INSTRUCTION.search(text))


def as_data(kind: str, text: str) -> str:
    """Text wrapped as a data block for a prompt; it cannot close its block or open another."""
    return f"<{kind}>\n{text.translate(DATA_MARKERS)}\n</{kind}>"


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def phones_in(text: str) -> set[str]:
    return {d for m in PHONE.finditer(text) if len(d := digits(m.group())) >= MIN_PHONE_DIGITS}


def emails_in(text: str) -> set[str]:
    return {m.group().lower() for m in EMAIL.finditer(text)}


@dataclass(frozen=True)
class Redactor:
    """Removes phone numbers and emails other than the allowed ones."""

    phones: frozenset[str] = frozenset()  # digits only
    emails: frozenset[str] = frozenset()  # lower case

    @classmethod
    def allowing(cls, phones: Iterable[str] = (), emails: Iterable[str] = (), published: Iterable[str] = ()):
        """Allows the given numbers and addresses, and those that appear in the published texts."""
        allowed_phones = {digits(p) for p in phones if digits(p)}
        allowed_emails = {e.strip().lower() for e in emails if e.strip()}
        for text in published:
            allowed_phones |= phones_in(text)
            allowed_emails |= emails_in(text)
        return cls(frozenset(allowed_phones), frozenset(allowed_emails))

    def _phone_allowed(self, found: str) -> bool:
        # The same number written with or without its country code: compare the trailing digits.
        return any(
            found == allowed
            or (len(found) >= MIN_PHONE_DIGITS and (allowed.endswith(found) or found.endswith(allowed)))
            for allowed in self.phones
        )

    def redact(self, text: str) -> str:
        def phone(match: re.Match) -> str:
            found = digits(match.group())
            if len(found) < MIN_PHONE_DIGITS or self._phone_allowed(found):
                return match.group()
            return REMOVED_PHONE

        def email(match: re.Match) -> str:
            return match.group() if match.group().lower() in self.emails else REMOVED_EMAIL

        return PHONE.sub(phone, EMAIL.sub(email, text))


class StreamRedactor:
    """Redacts a text that arrives in pieces: holds back the tail that may still become a number or an
    address, so a number split across pieces is caught whole."""

    def __init__(self, redactor: Redactor):
        self._redactor = redactor
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        cut = len(text)
        for pattern in PENDING:
            match = pattern.search(text)
            if match:
                cut = min(cut, match.start())
        self._held = text[cut:]
        return self._redactor.redact(text[:cut]) if cut else ""

    def finish(self) -> str:
        text, self._held = self._held, ""
        return self._redactor.redact(text)
