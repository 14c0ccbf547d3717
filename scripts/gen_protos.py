"""Generates the Python protobuf and gRPC code (with .pyi stubs) for protos/ into gen/.

`--check` generates into a temporary folder and fails when gen/ differs: generated code is never edited
by hand, and CI refuses a gen/ that is stale."""

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
THIRD_PARTY = ROOT / ".build" / "third_party"


def generate(out: Path) -> None:
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{THIRD_PARTY}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def tree(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    out = ROOT / args.out
    if not args.check:
        for stale in tree(out).values() if out.exists() else []:
            stale.unlink()
        generate(out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        want, have = tree(fresh), tree(out) if out.exists() else {}
        problems = sorted(set(want) ^ set(have))
        problems += [name for name in set(want) & set(have) if not filecmp.cmp(want[name], have[name], shallow=False)]
        if problems:
            print("gen/ is stale; run `make gen` and commit the result:", *problems, sep="\n  ", file=sys.stderr)
            sys.exit(1)
        print(f"gen/ is current ({len(want)} files)")


if __name__ == "__main__":
    main()
