"""The one image recipe (deploy/Dockerfile) and docker-compose.yml agree with the services.

No Docker engine is needed: the files are read, and the image's launcher runs under sh.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from binhyen.contracts.topics import REGISTRY_ACCOUNTS

if TYPE_CHECKING:
    from tests.deploy.conftest import Service

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
LAUNCHER = ROOT / "deploy" / "service.sh"
CATALOGUE = "deploy/kafka/topics.json"
# The published address of the services' HTTP ports: loopback unless the operator says otherwise.
BIND = "${BINHYEN_BIND:-127.0.0.1}"
# The kit's command-line tools (topics, kafka_access) run from a service image with their own
# variables, not a service's settings.
KIT_TOOLS = {"secrets", "topics", "kafka-access"}
KIT_TOOL_ENV = re.compile(
    r"BINHYEN_(TOPICS|KAFKA)_(BOOTSTRAP|SECURITY_PROTOCOL|SASL_MECHANISM|USERNAME|PASSWORD_FILE|FILE)"
)
SECRETS = "/run/binhyen-secrets/"

Instruction = tuple[str, str]


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), per stage."""
    logical: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip().startswith("#") or (not current and not line.strip()):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1]
            continue
        logical.append((current + line).strip())
        current = ""
    stages: list[list[Instruction]] = []
    for text in logical:
        keyword, _, args = text.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), args.strip()))
    return stages


def compose() -> dict[str, Any]:
    """docker-compose.yml, anchors and merge keys resolved."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_services_have_no_dockerfile_of_their_own() -> None:
    assert sorted(ROOT.glob("services/*/Dockerfile")) == []


def test_dockerfile_names_no_service(services: dict[str, Service]) -> None:
    for stage in dockerfile_stages():
        for keyword, args in stage:
            for name in services:
                assert name not in args, f"{keyword} {args}: use $SERVICE, not {name}"


def test_each_stage_declares_the_build_args_it_uses() -> None:
    for index, stage in enumerate(dockerfile_stages()):
        declared: set[str] = set()
        for keyword, args in stage:
            if keyword == "ARG":
                declared.add(args.split("=")[0])
            used = set(re.findall(r"\$\{?(SERVICE|PORT)\b", args))
            assert used <= declared, f"stage {index}: {keyword} {args} uses {used - declared}"


def test_image_holds_the_topic_catalogue_where_the_topics_step_reads_it() -> None:
    final = dockerfile_stages()[-1]
    assert ("COPY", f"{CATALOGUE} /app/{CATALOGUE}") in final
    assert (ROOT / CATALOGUE).is_file()


def test_image_runs_the_launcher_for_its_service() -> None:
    final = dockerfile_stages()[-1]
    assert ("COPY", "--chmod=0755 deploy/service.sh /usr/local/bin/binhyen-service") in final
    assert ("CMD", '["binhyen-service"]') in final
    env = " ".join(args for keyword, args in final if keyword == "ENV")
    assert "BINHYEN_SERVICE=${SERVICE}" in env
    assert ("EXPOSE", "${PORT}") in final
    assert ("USER", "10001:10001") in final


def _sources(args: str, service: str) -> list[str]:
    """The build-context paths one COPY instruction reads, for one service."""
    words = [w for w in args.split() if not w.startswith("--")]
    return [re.sub(r"\$\{?SERVICE\}?", service, w) for w in words[:-1]]


def _translate(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
            i += 1
    return re.compile(out)


def _sent(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context holds ``path`` (a .dockerignore pattern matches it or a parent)."""
    candidates = [path, *(str(p) for p in PurePosixPath(path).parents if str(p) != ".")]
    sent = True
    for negated, regex in rules:
        if any(regex.fullmatch(c) for c in candidates):
            sent = negated
    return sent


def test_build_context_holds_what_the_dockerfile_copies(services: dict[str, Service]) -> None:
    rules = [
        (line.startswith("!"), _translate(line.removeprefix("!").strip("/")))
        for line in (s.strip() for s in DOCKERIGNORE.read_text().splitlines())
        if line and not line.startswith("#")
    ]
    copies = [
        args
        for stage in dockerfile_stages()
        for keyword, args in stage
        if keyword == "COPY" and "--from=" not in args
    ]
    for service in services:
        for args in copies:
            for source in _sources(args, service):
                matches = sorted(ROOT.glob(source))
                assert matches, f"COPY {args}: nothing at {source}"
                for match in matches:
                    paths = [match, *match.glob("**/pyproject.toml"), *match.glob("**/src/**/*.py")]
                    for path in paths:
                        relative = path.relative_to(ROOT).as_posix()
                        assert _sent(relative, rules), f"{DOCKERIGNORE.name} leaves out {relative}"
    assert not _sent(f"services/{service}/tests/unit/test_x.py", rules), "tests rebuild images"


def _launch(tmp_path: Path, **env: str) -> list[str]:
    """Run the launcher with a stand-in python that prints its arguments and HTTP host."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$*"\nenv | grep _HTTP_HOST= | sort\n')
    fake.chmod(0o755)
    path = f"{tmp_path}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["sh", str(LAUNCHER), "demo", "--url", "http://registry:8001"],
        env={"PATH": path, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_launcher_runs_the_image_service_on_every_interface(tmp_path: Path) -> None:
    assert _launch(tmp_path, BINHYEN_SERVICE="registry") == [
        "-m binhyen.registry demo --url http://registry:8001",
        "BINHYEN_REGISTRY_HTTP_HOST=0.0.0.0",
    ]


def test_launcher_keeps_a_host_the_deployment_sets(tmp_path: Path) -> None:
    lines = _launch(
        tmp_path, BINHYEN_SERVICE="new-service", BINHYEN_NEW_SERVICE_HTTP_HOST="10.0.0.7"
    )
    assert lines == [
        "-m binhyen.new-service demo --url http://registry:8001",
        "BINHYEN_NEW_SERVICE_HTTP_HOST=10.0.0.7",
    ]


def test_compose_builds_every_image_from_the_one_dockerfile(services: dict[str, Service]) -> None:
    built = {name: s for name, s in compose()["services"].items() if "build" in s}
    assert built
    for name, spec in built.items():
        build = spec["build"]
        assert (build["context"], build["dockerfile"]) == (".", "deploy/Dockerfile"), name
        service = services.get(build["args"]["SERVICE"])
        assert service is not None, f"{name}: SERVICE names no directory of services/"
        assert str(build["args"]["PORT"]) == str(service.port), f"{name}: PORT is not http_port"
        for variable in spec.get("environment", {}):
            if name in KIT_TOOLS:
                assert KIT_TOOL_ENV.fullmatch(variable), f"{name}: {variable} is no kit tool's"
            else:
                assert service.setting(variable), (
                    f"{name}: {variable} is no setting of {service.name}"
                )


def test_compose_runs_every_service_after_the_topics_exist(services: dict[str, Service]) -> None:
    specs = compose()["services"]
    for service in services.values():
        spec = specs.get(service.name)
        assert spec is not None, f"docker-compose.yml has no service {service.name}"
        assert spec["build"]["args"]["SERVICE"] == service.name
        assert spec["ports"] == [f"{BIND}:{service.port}:{service.port}"]
        assert spec["depends_on"]["topics"] == {"condition": "service_completed_successfully"}
        assert spec["depends_on"]["kafka-access"] == {"condition": "service_completed_successfully"}
        assert spec["depends_on"]["mongodb"] == {"condition": "service_healthy"}


def test_compose_demos_call_the_services_on_their_ports_one_after_another(
    services: dict[str, Service],
) -> None:
    specs = compose()["services"]
    demos = {
        name: spec
        for name, spec in specs.items()
        if [spec.get("command", [])[i] for i in (0, 1, 3) if len(spec.get("command", [])) > 3]
        == ["python", "-m", "demo"]
    }
    ports = {name: service.port for name, service in services.items()}
    assert {spec["command"][2] for spec in demos.values()} == {
        f"binhyen.{name}" for name in ("registry", "incidents", "notifications", "reporting")
    }
    for name, spec in demos.items():
        urls = [word for word in spec["command"] if word.startswith("http://")]
        assert urls, f"{name}: the demo is told where the services are"
        for url in urls:
            host, _, port = url.removeprefix("http://").partition(":")
            assert host in specs and ports.get(host) == int(port), f"{name}: {url}"
        # Each demo builds on the one before (accounts, hamlets, incidents): one at a time.
        waits = [d for d, c in spec["depends_on"].items() if d in demos]
        assert all(
            spec["depends_on"][d] == {"condition": "service_completed_successfully"} for d in waits
        ), name
    last = specs["demo-reporting"]["depends_on"]
    assert last["demo-notifications"] == {"condition": "service_completed_successfully"}


def test_compose_creates_the_topics_once_kafka_answers() -> None:
    topics = compose()["services"]["topics"]
    command = topics["command"]
    assert command[:4] == ["python", "-m", "binhyen.kit.topics", "create"]
    assert command[command.index("--file") + 1] == f"/app/{CATALOGUE}"
    assert command[command.index("--bootstrap") + 1] == "kafka:9092"
    assert command[command.index("--replication-factor") + 1] == "1"  # one broker
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert topics["restart"] == "no"


def test_compose_publishes_only_the_services_http_ports(services: dict[str, Service]) -> None:
    published = {name: s["ports"] for name, s in compose()["services"].items() if "ports" in s}
    assert published == {
        name: [f"{BIND}:{service.port}:{service.port}"] for name, service in services.items()
    }


def test_compose_kafka_takes_only_sasl_users_and_enforces_acls() -> None:
    env = compose()["services"]["kafka"]["environment"]
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "no listener without a user"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert not any("JAAS" in name or "PASSWORD" in name for name in env), "passwords: from files"


def test_compose_services_log_in_to_kafka_and_mongodb_with_their_own_users(
    services: dict[str, Service],
) -> None:
    specs = compose()["services"]
    grants = " ".join(specs["kafka-access"]["command"])
    for service in services.values():
        env = specs[service.name]["environment"]
        prefix = service.env_prefix
        assert env[f"{prefix}KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env[f"{prefix}KAFKA_USERNAME"] == service.name
        assert env[f"{prefix}KAFKA_PASSWORD_FILE"] == f"{SECRETS}kafka-{service.name}-password"
        assert env[f"{prefix}MONGODB_URI_FILE"] == f"{SECRETS}mongodb-{service.name}-uri"
        assert f"service grant {service.name} " in grants, f"no Kafka ACLs for {service.name}"
        group = service.settings.model_fields["consumer_group"].default
        consumes = f"service grant {service.name} --reads" in grants
        assert not consumes or f"--group {group} " in grants, f"{service.name}: not its group"
        if service.follows_accounts:  # else its consumer of deactivations is refused
            assert REGISTRY_ACCOUNTS.name in service.granted_reads(grants), service.name
    users = (ROOT / "deploy" / "compose" / "mongodb-users.js").read_text()
    for service in services.values():
        database = service.settings.model_fields["mongodb_database"].default
        assert f'{service.name}: "{database}"' in users, f"no MongoDB user for {service.name}"
    secrets = (ROOT / "deploy" / "compose" / "make-secrets.sh").read_text()
    for service in services.values():
        assert f"kafka-{service.name}-password" in secrets, service.name


def test_compose_mongodb_turns_authentication_on() -> None:
    mongodb = compose()["services"]["mongodb"]
    assert mongodb["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"].startswith(SECRETS)
    assert any(
        v.endswith("/docker-entrypoint-initdb.d/mongodb-users.js:ro") for v in mongodb["volumes"]
    )
