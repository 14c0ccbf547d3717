"""Knowledge-base documents and their passages: the rules, with no I/O.

A document is plain text or Markdown written by an admin. It is split into passages, the unit of retrieval and
citation: in Markdown a passage is the text under one heading (up to the next heading); plain text has no
headings, so its paragraphs are grouped into passages under the document's title. Limits keep every document
in one DynamoDB item (400 KB) with its passages, and every passage small enough to quote."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from runtime.errors import Aborted, FieldViolation, InvalidArgument

MAX_TITLE = 200
MAX_CONTENT_BYTES = 100_000  # UTF-8; content and passages together stay well inside one 400 KB item
MAX_PASSAGES = 200
MAX_PASSAGE_CHARS = 8_000
MAX_HEADING = 200
PLAIN_PASSAGE_TARGET = 1_200  # plain text: paragraphs are grouped up to about this many characters

HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
HEADING_WITHOUT_SPACE = re.compile(r"^#{1,6}[A-Za-z]")
TOO_DEEP = re.compile(r"^#{7,}(\s|$)")
FENCE = re.compile(r"^\s*(```|~~~)")


class ContentType(Enum):
    PLAIN_TEXT = "text/plain"
    MARKDOWN = "text/markdown"


@dataclass(frozen=True)
class Passage:
    id: str  # stable while the heading and text do not change, so citations survive unrelated edits
    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    content: str
    content_type: ContentType
    passages: tuple[Passage, ...]
    create_time: float
    update_time: float
    version: int = 1
    created_by: str = ""

    @property
    def name(self) -> str:
        return f"documents/{self.id}"

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.id}:{self.version}".encode(), digest_size=8).hexdigest()

    def audit_view(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "title": self.title,
            "content_type": self.content_type.value,
            "content_bytes": len(self.content.encode()),
            "passages": len(self.passages),
        }


@dataclass(frozen=True)
class DocumentInput:
    """The writable fields as a caller gave them."""

    title: str = ""
    content: str = ""
    content_type: ContentType | None = None


WRITABLE = ("title", "content", "content_type")


def passage_id(heading: str, text: str) -> str:
    return hashlib.blake2b(f"{heading}\n{text}".encode(), digest_size=6).hexdigest()


def split(content: str, content_type: ContentType, title: str, prefix: str = "document") -> tuple[Passage, ...]:
    """The passages of a document, or INVALID_ARGUMENT naming `<prefix>.content` and the line at fault."""
    if content_type is ContentType.MARKDOWN:
        sections = _markdown_sections(content, title, f"{prefix}.content")
    else:
        sections = _plain_sections(content, title)
    passages: list[Passage] = []
    seen: set[str] = set()
    for heading, text in sections:
        if not text and not heading:
            continue
        if len(text) > MAX_PASSAGE_CHARS:
            raise InvalidArgument(
                f"{prefix}.content",
                f"the passage under {heading!r} is {len(text)} characters; at most {MAX_PASSAGE_CHARS}: "
                "split it with more headings",
            )
        pid = passage_id(heading, text)
        while pid in seen:  # two identical sections: keep both, with distinct ids
            pid = passage_id(heading, text + pid)
        seen.add(pid)
        passages.append(Passage(pid, heading, text))
    passages = [p for p in passages if p.text]
    if not passages:
        raise InvalidArgument(f"{prefix}.content", "has no text to answer from (only headings or blank lines)")
    if len(passages) > MAX_PASSAGES:
        raise InvalidArgument(
            f"{prefix}.content", f"splits into {len(passages)} passages; at most {MAX_PASSAGES}: split the document"
        )
    return tuple(passages)


def _markdown_sections(content: str, title: str, path: str) -> list[tuple[str, str]]:
    sections: list[tuple[str, str]] = []
    heading = title
    lines: list[str] = []
    in_fence = False
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.rstrip()
        if FENCE.match(line):
            in_fence = not in_fence
            lines.append(line)
            continue
        if in_fence or raw.startswith(("    ", "\t")):  # code is text, whatever it looks like
            lines.append(line)
            continue
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) <= 3:
            if TOO_DEEP.match(stripped):
                raise InvalidArgument(path, f"line {number}: headings go down to level 6 (######), not deeper")
            if HEADING_WITHOUT_SPACE.match(stripped):
                raise InvalidArgument(
                    path,
                    f"line {number}: {stripped[:40]!r} is not a heading; put a space after the #s "
                    "(or write \\# for a literal #)",
                )
            match = HEADING.match(stripped)
            if match or (stripped.strip("#") == "" and stripped.startswith("#")):
                text = match.group(2).strip() if match else ""
                if not text:
                    raise InvalidArgument(path, f"line {number}: empty heading; give it a title or remove the #s")
                if len(text) > MAX_HEADING:
                    raise InvalidArgument(path, f"line {number}: heading longer than {MAX_HEADING} characters")
                sections.append((heading, _join(lines)))
                heading, lines = text, []
                continue
        lines.append(line)
    if in_fence:
        raise InvalidArgument(path, "a code fence (``` or ~~~) is opened and never closed")
    sections.append((heading, _join(lines)))
    return sections


def _plain_sections(content: str, title: str) -> list[tuple[str, str]]:
    paragraphs = [_join(p.splitlines()) for p in re.split(r"\n\s*\n", content)]
    sections: list[tuple[str, str]] = []
    current: list[str] = []
    size = 0
    for paragraph in filter(None, paragraphs):
        if current and size + len(paragraph) > PLAIN_PASSAGE_TARGET:
            sections.append((title, "\n\n".join(current)))
            current, size = [], 0
        current.append(paragraph)
        size += len(paragraph)
    if current:
        sections.append((title, "\n\n".join(current)))
    return sections


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def first_heading(content: str) -> str:
    for line in content.splitlines():
        match = HEADING.match(line.strip())
        if match and match.group(2).strip():
            return match.group(2).strip()[:MAX_TITLE]
    return ""


def validate(given: DocumentInput, prefix: str, paths: tuple[str, ...] = WRITABLE) -> DocumentInput:
    """Checks the fields named in paths; every problem is reported at once, each naming its field."""
    problems: list[FieldViolation] = []
    title = " ".join(given.title.split())
    if "title" in paths and len(title) > MAX_TITLE:
        problems.append(FieldViolation(f"{prefix}.title", f"at most {MAX_TITLE} characters"))
    if "content" in paths:
        size = len(given.content.encode())
        if not given.content.strip():
            problems.append(FieldViolation(f"{prefix}.content", "required: the document's text"))
        elif size > MAX_CONTENT_BYTES:
            problems.append(
                FieldViolation(
                    f"{prefix}.content", f"is {size} bytes; at most {MAX_CONTENT_BYTES} (UTF-8): split the document"
                )
            )
        elif "\x00" in given.content:
            problems.append(FieldViolation(f"{prefix}.content", "must be text (it contains NUL characters)"))
    if "content_type" in paths and given.content_type is None:
        problems.append(
            FieldViolation(f"{prefix}.content_type", "required: CONTENT_TYPE_PLAIN_TEXT or CONTENT_TYPE_MARKDOWN")
        )
    if problems:
        raise InvalidArgument(problems)
    return dataclasses.replace(given, title=title)


def new_document(document_id: str, given: DocumentInput, now: float, actor: str, prefix: str = "document") -> Document:
    valid = validate(given, prefix)
    assert valid.content_type is not None
    title = valid.title or (first_heading(valid.content) if valid.content_type is ContentType.MARKDOWN else "")
    if not title:
        raise InvalidArgument(f"{prefix}.title", "required for plain text (Markdown may take it from its # heading)")
    return Document(
        id=document_id,
        title=title,
        content=valid.content,
        content_type=valid.content_type,
        passages=split(valid.content, valid.content_type, title, prefix),
        create_time=now,
        update_time=now,
        version=1,
        created_by=actor,
    )


def apply_update(current: Document, given: DocumentInput, paths: tuple[str, ...], etag: str, now: float) -> Document:
    """The document with the masked fields replaced and its passages split again. A stale etag refuses it."""
    if etag and etag != current.etag:
        raise Aborted(
            f"{current.name} changed since etag {etag}; read it again and reapply the change", reason="ETAG_MISMATCH"
        )
    valid = validate(given, "document", paths)
    title = valid.title if "title" in paths else current.title
    content = valid.content if "content" in paths else current.content
    content_type = valid.content_type if "content_type" in paths and valid.content_type else current.content_type
    if not title:
        title = first_heading(content) if content_type is ContentType.MARKDOWN else ""
        if not title:
            raise InvalidArgument("document.title", "required for plain text")
    if (title, content, content_type) == (current.title, current.content, current.content_type):
        return current
    return dataclasses.replace(
        current,
        title=title,
        content=content,
        content_type=content_type,
        passages=split(content, content_type, title),
        update_time=now,
        version=current.version + 1,
    )
