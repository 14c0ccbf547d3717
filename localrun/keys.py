"""The local run's service keys: an Ed25519 key pair for every service the access table names
(runtime.auth.service_identities), made at the first start into `<run dir>/keys/` (never committed: .run/ is
ignored) and kept across restarts. Each process is given its own private key only, and every service's public
keys (runtime/service_identity.py)."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.auth import service_identities
from runtime.service_identity import generate, public_text


def ensure(folder: Path) -> dict[str, str]:
    """service -> its private key; a key missing from the folder is made (readable by this user only)."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = {}
    for service in service_identities():
        path = folder / f"{service}.key"
        if not path.exists():
            private, _ = generate()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(private + "\n")
        keys[service] = path.read_text().strip()
    return keys


def public_keys(keys: dict[str, str]) -> str:
    """WECARE_SERVICE_PUBLIC_KEYS for every process."""
    return ",".join(f"{service}={public_text(private)}" for service, private in sorted(keys.items()))


def process_env(identity: str, keys: dict[str, str]) -> dict[str, str | None]:
    """A process's key settings: its identity's private key (none for a process that calls no service)."""
    return {"WECARE_SERVICE_PUBLIC_KEYS": public_keys(keys), "WECARE_SERVICE_KEY": keys.get(identity)}
