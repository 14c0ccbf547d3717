"""docs/DESIGN.md, docs/DEPLOY.md ("Deploy to Kubernetes on AWS"), the README's section of that name and
docs/RUNBOOK.md say what the code does: every repository path they name exists, every setting is one Settings reads,
every kubectl target is in the manifests, every grpcurl call names a real RPC with a request its message parses, and
the log group is the template's.

And the repository stands alone (docs/DESIGN.md "The repository stands alone"): no file of it points outside it,
neither code reading a path above the repository nor text citing one, and the design it cites is docs/DESIGN.md,
by the names of its sections."""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool, json_format, message_factory

from runtime.auth import service_identities
from runtime.settings import Settings
from tests.deploy.manifests import ROOT, of_kind, resources

DOCS = {
    Path(p).name: (ROOT / p).read_text(encoding="utf-8")
    for p in ("docs/DESIGN.md", "docs/DEPLOY.md", "docs/RUNBOOK.md")
}
# The README's own "Deploy to Kubernetes on AWS" section is held to the same checks.
DOCS["README.md"] = (
    (ROOT / "README.md").read_text(encoding="utf-8").split("## Deploy to Kubernetes on AWS")[1].split("\n## ")[0]
)
PATH = re.compile(r"(?<![\w./-])((?:deploy|docs|runtime|tests|localrun|services|gateway)/[\w./-]*[\w/])")
SETTINGS_ENV = {f.metadata.get("env") or "WECARE_" + f.name.upper() for f in Settings.__dataclass_fields__.values()}


def _blocks(text: str) -> list[str]:
    return re.findall(r"```(?:sh|yaml)?\n(.*?)```", text, re.S)


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_named_paths_exist(doc):
    paths = set(PATH.findall(DOCS[doc]))
    assert len(paths) >= 4
    missing = sorted(p for p in paths if not (ROOT / p.rstrip(".")).exists())
    assert not missing, f"{doc} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_named_settings_exist(doc):
    named = set(re.findall(r"\b(WECARE_[A-Z_]+|OTEL_EXPORTER_OTLP_ENDPOINT)\b", DOCS[doc]))
    unknown = sorted(named - SETTINGS_ENV)
    assert not unknown, f"{doc} names settings Settings does not read: {unknown}"


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_kubectl_targets_are_in_the_manifests(doc):
    deployments = set(of_kind("prod", "Deployment"))
    secrets = {"wecare-keys", "wecare-grpc-tls"} | {f"{name}-service-key" for name in service_identities()}
    referenced = {
        v.get("secret", {}).get("secretName")
        for d in of_kind("prod", "Deployment").values()
        for v in d["spec"]["template"]["spec"].get("volumes", [])
    } | {
        e["valueFrom"]["secretKeyRef"]["name"]
        for d in of_kind("prod", "Deployment").values()
        for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])
        if "valueFrom" in e
    }
    assert secrets <= referenced
    for name in re.findall(r"deployment/([a-z-]+)", DOCS[doc]):
        assert name in deployments, f"{doc}: no Deployment {name}"
    for name in re.findall(r"secret generic ([a-z-]+)", DOCS[doc]) + re.findall(r"get secret ([a-z-]+)", DOCS[doc]):
        assert name in secrets, f"{doc}: the Deployments do not read the Secret {name}"
    for port in re.findall(r"port-forward deployment/[a-z]+ (\d+):\d+", DOCS[doc]):
        exposed = {p["containerPort"] for d in deployments_of_prod() for p in d}
        assert int(port) in exposed


def deployments_of_prod():
    return [d["spec"]["template"]["spec"]["containers"][0]["ports"] for d in of_kind("prod", "Deployment").values()]


def _grpcurl_calls(text: str) -> list[tuple[str, str]]:
    """(full method, JSON request) of every grpcurl call in the shell blocks (continuations joined)."""
    calls = []
    for block in _blocks(text):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if "grpcurl" not in line:
                continue
            segment = line[line.index("grpcurl") :].split("|")[0]
            words = shlex.split(segment.replace('"$job"', "bulkJobs/x").replace("$job", "bulkJobs/x"))
            method = next(w for w in words if re.fullmatch(r"wecare\.[\w.]+/\w+", w))
            body = words[words.index("-d") + 1] if "-d" in words else "{}"
            calls.append((method, body))
    return calls


def test_runbook_grpc_calls_match_the_protos():
    calls = _grpcurl_calls(DOCS["RUNBOOK.md"])
    assert len(calls) >= 8
    import wecare.bulk.v1.bulk_service_pb2
    import wecare.commerce.v1.commerce_service_pb2
    import wecare.messaging.v1.messaging_service_pb2  # noqa: F401

    pool = descriptor_pool.Default()
    for method, body in calls:
        service_name, method_name = method.split("/")
        service = pool.FindServiceByName(service_name)
        rpc = service.methods_by_name.get(method_name)
        assert rpc is not None, f"no RPC {method}"
        request = message_factory.GetMessageClass(rpc.input_type)()
        json_format.Parse(body, request)  # unknown fields or wrong enum names raise
        json.loads(body)


def test_log_group_and_trace_file_are_the_deployments():
    (group,) = resources("AWS::Logs::LogGroup").values()
    assert group["Properties"]["LogGroupName"] in DOCS["RUNBOOK.md"]
    assert ".run/traces.jsonl" in DOCS["RUNBOOK.md"]
    from localrun.rundir import RunDir

    assert RunDir(ROOT / ".run").traces == ROOT / ".run" / "traces.jsonl"


def test_deploy_doc_is_the_readme_section():
    assert DOCS["DEPLOY.md"].startswith("# Deploy to Kubernetes on AWS\n")
    commands = "\n".join(_blocks(DOCS["DEPLOY.md"]))
    for needed in (
        "aws cloudformation deploy",
        "--template-file deploy/aws/wecare.yaml",
        "docker build -f deploy/Dockerfile",
        "kubectl apply -k deploy/k8s/overlays/prod",
        "python -m deploy.render",
    ):
        assert needed in commands


# The repository stands alone. Folders that are not the repository's own files: VCS data, tools, caches, runs.
NOT_OURS = {".git", ".venv", ".tools", ".build", ".run", "bench-out", "node_modules", "__pycache__", ".ruff_cache"}
NOT_OURS |= {".pytest_cache", ".hypothesis", ".schemathesis"}
UP_PATH = re.compile(r"(?<![\w.])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)")
FILE_CHAIN = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parents?(?:\[\d+\])?)+)")
# The contract's documents as they were handed over; only docs/DESIGN.md is the repository's (and cited as such).
CONTRACT_DOC = re.compile(r"(?<![\w.-])([\w./-]*(?:DESIGN|WHATSAPP|STYLE)\.md)")
SECTION_CITED = re.compile(r'docs/DESIGN\.md,? \(?"([^"]+)"')


def _own_files() -> dict[str, str]:
    """Every text file of the repository (generated code included), by path relative to the root."""
    files = {}
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in NOT_OURS and not d.endswith(".egg-info"))
        for name in names:
            path = Path(folder) / name
            try:
                files[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # binary
    return files


# A checkout cloned into the temporary folder itself (git clone ... /tmp/x) sits beside the /tmp paths the docs
# name as examples (/tmp/wecare-ca.crt): there, only a relative climb out can be told from them.
BESIDE_IS_OURS = str(ROOT.parent) not in ("/", str(Path(tempfile.gettempdir()).resolve()))


def _outside_references(rel: str, text: str) -> list[str]:
    """What in this file points outside the repository, or at a design document other than docs/DESIGN.md."""
    here = (ROOT / rel).parent
    found = []
    for up in UP_PATH.findall(text):  # a relative path names something in the repository, from here or the root
        targets = [(base / up).resolve() for base in (here, ROOT)]
        if not any(t.is_relative_to(ROOT) and t.exists() for t in targets):
            found.append(up)
    if rel.endswith(".py"):
        depth = len(Path(rel).parts) - 1  # folders between the file and the root
        for chain in FILE_CHAIN.findall(text):  # Path(__file__).resolve().parents[k].parent ... climbing out
            up = sum(int(k) + 1 for k in re.findall(r"parents\[(\d+)\]", chain)) + len(re.findall(r"\.parent\b", chain))
            if up > depth + 1:  # parents[depth] is the root
                found.append(f"Path(__file__){chain}")
    found += [doc for doc in CONTRACT_DOC.findall(text) if doc != "docs/DESIGN.md"]
    if BESIDE_IS_OURS:
        found += re.findall(re.escape(str(ROOT.parent)) + r"/[\w./-]+", text)  # an absolute path beside the checkout
    return found


def test_no_file_points_outside_the_repository():
    files = _own_files()
    assert len(files) > 200 and "docs/DESIGN.md" in files
    offending = {rel: refs for rel, text in files.items() if (refs := _outside_references(rel, text))}
    assert not offending, offending


def test_the_checks_see_what_they_must():
    # Each kind of reference the repository once held, as the check reads it.
    # (The samples are put together so that this file does not hold them whole.)
    file = "Path(__file__).resolve()"
    assert _outside_references("tests/support/x.py", file + '.parents[2].parent / "shared"')
    assert not _outside_references("tests/support/x.py", file + ".parents[2]")
    assert _outside_references("tests/ai/x.py", '"""The fixture (' + "../" + 'shared/fixtures/kb)."""')
    assert not _outside_references("deploy/k8s/overlays/dev/kustomization.yaml", "- " + "../" * 2 + "base")
    for cited in ("DESIGN", "WHATSAPP", "STYLE"):
        assert _outside_references("runtime/x.py", f'"""As {cited}.md says."""')
    assert not _outside_references("runtime/x.py", '"""As docs/DESIGN.md "Inbound events" says."""')
    if BESIDE_IS_OURS:
        assert _outside_references("docs/X.md", f"written to {ROOT.parent}/main/bench-out/x.jsonl")


def test_cited_sections_of_the_design_exist():
    files = _own_files()
    headings = set(re.findall(r"^#+ (.+)$", files["docs/DESIGN.md"], re.M))
    cited = {
        (rel, re.sub(r"\s*\n\s*(?://|#)?\s*", " ", section))  # a section name wrapped in a comment or docstring
        for rel, text in files.items()
        for section in SECTION_CITED.findall(text)
    }
    assert len(cited) >= 15
    assert not {(rel, section) for rel, section in cited if section not in headings}, sorted(headings)
