"""The deployment as the tests read it: each overlay built with `kubectl kustomize` (what `kubectl apply -k` would
send), the CloudFormation template, and the environment a Deployment gives its container."""

from __future__ import annotations

import functools
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
TEMPLATE = DEPLOY / "aws" / "wecare.yaml"


@functools.cache
def built(overlay: str) -> str:
    result = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return result.stdout


def documents(overlay: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(built(overlay)) if d]


def of_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents(overlay) if d["kind"] == kind}


def wecare_deployments(overlay: str) -> dict[str, dict[str, Any]]:
    return {
        name: d
        for name, d in of_kind(overlay, "Deployment").items()
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "wecare"
    }


def container_env(
    overlay: str, deployment: dict[str, Any], secrets: Mapping[str, str], filled: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment Kubernetes gives the Deployment's first container: its ConfigMaps in order, then `env`
    (secret references resolved from `secrets`, keyed `<Secret>/<key>`). `filled` are the values an operator
    writes into the overlay's empty placeholders (the public keys, docs/DEPLOY.md); a value already set stays."""
    maps = of_kind(overlay, "ConfigMap")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]]["data"])
    for key, value in (filled or {}).items():
        if env.get(key) == "":
            env[key] = value
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            reference = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[f"{reference['name']}/{reference['key']}"]
    return env


WECARE_KEYS = ("page-token-key", "payment-key-secret", "payment-webhook-secret")  # the shared Secret's keys


class DeploymentKeys:
    """What an operator makes for a deployment (docs/DEPLOY.md): the Secrets (`<Secret>/<key>` -> value: the page
    token key and each service's private identity key) and the public keys the overlay's ConfigMap lists."""

    def __init__(self):
        from tests.support.identity import Keyset

        self.keyset = Keyset()
        self.secrets = {f"wecare-keys/{key}": uuid.uuid4().hex * 2 for key in WECARE_KEYS}
        self.secrets |= {f"{name}-service-key/key": private for name, (private, _) in self.keyset.private.items()}
        self.filled = {"WECARE_SERVICE_PUBLIC_KEYS": ",".join(self.keyset.public())}


class _CfnLoader(yaml.SafeLoader):
    """Reads the template's short-form intrinsic functions (!Sub, !Ref, ...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@functools.cache
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}
