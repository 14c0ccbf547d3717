"""Copies the third-party .proto files the WECARE protos import out of the installed packages
(googleapis-common-protos for google/api and google/rpc, grpcio-tools for google/protobuf), so that
buf and protoc read them from one place and nobody commits them."""

import shutil
import sys
from pathlib import Path

import grpc_tools
from google.api import annotations_pb2

GOOGLEAPIS = Path(annotations_pb2.__file__).resolve().parents[2]  # site-packages/
WELL_KNOWN = Path(grpc_tools.__file__).resolve().parent / "_proto"


def sources() -> list[tuple[Path, Path]]:
    """(root, file) pairs for every third-party proto we may import."""
    out = [(GOOGLEAPIS, p) for sub in ("google/api", "google/rpc") for p in (GOOGLEAPIS / sub).glob("*.proto")]
    out += [(WELL_KNOWN, p) for p in (WELL_KNOWN / "google/protobuf").glob("*.proto")]
    return out


def main(dest: str) -> None:
    target = Path(dest)
    if target.exists():
        shutil.rmtree(target)
    for root, path in sources():
        out = target / path.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)


if __name__ == "__main__":
    main(sys.argv[1])
