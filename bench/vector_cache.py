"""The ai section's synthetic knowledge base's passage vectors, kept between runs of `make bench` so that only the
first run on a machine pays for encoding its 10,000 passages (80 s of a 10-minute budget on 2 cores).

A cache file under .cache/bench-ai/ (not in git) is named by what the vectors depend on: the synthetic corpus
(every document's text, hashed) and what is encoded (dense.UNITS, the dimensions). Inside: the vectors as
DocsTable stores them (under their encoder's key, so another encoder simply finds none and encodes), and the
first build's figures as measured then, which the table reports with the date they were measured. Delete the
folder to measure the first build again."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

from localrun.procs import ROOT
from services.ai.adapters.local.dense import UNITS
from services.ai.adapters.local.provider import DIMENSIONS

FOLDER = ROOT / ".cache" / "bench-ai"


@dataclass(frozen=True)
class FirstBuild:
    """The first build's figures, as measured on this machine when the cache was made."""

    seconds: float
    cpu_seconds: float
    passages: int
    sentences: int
    load: float
    cores: int
    measured: str  # UTC date and time


def path_for(texts: list[str]) -> Path:
    digest = hashlib.sha256(f"{UNITS}\n{DIMENSIONS}\n".encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    return FOLDER / f"{digest.hexdigest()[:32]}.sqlite3"


def load(path: Path) -> tuple[str, dict[str, bytes], FirstBuild] | None:
    """(store key, vectors by passage id, the first build's figures), or None when there is no usable cache."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = json.loads(conn.execute("SELECT doc FROM meta").fetchone()[0])
            vectors = {pid: bytes(blob) for pid, blob in conn.execute("SELECT passage_id, vectors FROM vectors")}
        finally:
            conn.close()
        return meta["key"], vectors, FirstBuild(**meta["first"])
    except (sqlite3.Error, TypeError, KeyError, ValueError):
        return None  # damaged or from an older layout: measured again and rewritten


def save(path: Path, key: str, vectors: dict[str, bytes], first: FirstBuild) -> None:
    """Written whole to a temporary file, then renamed: a run stopped halfway leaves no half cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(f".{os.getpid()}.part")
    part.unlink(missing_ok=True)
    conn = sqlite3.connect(part)
    try:
        conn.execute("CREATE TABLE meta (doc TEXT NOT NULL)")
        conn.execute("CREATE TABLE vectors (passage_id TEXT PRIMARY KEY, vectors BLOB NOT NULL)")
        conn.execute("INSERT INTO meta (doc) VALUES (?)", (json.dumps({"key": key, "first": asdict(first)}),))
        conn.executemany("INSERT INTO vectors (passage_id, vectors) VALUES (?, ?)", vectors.items())
        conn.commit()
    finally:
        conn.close()
    os.replace(part, path)
