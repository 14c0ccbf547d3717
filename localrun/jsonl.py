"""Reading a JSON-lines file that live processes are appending to (the sandbox log, the trace file). One write(2) per
append keeps writers from interleaving, but not a reader from catching an append half copied in: the file grows page
by page. Text after the last newline is a line still being written, left for the next read; a broken line before it
is a real fault and raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def complete_lines(path: Path) -> list[str]:
    """The file's complete lines; none when it does not exist yet."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return text[: text.rfind("\n") + 1].splitlines()


def records(path: Path) -> list[Any]:
    """Each complete, non-blank line, parsed."""
    return [json.loads(line) for line in complete_lines(path) if line.strip()]
