"""The Kubernetes manifests run the services as their settings classes demand.

Pure unit tests: the manifests are read, their environment is fed to each service's Settings.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from binhyen.contracts.topics import REGISTRY_ACCOUNTS

if TYPE_CHECKING:
    from tests.deploy.conftest import Service

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOPICS = ROOT / "deploy" / "kafka" / "topics.json"
# Names that say "secret": such a variable takes its value from a Secret, never a literal.
SECRET_NAME = re.compile(r"secret|password|key|token|mongodb_uri", re.IGNORECASE)
# The image's launcher (deploy/service.sh) sets this one; the manifests need not.
IMAGE_SETS = {"http_host": "0.0.0.0"}
# Probe -> path: the kit serves both; readiness also asks the database and Kafka.
PROBES = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
Manifest = dict[str, Any]


def manifests() -> list[Manifest]:
    """Every object of deploy/k8s/ (the kustomization aside)."""
    found: list[Manifest] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def objects(kind: str) -> dict[str, Manifest]:
    """The manifests of one kind, by name."""
    return {m["metadata"]["name"]: m for m in manifests() if m["kind"] == kind}


def config() -> dict[str, str]:
    """The ConfigMap every service and the Job read."""
    data: dict[str, str] = objects("ConfigMap")["binhyen"]["data"]
    return data


def container(deployment: Manifest) -> Manifest:
    """The one container of a Deployment or Job."""
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    spec: Manifest = only
    return spec


def deployment_of(service: Service) -> Manifest:
    """The Deployment that runs ``service``."""
    found = objects("Deployment").get(f"binhyen-{service.name}")
    assert found is not None, f"no Deployment binhyen-{service.name} in deploy/k8s/"
    return found


def pods() -> dict[str, Manifest]:
    """The pod templates of every Deployment and Job, by owner name."""
    owners = objects("Deployment") | objects("Job")
    return {name: owner["spec"]["template"]["spec"] for name, owner in owners.items()}


@pytest.fixture(scope="module")
def secret_samples() -> dict[str, str]:
    """A value for each Secret key, made as deploy/k8s/README.md makes it."""
    pem, previous_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
        for _ in range(2)
    )
    return {
        "mongodb-uri": "mongodb://svc:pw@mongodb.example:27017/?authSource=admin",
        "signing-key-pem": pem,
        "signing-key-previous-pem": previous_pem,
        "tip-secret": secrets.token_hex(32),
        "tip-secret-previous": secrets.token_hex(32),
        "link-secret": secrets.token_hex(32),
        "link-secret-previous": secrets.token_hex(32),
        "bootstrap-admin-username": "admin",
        "bootstrap-admin-password": secrets.token_hex(16),
        "kafka-password": secrets.token_urlsafe(32),
        "username": "binhyen-admin",
        "password": secrets.token_urlsafe(32),
        "metrics-token": secrets.token_hex(24),
    }


def resolve(variable: Manifest, samples: dict[str, str]) -> str:
    """The value a container gets for one env entry."""
    if "value" in variable:
        return str(variable["value"])
    source = variable["valueFrom"]
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        assert ref["name"] == "binhyen", f"{variable['name']}: unknown ConfigMap {ref['name']}"
        assert ref["key"] in config(), f"{variable['name']}: ConfigMap has no key {ref['key']}"
        return config()[ref["key"]]
    ref = source["secretKeyRef"]
    assert ref["key"] in samples, f"{variable['name']}: add a sample for Secret key {ref['key']}"
    return samples[ref["key"]]


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == files


def test_manifests_hold_no_secret() -> None:
    assert [m["metadata"]["name"] for m in manifests() if m["kind"] == "Secret"] == []


def test_every_env_var_names_a_setting_of_its_service(services: dict[str, Service]) -> None:
    wrong = [
        f"{service.name}: {variable['name']}"
        for service in services.values()
        for variable in container(deployment_of(service)).get("env", [])
        if service.setting(variable["name"]) is None
    ]
    assert wrong == [], "not a setting (prefix + field name, see settings.py)"


def test_production_starts_with_what_the_manifests_give(
    services: dict[str, Service], secret_samples: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for service in services.values():
        env = {
            v["name"]: resolve(v, secret_samples)
            for v in container(deployment_of(service)).get("env", [])
        }
        for name in [n for n in os.environ if n.upper().startswith(service.env_prefix)]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for field, value in IMAGE_SETS.items():
            if not any(service.setting(n) == field for n in env):
                monkeypatch.setenv(f"{service.env_prefix}{field.upper()}", value)
        settings = service.settings()  # the production validators run here
        assert settings.environment == "prod", service.name
        assert settings.kafka_bootstrap == config()["kafka-bootstrap"], "where the Job makes topics"
        required = [n for n, f in service.settings.model_fields.items() if f.is_required()]
        given = {service.setting(n) for n in env}
        assert set(required) <= given, f"{service.name}: {set(required) - given} not given"
        local = {
            field: value
            for field, value in settings.model_dump().items()
            if isinstance(value, str) and re.search(r"localhost|127\.0\.0\.1", value)
        }
        assert local == {}, f"{service.name}: a pod's localhost is not where these are"


def test_secrets_come_from_secret_refs_only(services: dict[str, Service]) -> None:
    for service in services.values():
        for variable in container(deployment_of(service)).get("env", []):
            field = service.setting(variable["name"])
            if SECRET_NAME.search(variable["name"]) or (field and service.is_secret(field)):
                assert "value" not in variable, f"{variable['name']} has a literal value"
                assert "secretKeyRef" in variable["valueFrom"], variable["name"]


def test_readme_creates_every_secret_key_the_manifests_read() -> None:
    refs = [
        v["valueFrom"]["secretKeyRef"]
        for pod in pods().values()
        for c in pod["containers"]
        for v in c.get("env", [])
        if "secretKeyRef" in v.get("valueFrom", {})
    ]
    required = {(ref["name"], ref["key"]) for ref in refs if not ref.get("optional")}
    optional = {(ref["name"], ref["key"]) for ref in refs if ref.get("optional")}
    created = set()
    readme = (K8S / "README.md").read_text().replace("\\\n", " ")
    for command in re.findall(r"kubectl create secret generic ([\w-]+)([^\n]*)", readme):
        name, options = command
        created |= {
            (name, key) for key in re.findall(r"--from-(?:literal|file)=([\w-]+)=", options)
        }
    assert required == created
    # Optional keys (previous secrets during a rotation): the README says how to set them.
    assert all(f'\\"{key}\\"' in readme for _, key in optional), optional


def test_only_previous_secrets_are_optional() -> None:
    for pod in pods().values():
        for c in pod["containers"]:
            for v in c.get("env", []):
                ref = v.get("valueFrom", {}).get("secretKeyRef", {})
                if ref.get("optional"):
                    assert "PREVIOUS" in v["name"], v["name"]


def test_each_service_runs_its_own_image_on_its_port(services: dict[str, Service]) -> None:
    for service in services.values():
        deployment = deployment_of(service)
        spec = container(deployment)
        assert spec["name"] == service.name
        assert spec["image"].rpartition(":")[0] == f"binhyen/{service.name}"
        assert spec["ports"] == [{"containerPort": service.port, "name": "http"}]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(service.port)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        svc = objects("Service").get(f"binhyen-{service.name}")
        assert svc is not None, f"no Service binhyen-{service.name}"
        assert svc["spec"]["selector"].items() <= labels.items()
        assert svc["spec"]["ports"] == [
            {"port": service.port, "targetPort": "http", "name": "http"}
        ]


def test_probes_ask_the_service_health_endpoints(services: dict[str, Service]) -> None:
    for service in services.values():
        spec = container(deployment_of(service))
        ports = {p["name"]: p["containerPort"] for p in spec["ports"]}
        for probe, path in PROBES.items():
            get = spec[probe]["httpGet"]
            assert get["path"] == path, f"{service.name} {probe}"
            assert ports.get(get["port"], get["port"]) == service.port, f"{service.name} {probe}"


def test_in_cluster_urls_reach_a_service_on_its_port(services: dict[str, Service]) -> None:
    ports = {
        name: {p["port"] for p in s["spec"]["ports"]} for name, s in objects("Service").items()
    }
    checked = 0
    for service in services.values():
        for variable in container(deployment_of(service)).get("env", []):
            url = urlsplit(str(variable.get("value", "")))
            if url.scheme.startswith("http") and url.hostname in ports:
                assert url.port in ports[url.hostname], variable["name"]
                checked += 1
    assert checked, "incidents take the registry's JWKS from its Service"


def test_pods_run_locked_down() -> None:
    for name, pod in pods().items():
        assert pod["enableServiceLinks"] is False, f"{name}: service links add BINHYEN_* names"
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, f"{name}: the image's user"
        for spec in pod["containers"]:
            context = spec["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= spec["resources"][bound].keys(), f"{name} {bound}"


def test_topics_job_creates_the_catalogue_with_the_configured_replication(
    services: dict[str, Service],
) -> None:
    job = objects("Job")["binhyen-topics"]
    spec = container(job)
    assert spec["image"].rpartition(":")[0] in {f"binhyen/{name}" for name in services}
    command = spec["command"]
    assert command[:4] == ["python", "-m", "binhyen.kit.topics", "create"]
    assert command[command.index("--file") + 1] == "/app/deploy/kafka/topics.json"
    env = {
        v["name"]: v["valueFrom"]["configMapKeyRef"]["key"]
        for v in spec["env"]
        if "configMapKeyRef" in v["valueFrom"]
    }
    assert command[command.index("--bootstrap") + 1] == "$(BINHYEN_TOPICS_BOOTSTRAP)"
    assert command[command.index("--replication-factor") + 1] == (
        "$(BINHYEN_TOPICS_REPLICATION_FACTOR)"
    )
    assert env == {
        "BINHYEN_TOPICS_BOOTSTRAP": "kafka-bootstrap",
        "BINHYEN_TOPICS_REPLICATION_FACTOR": "topics-replication-factor",
        "BINHYEN_TOPICS_SECURITY_PROTOCOL": "kafka-security-protocol",
    }
    admin = {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for v in spec["env"]
        if "secretKeyRef" in v["valueFrom"]
    }
    assert admin == {
        "BINHYEN_TOPICS_USERNAME": {"name": "binhyen-kafka-admin", "key": "username"},
        "BINHYEN_TOPICS_PASSWORD": {"name": "binhyen-kafka-admin", "key": "password"},
    }
    assert config()["topics-replication-factor"] == "3", "production default"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_services_log_in_to_kafka_with_their_own_user(services: dict[str, Service]) -> None:
    assert config()["kafka-security-protocol"] in {"SASL_SSL", "SASL_PLAINTEXT"}
    job = container(objects("Job")["binhyen-kafka-access"])
    grants = " ".join(job["command"])
    mounts = {m["mountPath"]: m["name"] for m in job["volumeMounts"]}
    volumes = {
        v["name"]: v["secret"]["secretName"]
        for v in objects("Job")["binhyen-kafka-access"]["spec"]["template"]["spec"]["volumes"]
    }
    for service in services.values():
        env = {v["name"]: v for v in container(deployment_of(service)).get("env", [])}
        prefix = service.env_prefix
        assert env[f"{prefix}KAFKA_USERNAME"]["value"] == service.name
        password = env[f"{prefix}KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": f"binhyen-{service.name}", "key": "kafka-password"}
        protocol = env[f"{prefix}KAFKA_SECURITY_PROTOCOL"]["valueFrom"]["configMapKeyRef"]
        assert protocol["key"] == "kafka-security-protocol"
        # The Job sets the user's password from the same Secret key the service reads.
        assert f"service grant {service.name} " in grants, f"no Kafka ACLs for {service.name}"
        path = f"/run/binhyen-secrets/{service.name}"
        assert f"{path}/kafka-password" in grants
        assert volumes[mounts[path]] == f"binhyen-{service.name}"
        group = service.settings.model_fields["consumer_group"].default
        if f"service grant {service.name} --reads" in grants:
            assert f"--group {group} " in grants, f"{service.name}: not its consumer group"
        if service.follows_accounts:  # else its consumer of deactivations is refused
            assert REGISTRY_ACCOUNTS.name in service.granted_reads(grants), service.name


def test_kafka_access_grants_the_same_in_compose_and_kubernetes(
    services: dict[str, Service],
) -> None:
    job = " ".join(container(objects("Job")["binhyen-kafka-access"])["command"])
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    step = " ".join(compose["kafka-access"]["command"])
    for service in services.values():
        reads = service.granted_reads(job)
        assert reads == service.granted_reads(step), f"{service.name}: compose reads differ"
        catalogue = {t["name"] for t in yaml.safe_load(TOPICS.read_text())["topics"]}
        assert reads <= catalogue, f"{service.name}: {reads - catalogue} is no topic"


def test_mongodb_uris_name_a_user_of_the_services_own_database(
    services: dict[str, Service],
) -> None:
    readme = (K8S / "README.md").read_text()
    for service in services.values():
        database = service.settings.model_fields["mongodb_database"].default
        uri = f"mongodb://binhyen-{service.name}:PASSWORD@mongodb.example:27017/{database}?authSource={database}"
        assert uri in readme, f"{service.name}: its own user, in its own database"
        assert f'roles: [{{role: "readWrite", db: "{database}"}}]' in readme, service.name
