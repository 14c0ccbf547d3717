"""The layout of a local run's folder (`.run/`, or WECARE_RUN_DIR): data, logs, spans and connection facts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from localrun.procs import ROOT


@dataclass(frozen=True)
class RunDir:
    root: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RunDir:
        return cls(Path(environ.get("WECARE_RUN_DIR") or ROOT / ".run").resolve())

    @property
    def data(self) -> Path:  # WECARE_DATA_DIR: every embedded table
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @property
    def traces(self) -> Path:  # WECARE_TRACE_FILE
        return self.root / "traces.jsonl"

    @property
    def local_env(self) -> Path:  # written by localrun.bootstrap, read by `make token`
        return self.root / "local.env"

    @property
    def keys(self) -> Path:  # each service's identity key (localrun/keys.py)
        return self.root / "keys"
