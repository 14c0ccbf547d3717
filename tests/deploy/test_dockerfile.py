"""The image definition, checked statically (no docker build on this machine): multi-stage; every COPY source
exists and is not excluded from the build context; the final stage runs as a non-root user it creates; every
Deployment's command runs a module that the image holds; the ports the Deployments name are exposed."""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path

from deploy.services import HEALTH_PORT, METRICS_PORT, SERVICES
from tests.deploy.manifests import DEPLOY, ROOT, wecare_deployments

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for word, rest in instructions():
        if word == "FROM":
            result.append([])
        if result:
            result[-1].append((word, rest))
    return result


def ignored(path: str) -> bool:
    """Whether deploy/Dockerfile.dockerignore keeps `path` out of the context (last matching rule wins)."""
    verdict = False
    for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path.rstrip("/"), pattern) or fnmatch.fnmatch(path.split("/")[0], pattern):
            verdict = not negate
    return verdict


def test_multi_stage_with_a_slim_runtime():
    all_stages = stages()
    assert len(all_stages) >= 2
    final = all_stages[-1]
    assert not any(word == "RUN" and "pip install" in rest for word, rest in final), "no installs in the runtime"
    assert any(word == "COPY" and rest.startswith("--from=build") for word, rest in final)


def test_copy_sources_exist_and_are_in_the_context():
    copied = []
    for word, rest in instructions():
        if word != "COPY" or "--from=" in rest:
            continue
        *sources, _ = [a for a in shlex.split(rest) if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not ignored(source), f"COPY {source}: excluded by Dockerfile.dockerignore"
            copied.append(source.rstrip("/"))
    assert {"runtime", "services", "gateway", "gen", "constraints.txt", "pyproject.toml"} <= set(copied)
    assert ignored("tests") and ignored(".venv") and ignored(".run")


def test_runs_as_a_non_root_user_it_creates():
    final = stages()[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "a numeric non-root uid (runAsNonRoot can check it)"
    assert any(word == "RUN" and f"--uid {uid}" in rest for word, rest in final)
    deployment = wecare_deployments("dev")["contacts"]
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_every_deployment_command_runs_a_module_the_image_holds():
    env = dict(
        item.split("=", 1) for word, rest in stages()[-1] if word == "ENV" for item in shlex.split(rest) if "=" in item
    )
    assert env["PYTHONPATH"] == "/app:/app/gen" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    holds = {
        rest.split()[-2].rstrip("/")
        for word, rest in instructions()
        if word == "COPY" and rest.split()[-1].startswith("/app/")
    }
    commands = {
        name: d["spec"]["template"]["spec"]["containers"][0]["command"] for name, d in wecare_deployments("dev").items()
    }
    default = shlex.split(dict(stages()[-1])["CMD"].replace("[", "").replace("]", "").replace(",", " "))
    for command in [*commands.values(), default]:
        assert command[:2] == ["python", "-m"], command
        module = command[2]
        assert module.split(".")[0] in holds, f"{module} is not copied into the image"
        path = ROOT / module.replace(".", "/")
        assert (path / "__main__.py").exists() or path.with_suffix(".py").exists(), f"no module {module}"
    assert {s.name: ["python", "-m", s.module] for s in SERVICES} == commands


def test_exposes_the_ports_the_deployments_use():
    exposed = {int(p) for word, rest in instructions() if word == "EXPOSE" for p in rest.split()}
    assert {s.port for s in SERVICES} | {HEALTH_PORT, METRICS_PORT} <= exposed


def test_the_build_context_ignore_file_sits_beside_the_dockerfile():
    # BuildKit reads <Dockerfile>.dockerignore before the context root's .dockerignore.
    assert Path(f"{DOCKERFILE}.dockerignore").exists()
