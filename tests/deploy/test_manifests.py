"""The Kubernetes manifests as each overlay builds them: valid against the Kubernetes schemas (kubernetes-validate
ships them: no cluster, no network), and holding what the platform needs of every process: gRPC probes on the
service port, a stop that lets streams drain, a locked-down pod, its own identity, budget, autoscaler and network
policy, settings that Settings knows, and, in prod, TLS that Settings accepts."""

from __future__ import annotations

import subprocess
import sys

import kubernetes_validate
import pytest

from deploy.services import HEALTH_PORT, LIVENESS_SERVICE, SERVICES, by_name
from runtime.auth import service_identities
from runtime.settings import Settings
from tests.deploy.manifests import (
    OVERLAYS,
    ROOT,
    DeploymentKeys,
    container_env,
    documents,
    of_kind,
    wecare_deployments,
)

SCHEMA_VERSIONS = ("1.31.0", kubernetes_validate.utils.latest_version())  # EKS's oldest in standard support, newest
KEYS = DeploymentKeys()  # the Secrets (page token, payment secrets, each service's key) and the public keys
SETTINGS_ENV = {f.metadata.get("env") or "WECARE_" + f.name.upper() for f in Settings.__dataclass_fields__.values()}


def test_base_is_what_deploy_services_renders():
    # Like `make gen-check`: the committed base and template are the render of deploy/services.py (and the code's
    # table definitions); an edit to either without `python -m deploy.render` fails here.
    result = subprocess.run(
        [sys.executable, "-m", "deploy.render", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_the_kubernetes_schemas(overlay):
    docs = documents(overlay)
    assert len(docs) > 30
    for version in SCHEMA_VERSIONS:
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} against {version}: {exc.message}")


def test_a_broken_manifest_is_refused_by_the_validator():
    # The check above can fail: a Deployment with a misspelt field and a string port is refused.
    deployment = dict(wecare_deployments("dev")["contacts"])
    broken = {**deployment, "spec": {**deployment["spec"], "replica": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, SCHEMA_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_its_parts(overlay):
    names = {s.name for s in SERVICES}
    assert set(wecare_deployments(overlay)) == names
    for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"):
        have = {n for n, d in of_kind(overlay, kind).items() if d["metadata"].get("namespace") == "wecare"}
        assert names <= have, f"{overlay}: {kind} missing for {names - have}"
    for name, hpa in of_kind(overlay, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 1 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    for name, budget in of_kind(overlay, "PodDisruptionBudget").items():
        assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grpc_services_are_probed_over_grpc_on_the_named_port(overlay):
    services = of_kind(overlay, "Service")
    for name, deployment in wecare_deployments(overlay).items():
        entry = by_name(name)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        service_ports = {p["name"]: p for p in services[name]["spec"]["ports"]}
        if entry.protocol == "http":
            assert ports == {"http": entry.port}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert service_ports["http"]["targetPort"] == "http"
            continue
        assert ports["grpc"] == entry.port and service_ports["grpc"]["targetPort"] == "grpc"
        assert service_ports["grpc"]["port"] == entry.port  # what WECARE_<NAME>_ADDRESS says
        probe_port = HEALTH_PORT if overlay == "prod" else ports["grpc"]
        assert container["readinessProbe"]["grpc"] == {"port": probe_port}
        assert container["startupProbe"]["grpc"] == {"port": probe_port}
        assert container["livenessProbe"]["grpc"] == {"port": probe_port, "service": LIVENESS_SERVICE}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_stop_lets_calls_and_streams_drain(overlay):
    for name, deployment in wecare_deployments(overlay).items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = container_env(overlay, deployment, KEYS.secrets, KEYS.filled)
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        needed = pre_stop + float(env["WECARE_DRAIN_SECONDS"]) + float(env["WECARE_GRACE_SECONDS"])
        assert pre_stop >= 3 and float(env["WECARE_GRACE_SECONDS"]) >= 10, name
        assert pod["terminationGracePeriodSeconds"] > needed, f"{name}: SIGKILL would cut the drain short"
        rollout = deployment["spec"]["strategy"]["rollingUpdate"]
        assert rollout["maxUnavailable"] == 0, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_locked_down(overlay):
    for name, deployment in wecare_deployments(overlay).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == name
        container = pod["containers"][0]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp must be writable on a read-only root"
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        assert container["image"].endswith(("/wecare:dev", "/wecare:1.0.0"))
    namespace = of_kind(overlay, "Namespace")["wecare"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_accounts_carry_their_iam_role(overlay):
    accounts = of_kind(overlay, "ServiceAccount")
    for service in SERVICES:
        annotations = accounts[service.name]["metadata"].get("annotations", {})
        if service.aws.any:
            arn = annotations["eks.amazonaws.com/role-arn"]
            assert arn == f"arn:aws:iam::000000000000:role/wecare-{service.name}"
        else:
            assert "eks.amazonaws.com/role-arn" not in annotations, f"{service.name} needs no AWS access"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_from_the_secret_and_settings_are_known(overlay):
    for name, deployment in wecare_deployments(overlay).items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        secret_refs = {
            item["name"]: item["valueFrom"]["secretKeyRef"]["name"] for item in container["env"] if "valueFrom" in item
        }
        # Each service holds its own identity key (only a service that calls others has one), and its own secrets.
        own = {env: "wecare-keys" for env, _ in by_name(name).secrets}
        if name in service_identities():
            own["WECARE_SERVICE_KEY"] = f"{name}-service-key"
        assert secret_refs == {"WECARE_PAGE_TOKEN_KEY": "wecare-keys", **own}
        env = container_env(overlay, deployment, KEYS.secrets, KEYS.filled)
        unknown = set(env) - SETTINGS_ENV
        assert not unknown, f"{overlay}/{name}: settings Settings does not read: {sorted(unknown)}"
        secret_settings = {
            f"WECARE_{f.name.upper()}" for f in Settings.__dataclass_fields__.values() if f.metadata.get("secret")
        }
        for key in secret_settings:
            maps = [m for m in of_kind(overlay, "ConfigMap").values() if key in m.get("data", {})]
            assert not maps, f"{key} must never be in a ConfigMap"
        # Every pod reads every service's public keys from the one ConfigMap; the overlay leaves them to the
        # operator, and a production pod refuses to start while they are missing.
        public = [m for m in of_kind(overlay, "ConfigMap").values() if "WECARE_SERVICE_PUBLIC_KEYS" in m["data"]]
        assert [m["metadata"]["name"].rsplit("-", 1)[0] for m in public] == ["wecare-service-public-keys"]
        unfilled = container_env(overlay, deployment, KEYS.secrets)
        assert unfilled["WECARE_SERVICE_PUBLIC_KEYS"] == ""
        with pytest.raises(ValueError, match="WECARE_SERVICE_PUBLIC_KEYS"):
            Settings.from_env(unfilled)
        # Settings takes the environment as the pod gets it (prod: production checks and TLS both-or-neither).
        settings = Settings.from_env(env)
        assert settings.store == "dynamodb"
        assert settings.listen_address.startswith("0.0.0.0:")
        assert settings.environment == ("production" if overlay == "prod" else "dev")
        if overlay == "prod":
            assert settings.tls_cert_file and settings.tls_key_file and settings.tls_ca_file
            assert settings.health_port == HEALTH_PORT
        else:
            assert not (settings.tls_cert_file or settings.tls_ca_file)


def test_prod_mounts_the_tls_secret_where_the_settings_point():
    for name, deployment in wecare_deployments("prod").items():
        pod = deployment["spec"]["template"]["spec"]
        env = container_env("prod", deployment, KEYS.secrets, KEYS.filled)
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["grpc-tls"]["secret"]["secretName"] == "wecare-grpc-tls"
        for key, file in (("WECARE_TLS_CERT_FILE", "tls.crt"), ("WECARE_TLS_KEY_FILE", "tls.key")):
            assert env[key] == f"{mounts['grpc-tls']}/{file}", name
        assert env["WECARE_TLS_CA_FILE"] == f"{mounts['grpc-tls']}/ca.crt"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_only_the_calls_the_services_make(overlay):
    policies = of_kind(overlay, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for service in SERVICES:
        spec = policies[service.name]["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        selected = lambda rule: {  # noqa: E731
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for peer in rule.get("to", rule.get("from", []))
            if "podSelector" in peer and "namespaceSelector" not in peer
        }
        callees = set().union(*(selected(rule) for rule in spec["egress"]))
        assert callees == set(service.calls), service.name
        callers = set().union(*(selected(rule) for rule in spec["ingress"]))
        assert callers == {s.name for s in SERVICES if service.name in s.calls}, service.name
        from_anywhere = [rule for rule in spec["ingress"] if any("ipBlock" in p for p in rule["from"])]
        assert bool(from_anywhere) == (service.protocol == "http"), "only the gateway is reachable from outside"
        outside = [rule for rule in spec["egress"] if any("ipBlock" in p for p in rule["to"])]
        assert [r["ports"] for r in outside] == [[{"port": 443, "protocol": "TCP"}]], "outside: HTTPS only"
    ingresses = of_kind(overlay, "Ingress")
    assert list(ingresses) == ["gateway"]
    backend = ingresses["gateway"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "gateway", "port": {"name": "http"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_logs_are_shipped_to_the_common_group(overlay):
    shipper = of_kind(overlay, "DaemonSet")["fluent-bit"]
    assert shipper["metadata"]["namespace"] == "logging"
    config_name = next(
        v["configMap"]["name"] for v in shipper["spec"]["template"]["spec"]["volumes"] if "configMap" in v
    )
    config = of_kind(overlay, "ConfigMap")[config_name]["data"]["fluent-bit.conf"]
    assert "log_group_name    /base-wecare-digital/common" in config
    assert "Path              /var/log/containers/*_wecare_*.log" in config
    assert "Merge_Log         On" in config  # the JSON lines become fields (trace_id searchable)
    account = of_kind(overlay, "ServiceAccount")["fluent-bit"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/wecare-fluent-bit")
