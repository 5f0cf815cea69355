"""No secret has a value in the repository: `make run` and compose make them at first start.

Pure unit tests: docker-compose.yml is read, deploy/local/make_secrets.py and deploy/run.py's
environment run against a temporary directory, and the services' settings read what they give.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing.servers import load_module
from binhyen.notifications.settings import Settings as NotificationsSettings
from binhyen.registry.settings import Settings as RegistrySettings
from binhyen.reporting.settings import Settings as ReportingSettings

if TYPE_CHECKING:
    from tests.deploy.conftest import Service

ROOT = Path(__file__).resolve().parents[2]
# Names that say "secret" (as in test_manifests.py), and a URI that carries a password.
SECRET_NAME = re.compile(r"secret|password|key|token|mongodb_uri", re.IGNORECASE)
CREDENTIALS = re.compile(r"://[^/@\s]+:[^/@\s]+@")


def _module(name: str, path: Path) -> ModuleType:
    return load_module(path, name)


@pytest.fixture(scope="module")
def make_secrets() -> ModuleType:
    """deploy/local/make_secrets.py."""
    return _module("make_secrets", ROOT / "deploy" / "local" / "make_secrets.py")


@pytest.fixture(scope="module")
def run(make_secrets: ModuleType) -> ModuleType:
    """deploy/run.py (`make run`), imported, not run."""
    return _module("binhyen_run", ROOT / "deploy" / "run.py")


def compose_services() -> dict[str, Any]:
    """The services of docker-compose.yml, merge keys resolved."""
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services


def test_compose_gives_no_secret_a_value(services: dict[str, Service]) -> None:
    for name, spec in compose_services().items():
        service = services.get(spec.get("build", {}).get("args", {}).get("SERVICE", ""))
        for variable, value in (spec.get("environment") or {}).items():
            field = service.setting(variable) if service else None
            secret = SECRET_NAME.search(variable) or (
                field and service and service.is_secret(field)
            )
            if not secret or variable.upper().endswith("_FILE"):
                continue
            assert "MONGODB_URI" in variable.upper(), f"{name}: {variable} has a value"
            assert not CREDENTIALS.search(str(value)), f"{name}: {variable} holds a password"


def test_compose_services_read_every_secret_from_the_volume_the_secrets_step_fills(
    services: dict[str, Service],
) -> None:
    specs = compose_services()
    step = specs["secrets"]
    (volume,) = [v for v in step["volumes"] if not v.startswith("./")]
    name, mount = volume.split(":")[:2]
    assert step["restart"] == "no" and "make_secrets.py" in " ".join(step["entrypoint"])
    for service in services.values():
        spec = specs[service.name]
        assert spec["depends_on"]["secrets"] == {"condition": "service_completed_successfully"}
        assert f"{name}:{mount}:ro" in spec["volumes"]
        files = [v for k, v in spec["environment"].items() if k.upper().endswith("_FILE")]
        secret_fields = [f for f in service.settings.model_fields if service.is_secret(f)]
        given = {service.setting(k) for k in spec["environment"]}
        assert set(secret_fields) <= given, f"{service.name}: {set(secret_fields) - given}"
        assert files and all(f.startswith(mount + "/") for f in files), service.name


def test_first_start_makes_private_secret_files_and_keeps_them(
    make_secrets: ModuleType, tmp_path: Path
) -> None:
    directory = tmp_path / "secrets"
    made = make_secrets.ensure_secrets(directory)
    assert sorted(made) == sorted(make_secrets.MAKERS)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    contents = {}
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        contents[path.name] = path.read_text()
    assert len(contents[make_secrets.TIP_SECRET].strip()) >= 32
    assert len(contents[make_secrets.LINK_SECRET].strip()) >= 32
    assert contents[make_secrets.LINK_SECRET] != contents[make_secrets.TIP_SECRET]
    assert contents[make_secrets.LINK_SECRET_PREVIOUS] == ""
    assert "PRIVATE KEY" in contents[make_secrets.SIGNING_KEY]
    assert contents[make_secrets.TIP_SECRET_PREVIOUS] == ""
    assert make_secrets.ensure_secrets(directory) == []  # a second start keeps them
    assert {p.name: p.read_text() for p in directory.iterdir()} == contents
    other = make_secrets.ensure_secrets(tmp_path / "elsewhere")
    assert (
        other
        and (tmp_path / "elsewhere" / make_secrets.TIP_SECRET).read_text()
        != (contents[make_secrets.TIP_SECRET])
    )


def test_make_run_points_the_services_at_the_secret_files(
    services: dict[str, Service],
    run: ModuleType,
    make_secrets: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = tmp_path / "secrets"
    make_secrets.ensure_secrets(directory)
    monkeypatch.delenv("BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_PASSWORD", raising=False)
    servers = {"kafka": "127.0.0.1:1", "mongodb": "mongodb://127.0.0.1:2/"}
    assert {name: s.port for name, s in services.items()} == run.SERVICES, "make run runs them all"
    for name in run.SERVICES:
        env = run.service_env(name, run.SERVICES[name], secrets=directory, **servers)
        for variable, value in env.items():
            if SECRET_NAME.search(variable) and "MONGODB_URI" not in variable:
                assert variable.endswith("_FILE") and Path(value).parent == directory, variable
            monkeypatch.setenv(variable, value)
    registry, incidents = RegistrySettings(), IncidentsSettings()
    notifications = NotificationsSettings()
    assert incidents.tip_key() == (directory / make_secrets.TIP_SECRET).read_text().strip()
    assert incidents.tip_secret_previous is None
    link = (directory / make_secrets.LINK_SECRET).read_text().strip()
    assert notifications.link_keys() == (link,), "the generated link secret, no previous one"
    assert notifications.base_url() == f"http://127.0.0.1:{run.SERVICES['notifications']}"
    assert notifications.http_port == run.SERVICES["notifications"]
    assert notifications.auth_issuer == f"http://127.0.0.1:{run.SERVICES['registry']}"
    reporting = ReportingSettings()
    assert reporting.http_port == run.SERVICES["reporting"]
    assert reporting.auth_jwks_url == notifications.auth_jwks_url, "the registry's keys"
    metrics = (directory / make_secrets.METRICS_TOKEN).read_text().strip()
    assert reporting.metrics_token is not None
    assert reporting.metrics_token.get_secret_value() == metrics
    assert registry.signing_key_pem is not None
    assert registry.bootstrap_admin_password is not None
    password = registry.bootstrap_admin_password.get_secret_value()
    assert password == run.admin_password(directory)
    assert len(password) >= 16
    assert not hasattr(run, "ADMIN_PASSWORD")


def test_a_rotation_keeps_the_old_secrets_as_the_previous_ones(
    run: ModuleType, make_secrets: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "secrets"
    make_secrets.ensure_secrets(directory)
    tip = (directory / make_secrets.TIP_SECRET).read_text().strip()
    link = (directory / make_secrets.LINK_SECRET).read_text().strip()
    key = (directory / make_secrets.SIGNING_KEY).read_text()
    password = (directory / make_secrets.ADMIN_PASSWORD).read_text()
    make_secrets.rotate(directory)
    monkeypatch.setenv("BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_USERNAME", "admin")
    for variable, value in make_secrets.file_variables(directory).items():
        monkeypatch.setenv(variable, value)
    incidents, registry = IncidentsSettings(), RegistrySettings()
    assert incidents.tip_keys()[1] == tip and incidents.tip_key() != tip
    current, previous = NotificationsSettings().link_keys()
    assert previous == link and current != link
    assert registry.signing_key_previous_pem is not None
    assert registry.signing_key_previous_pem.get_secret_value().strip() == key.strip()
    assert registry.signing_key_pem is not None
    assert registry.signing_key_pem.get_secret_value().strip() != key.strip()
    assert (directory / make_secrets.ADMIN_PASSWORD).read_text() == password


def test_only_the_local_run_lets_notifications_reach_private_addresses(
    run: ModuleType, make_secrets: ModuleType, tmp_path: Path
) -> None:
    servers = {"kafka": "127.0.0.1:1", "mongodb": "mongodb://127.0.0.1:2/"}
    variable = "BINHYEN_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS"
    local = run.service_env("notifications", 8003, secrets=tmp_path, **servers)
    assert local[variable] == "true", "make run: webhook stand-ins on this machine"
    others = [run.service_env(n, 8000, secrets=tmp_path, **servers) for n in run.SERVICES]
    assert sum(variable in env for env in others) == 1
    compose = compose_services()["notifications"]["environment"]
    assert not any(name.upper().startswith(variable) for name in compose), "compose: as deployed"
