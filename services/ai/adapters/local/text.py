"""Passage text as the local provider reads it: without sentences about the document itself, and in sentences
(the unit that is encoded, scored and quoted)."""

from __future__ import annotations

import re

NAVIGATION = re.compile(
    r"(?:^|(?<=[.!?])\s+)(?:This (?:page|document|article|guide|section) (?:explains|covers|describes|lists|is about)"
    r"|For [^.!?]*?,? see (?:the |our )?)[^.!?]*[.!?]",
    re.IGNORECASE,
)
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9₹\"'(])")
ABBREVIATION = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|No|vs|etc|e\.g|i\.e|approx)\.$", re.IGNORECASE)


def content_text(text: str) -> str:
    """The passage without sentences about the documents themselves ("This page explains ...", "For refunds,
    see the cancellation page."): they name topics that other passages answer, so they would pull their
    passage toward questions it cannot answer."""
    return NAVIGATION.sub(" ", text)


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*+> \t").strip()
        if not line:
            continue
        pending = ""
        for part in SPLIT.split(line):
            pending = f"{pending} {part}" if pending else part
            if ABBREVIATION.search(pending):
                continue  # "Dr. Meera Apte": not the end of a sentence
            out.append(pending)
            pending = ""
        if pending:
            out.append(pending)
    return out
