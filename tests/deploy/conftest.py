"""What the deploy files are checked against: the services and their settings classes."""

from __future__ import annotations

import importlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from binhyen.kit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Service:
    """One directory of services/ and what its settings class says."""

    name: str
    settings: type[ServiceSettings]

    @property
    def env_prefix(self) -> str:
        """The settings' env prefix, upper-case (e.g. BINHYEN_REGISTRY_)."""
        return str(self.settings.model_config.get("env_prefix", "")).upper()

    @property
    def port(self) -> int:
        """The port the service listens on by default."""
        port = self.settings.model_fields["http_port"].default
        assert isinstance(port, int)
        return port

    def setting(self, env_name: str) -> str | None:
        """The field an environment variable sets, or None (names are case-insensitive;
        ``<VARIABLE>_FILE`` sets the field from a file, see binhyen.kit.settings)."""
        name = env_name.upper()
        if not name.startswith(self.env_prefix):
            return None
        field = name.removeprefix(self.env_prefix).lower()
        if field not in self.settings.model_fields and field.endswith("_file"):
            field = field.removesuffix("_file")  # <SETTING>_FILE: read from a mounted secret
        return field if field in self.settings.model_fields else None

    @property
    def follows_accounts(self) -> bool:
        """True if the service consumes the registry's account states (kit.accounts)."""
        spec = importlib.import_module(f"binhyen.{self.name}.app").service_spec()
        return bool(spec.follow_accounts)

    def granted_reads(self, grants: str) -> set[str]:
        """The topics a Kafka ACL command line (``service grant … --reads …``) lets it read."""
        found = re.search(rf"service grant {re.escape(self.name)} (.*?)(?:&&|$)", grants)
        assert found, f"no Kafka ACLs for {self.name}"
        words = found.group(1).split()
        reads: set[str] = set()
        if "--reads" in words:
            for word in words[words.index("--reads") + 1 :]:
                if word.startswith("--"):
                    break
                reads.add(word)
        return reads

    def is_secret(self, field: str) -> bool:
        """True for a setting typed as a secret (SecretStr)."""
        return SecretStr.__name__ in repr(self.settings.model_fields[field].annotation)


@pytest.fixture(scope="session")
def services() -> dict[str, Service]:
    """Every runnable service: a directory of services/ whose pyproject.toml declares its
    command (``[project.scripts]``). One still being built (no command yet) is not deployed."""
    names = sorted(
        p.parent.name
        for p in (ROOT / "services").glob("*/pyproject.toml")
        if tomllib.loads(p.read_text()).get("project", {}).get("scripts")
    )
    assert names, "no service found under services/"
    found = {}
    for name in names:
        settings = importlib.import_module(f"binhyen.{name}.settings").Settings
        assert issubclass(settings, ServiceSettings)
        assert not settings.model_config.get("case_sensitive"), f"{name}: case-sensitive settings"
        found[name] = Service(name, settings)
    return found
