"""Service identity keys for a deployment (runtime/service_identity.py): `python -m deploy.keys <overlay> --out DIR`
makes an Ed25519 key pair for every service the access table names that has none in the overlay yet (or for the
services given with --service: a rotation), appends the public keys to the overlay's service-public-keys.env (the
ConfigMap every pod reads) and writes each private key to DIR/<service>.key (mode 0600) for its own Secret,
`<service>-service-key`, printing the kubectl command that creates it. `--retire <service>` keeps only the newest
public key of that service (the last step of a rotation, docs/RUNBOOK.md). Private keys never enter the repository."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runtime.auth import service_identities
from runtime.service_identity import PUBLIC_SETTING, generate, public_keys

OVERLAYS = Path(__file__).resolve().parent / "k8s" / "overlays"
FILE = "service-public-keys.env"
HEADER = (
    "# Every service's public identity keys, as <service>=<key>, comma-separated (written by python -m deploy.keys).\n"
    "# Not secret. Several keys of one service while it rotates; each private key is its own Secret.\n"
)


def secret_name(service: str) -> str:
    return f"{service}-service-key"


def read(path: Path) -> list[str]:
    """The overlay's entries, oldest first."""
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        if line.startswith(PUBLIC_SETTING + "="):
            return [e.strip() for e in line.split("=", 1)[1].split(",") if e.strip()]
    return []


def write(path: Path, entries: list[str]) -> None:
    public_keys(tuple(entries))  # refuses anything malformed before it is written
    path.write_text(HEADER + f"{PUBLIC_SETTING}={','.join(entries)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("overlay", help="the overlay under deploy/k8s/overlays (dev, prod)")
    parser.add_argument("--out", type=Path, help="folder for the new private keys (outside the repository)")
    parser.add_argument("--service", action="append", default=[], help="make a new key for this one (rotation)")
    parser.add_argument("--retire", action="append", default=[], help="keep only this service's newest key")
    args = parser.parse_args(argv)
    path = OVERLAYS / args.overlay / FILE
    if not path.parent.is_dir():
        parser.error(f"no overlay {args.overlay} in {OVERLAYS}")
    identities = service_identities()
    for name in args.service + args.retire:
        if name not in identities:
            parser.error(f"{name} is not a service the access table names ({', '.join(identities)})")
    entries = read(path)
    for name in args.retire:
        mine = [e for e in entries if e.partition("=")[0] == name]
        entries = [e for e in entries if e.partition("=")[0] != name or e == mine[-1]] if mine else entries
    have = {e.partition("=")[0] for e in entries}
    wanted = list(args.service) + [n for n in identities if n not in have and n not in args.service]
    if wanted:
        if args.out is None:
            parser.error(f"--out is needed to write the new private keys of {', '.join(wanted)}")
        args.out.mkdir(parents=True, exist_ok=True)
        for name in wanted:
            private, public = generate()
            fd = os.open(args.out / f"{name}.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(private)
            entries.append(f"{name}={public}")
    write(path, entries)
    print(f"{path.relative_to(OVERLAYS.parents[2])}: {len(entries)} public keys")
    for name in wanted:
        print(
            f"kubectl -n wecare create secret generic {secret_name(name)} --from-file=key={args.out / (name + '.key')}"
            " --dry-run=client -o yaml | kubectl apply -f -"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
