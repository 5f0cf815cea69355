#!/usr/bin/env python3
"""Provision, start, stop and wipe real local servers (Kafka, FerretDB) without Docker.

Kafka (KRaft, single combined broker+controller node) runs from jars resolved from
Maven Central by ``mvn`` using ``deploy/local/kafka/pom.xml``; FerretDB (SQLite
backend) is built from its Go module with ``go``.  Everything is cached under
``$BINHYEN_LOCAL_HOME`` (default ``~/.cache/binhyen/local``).

Importable (stdlib only at import time) and usable as a CLI::

    python deploy/local/localservers.py start [kafka|ferretdb|all] [--instance NAME] [--port N]

See deploy/local/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

__all__ = [
    "FERRETDB_VERSION",
    "KAFKA_VERSION",
    "KINDS",
    "LocalServerError",
    "Server",
    "build_ferretdb",
    "local_home",
    "provision",
    "start",
    "status",
    "stop",
    "wipe",
]

KAFKA_VERSION = os.environ.get("BINHYEN_LOCAL_KAFKA_VERSION", "").strip() or "4.4.0"
FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
# Patches applied before building FerretDB, in name order: one reviewable unified diff
# each, with a header that says why (deploy/local/ferretdb-patches/). The build marker
# names their digest, so a binary built from other patches is rebuilt.
FERRETDB_PATCHES = Path(__file__).resolve().parent / "ferretdb-patches"


def _patches() -> list[Path]:
    return sorted(FERRETDB_PATCHES.glob("*.patch"))


def _patches_digest() -> str:
    digest = hashlib.sha256()
    for path in _patches():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


FERRETDB_BUILD = f"{FERRETDB_VERSION}+binhyen.{_patches_digest()}"
KINDS = ("kafka", "ferretdb")
HOST = "127.0.0.1"

DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19093
DEFAULT_FERRETDB_PORT = 27117
KAFKA_HEAP = "-Xmx768m"

HERE = Path(__file__).resolve().parent
KAFKA_POM = HERE / "kafka" / "pom.xml"
KAFKA_LOG4J2 = HERE / "kafka" / "log4j2.xml"

_INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LOG_TAIL_LINES = 30

# Popen objects of servers started by this process, kept so they are reaped (no zombies)
# and not garbage collected while running (no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

_T = TypeVar("_T")


class LocalServerError(RuntimeError):
    """A local server could not be provisioned, started or stopped."""


@dataclass(frozen=True)
class Server:
    """A running, ready local server instance."""

    kind: str
    instance: str
    host: str
    port: int
    pid: int
    home: Path
    log_file: Path
    # Kafka started with ``secure``: SASL/SCRAM on the client listener, ACLs enforced, and
    # this super user's password (the deploy step's and the operator's user).
    admin_password: str | None = field(default=None, repr=False)

    @property
    def secure(self) -> bool:
        """True for a Kafka that takes only SCRAM users and enforces ACLs."""
        return self.admin_password is not None

    @property
    def address(self) -> str:
        """Return the client address: Kafka bootstrap ``host:port`` or a MongoDB URI."""
        if self.kind == "kafka":
            return f"{self.host}:{self.port}"
        return f"mongodb://{self.host}:{self.port}/"


# --------------------------------------------------------------------------- paths


def local_home() -> Path:
    """Return the cache + data home (``$BINHYEN_LOCAL_HOME`` or ``~/.cache/binhyen/local``)."""
    env = os.environ.get("BINHYEN_LOCAL_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "binhyen" / "local"


def _instance_dir(kind: str, instance: str) -> Path:
    return local_home() / "instances" / f"{kind}-{instance}"


def _instance_lock(kind: str, instance: str) -> Path:
    return local_home() / "instances" / f".{kind}-{instance}.lock"


def _kafka_dir() -> Path:
    return local_home() / "kafka" / KAFKA_VERSION


def _ferretdb_bin() -> Path:
    return local_home() / "bin" / "ferretdb"


def _log_file(kind: str, instance: str) -> Path:
    return _instance_dir(kind, instance) / "logs" / "server.log"


def _info(msg: str) -> None:
    print(f"[localservers] {msg}", file=sys.stderr, flush=True)


def _check_args(kind: str, instance: str) -> None:
    if kind not in KINDS:
        raise LocalServerError(f"unknown server kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not _INSTANCE_RE.match(instance):
        raise LocalServerError(
            f"invalid instance name {instance!r}: use letters, digits, '_', '.', '-' (max 64)"
        )


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (serialises concurrent CLIs/tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise LocalServerError(
                        f"timed out after {timeout:.0f}s waiting for lock {path}"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log file)"
    return "\n".join(data.splitlines()[-lines:])


def _write_json(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- tools


def _run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a provisioning command; raise with its output on failure."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        out = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise LocalServerError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{out}")
    return proc.stdout


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidate = str(Path(java_home) / "bin" / "java") if java_home else None
    java = candidate if candidate and os.access(candidate, os.X_OK) else shutil.which("java")
    hint = "install it with `apt-get install openjdk-17-jre-headless`"
    if not java:
        raise LocalServerError(f"Java 17+ not found on PATH: {hint}")
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    major = 0
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8.0_x" style
            major = int(match.group(2))
    if major < 17:
        raise LocalServerError(f"Java 17+ required but {java} is Java {major or '?'}: {hint}")
    return java


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise LocalServerError(
            "Maven (mvn) not found on PATH: install it with `apt-get install maven`"
        )
    return mvn


def _go() -> str:
    go = shutil.which("go")
    if not go:
        raise LocalServerError(
            "Go not found on PATH: install it from https://go.dev/doc/install"
            " or with `apt-get install golang`"
        )
    return go


# --------------------------------------------------------------------------- provisioning


def _kafka_stamp() -> str:
    digest = hashlib.sha256(KAFKA_POM.read_bytes())
    digest.update(KAFKA_VERSION.encode())
    return digest.hexdigest()


def _kafka_provisioned() -> bool:
    marker = _kafka_dir() / "provisioned.sha256"
    lib = _kafka_dir() / "lib"
    try:
        return marker.read_text().strip() == _kafka_stamp() and any(lib.glob("kafka_2.13-*.jar"))
    except OSError:
        return False


def _provision_kafka() -> None:
    if _kafka_provisioned():
        return
    mvn = _mvn()
    _java()
    root = _kafka_dir()
    root.mkdir(parents=True, exist_ok=True)
    lib, tmp = root / "lib", root / "lib.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    _info(f"resolving Kafka {KAFKA_VERSION} jars from Maven Central into {lib} ...")
    t0 = time.monotonic()
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            f"-Dkafka.version={KAFKA_VERSION}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
        ]
    )
    if not any(tmp.glob("kafka_2.13-*.jar")):
        raise LocalServerError(f"mvn finished but no kafka_2.13 jar was copied into {tmp}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp.replace(lib)
    (root / "provisioned.sha256").write_text(_kafka_stamp() + "\n")
    _info(f"Kafka {KAFKA_VERSION} provisioned in {time.monotonic() - t0:.1f}s")


def _ferretdb_provisioned() -> bool:
    marker = _ferretdb_bin().with_name("ferretdb.version")
    try:
        return marker.read_text().strip() == FERRETDB_BUILD and os.access(_ferretdb_bin(), os.X_OK)
    except OSError:
        return False


def _provision_ferretdb() -> None:
    """Build ``ferretdb`` from the Go module with every patch of ``FERRETDB_PATCHES``."""
    if _ferretdb_provisioned():
        return
    binary = _ferretdb_bin()
    _info(f"building FerretDB {FERRETDB_VERSION} with go into {binary} ...")
    t0 = time.monotonic()
    build_ferretdb(binary, _patches())
    binary.with_name("ferretdb.version").write_text(FERRETDB_BUILD + "\n")
    _info(f"FerretDB {FERRETDB_VERSION} provisioned in {time.monotonic() - t0:.1f}s")


def build_ferretdb(binary: Path, patches: list[Path]) -> None:
    """Build FerretDB ``FERRETDB_VERSION`` with ``patches`` (in order) into ``binary``.

    A plain ``go install .../cmd/ferretdb@v1.24.2`` builds a binary that panics at start
    ("Invalid build/version/version.txt file content"): the module zip has no generated
    ``build/version/version.txt``.  So the module is downloaded with ``go mod download``,
    copied, given that file, patched and built with ``go build``.  (Benchmarks build
    variants with fewer patches to compare.)
    """
    go = _go()
    binary.parent.mkdir(parents=True, exist_ok=True)
    meta = json.loads(
        _run([go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"])
    )
    src_dir = Path(str(meta.get("Dir", "")))
    if not (src_dir / "cmd" / "ferretdb").is_dir():
        raise LocalServerError(f"go mod download did not give FerretDB sources: {meta}")
    build = local_home() / "build" / f"ferretdb-{FERRETDB_VERSION}-{uuid.uuid4().hex[:8]}"
    build.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(src_dir, build, copy_function=shutil.copyfile)
        for path in [build, *build.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        (build / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        _patch_ferretdb(build, patches)
        tmp_bin = binary.with_name(binary.name + ".tmp")
        env = dict(os.environ, CGO_ENABLED=os.environ.get("CGO_ENABLED", "0"))
        _run([go, "build", "-trimpath", "-o", str(tmp_bin), "./cmd/ferretdb"], cwd=build, env=env)
        version = _run([str(tmp_bin), "--version"])
        if FERRETDB_VERSION not in version:
            raise LocalServerError(f"built ferretdb reports an unexpected version:\n{version}")
        tmp_bin.replace(binary)
    finally:
        shutil.rmtree(build, ignore_errors=True)
        with contextlib.suppress(OSError):
            build.parent.rmdir()


def _patch_ferretdb(tree: Path, patches: list[Path]) -> None:
    """Apply ``patches`` to the copied module tree."""
    git = shutil.which("git")
    if git is None:
        raise LocalServerError("git is needed to apply the FerretDB patches (git apply)")
    # The tree is no repository: keep git from finding one above it.
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(tree.parent))
    for patch in patches:
        try:
            _run([git, "apply", "--check", str(patch)], cwd=tree, env=env)
        except LocalServerError as exc:
            raise LocalServerError(f"cannot apply FerretDB patch {patch.name}: {exc}") from None
        _run([git, "apply", str(patch)], cwd=tree, env=env)
        _info(f"patched FerretDB: {patch.name}")


def provision(kind: str) -> None:
    """Download/build the server binaries for ``kind`` into the cache (no-op when cached)."""
    _check_args(kind, "default")
    with _locked(local_home() / f".provision-{kind}.lock", timeout=1800):
        if kind == "kafka":
            _provision_kafka()
        else:
            _provision_ferretdb()


# --------------------------------------------------------------------------- processes


def _pid_alive(pid: int) -> bool:
    proc = _CHILDREN.get(pid)
    if proc is not None:
        if proc.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return False
    except (OSError, IndexError):
        pass
    return True


def _cmdline_marker(kind: str, instance: str) -> str:
    home = _instance_dir(kind, instance)
    return str(home / "server.properties") if kind == "kafka" else f"--state-dir={home / 'state'}"


def _our_pid(kind: str, instance: str) -> int | None:
    """Return the pid from the pid file if that process is alive and is our server."""
    pid_file = _instance_dir(kind, instance) / "server.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 0 or not _pid_alive(pid):
        return None
    if Path("/proc/self").exists():  # Linux: make sure the pid was not reused by another program
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return None
        if _cmdline_marker(kind, instance) not in args:
            return None
    return pid


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise LocalServerError(f"${name} must be an integer port, got {raw!r}") from None


def _choose_ports(kind: str, port: int | None, previous: dict[str, object]) -> dict[str, int]:
    """Pick ports: explicit arg > env > this instance's last ports > defaults; 0 = free ports.

    With ``port`` given (0 or N), the controller port (Kafka) is the instance's last one if
    still free, else a free one, so extra instances never collide with the default one.
    """
    names = ("port", "controller_port") if kind == "kafka" else ("port",)
    prev = {name: _as_int(previous.get(name)) for name in names}
    if port is None:  # env var if set, else the ports this instance used last time, else defaults
        defaults = {
            "port": ("BINHYEN_LOCAL_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            "controller_port": (
                "BINHYEN_LOCAL_KAFKA_CONTROLLER_PORT",
                DEFAULT_KAFKA_CONTROLLER_PORT,
            ),
        }
        if kind == "ferretdb":
            defaults = {"port": ("BINHYEN_LOCAL_FERRETDB_PORT", DEFAULT_FERRETDB_PORT)}
        return {
            name: _env_port(env, prev[name] or default) for name, (env, default) in defaults.items()
        }
    chosen: dict[str, int] = {}
    if port != 0:
        chosen["port"] = port
    for name in names:
        if name not in chosen:
            old = prev[name]
            if old and old not in chosen.values() and _port_free(old):
                chosen[name] = old
    missing = [n for n in names if n not in chosen]
    while missing:
        for name, free in zip(missing, _free_ports(len(missing)), strict=True):
            if free not in chosen.values():
                chosen[name] = free
        missing = [n for n in names if n not in chosen]
    return chosen


def _kafka_cluster_id() -> str:
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


KAFKA_ADMIN = "admin"
KAFKA_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def _admin_password_file(instance: str) -> Path:
    return _instance_dir("kafka", instance) / "admin.password"


def _kafka_admin_password(instance: str) -> str | None:
    """The super user's password of a secure Kafka instance; None for a PLAINTEXT one."""
    try:
        return _admin_password_file(instance).read_text().strip() or None
    except FileNotFoundError:
        return None


def _new_admin_password(instance: str) -> str:
    path = _admin_password_file(instance)
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password


def _secure_properties(port: int, password: str) -> dict[str, str]:
    """SASL on both listeners, ACLs enforced, one super user (``admin``).

    Clients authenticate with SCRAM-SHA-512 (users live in the cluster metadata, created at
    format time or later with the admin API). The controller listener takes PLAIN with the
    same super user: KRaft controllers cannot check SCRAM (the credentials are in the
    metadata they serve), and an unauthenticated controller listener would let anyone on
    the machine in as ANONYMOUS.
    """
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    return {
        "listeners": f"SASL_PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{{controller_port}}",
        "advertised.listeners": f"SASL_PLAINTEXT://{HOST}:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            f'{plain} required username="{KAFKA_ADMIN}" password="{password}" '
            f'user_{KAFKA_ADMIN}="{password}";'
        ),
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": (
            f'{scram} required username="{KAFKA_ADMIN}" password="{password}";'
        ),
        "authorizer.class.name": KAFKA_AUTHORIZER,
        "super.users": f"User:{KAFKA_ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
    }


def _kafka_properties(
    home: Path, port: int, controller_port: int, admin_password: str | None = None
) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(home / "data"),
        "num.partitions": "12",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "12",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "12",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
        # Tests delete their topics; free the files soon (open files are limited here).
        "file.delete.delay.ms": "1000",
        # Small footprint for a dev/test box.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        "log.cleaner.backoff.ms": "1000",
        # Fast shutdown.
        "controlled.shutdown.enable": "true",
        "controlled.shutdown.max.retries": "1",
        "controlled.shutdown.retry.backoff.ms": "100",
    }
    if admin_password is not None:
        secure = _secure_properties(port, admin_password)
        secure["listeners"] = secure["listeners"].format(controller_port=controller_port)
        props |= secure
    lines = ["# Generated by deploy/local/localservers.py; rewritten on every start."]
    lines += [f"{key}={value}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def _kafka_command(java: str, home: Path) -> list[str]:
    lib = _kafka_dir() / "lib"
    return [
        java,
        KAFKA_HEAP,
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        # Keep logging until the broker's own shutdown hook has finished.
        "-Dlog4j2.shutdownHookEnabled=false",
        f"-Dkafka.logs.dir={home / 'logs'}",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J2}",
        "-cp",
        f"{lib}/*",
        "kafka.Kafka",
        str(home / "server.properties"),
    ]


def _format_kafka_storage(java: str, home: Path, admin_password: str | None) -> None:
    data = home / "data"
    if (data / "meta.properties").exists():
        return
    cluster_id = _kafka_cluster_id()
    _info(f"formatting Kafka storage in {data} (cluster id {cluster_id})")
    lib = _kafka_dir() / "lib"
    cmd = [
        java,
        "-Xmx256m",
        f"-Dkafka.logs.dir={home / 'logs'}",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J2}",
        "-cp",
        f"{lib}/*",
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        str(home / "server.properties"),
    ]
    if admin_password is not None:
        # The super user exists before the broker starts: it is also the inter-broker user.
        cmd += ["--add-scram", f"SCRAM-SHA-512=[name={KAFKA_ADMIN},password={admin_password}]"]
    _run(cmd)


def _ferretdb_command(home: Path, port: int) -> list[str]:
    return [
        str(_ferretdb_bin()),
        "--handler=sqlite",
        # WAL with synchronous=NORMAL: a commit survives the process being killed (the
        # fault suite's kill -9), and only an OS crash may lose the last ones; FULL's
        # fsync per commit was a sixth of the server's time under the notifications bench.
        f"--sqlite-url=file:{home / 'data'}/?_pragma=synchronous(NORMAL)",
        f"--state-dir={home / 'state'}",
        f"--listen-addr={HOST}:{port}",
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
        "--log-format=text",
    ]


# --------------------------------------------------------------------------- readiness


def _run_async_probe(probe: Callable[[], bool]) -> bool:
    """Run ``probe`` in a worker thread (safe even when called from a running event loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(probe).result()


def _kafka_ready(
    host: str, port: int, timeout: float = 5.0, admin_password: str | None = None
) -> bool:
    if not _tcp_open(host, port):
        return False
    try:
        from aiokafka.admin import AIOKafkaAdminClient
    except ImportError:
        raise LocalServerError(
            "aiokafka is needed to check Kafka readiness: pip install aiokafka"
        ) from None

    async def probe() -> bool:
        sasl: dict[str, str] = {}
        if admin_password is not None:
            sasl = {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": KAFKA_ADMIN,
                "sasl_plain_password": admin_password,
            }
        client = AIOKafkaAdminClient(
            bootstrap_servers=f"{host}:{port}",
            request_timeout_ms=int(timeout * 1000),
            client_id="binhyen-localservers",
            **sasl,
        )
        try:
            await client.start()
            cluster = await client.describe_cluster()
            return bool(cluster.get("brokers"))
        finally:
            await client.close()

    def run() -> bool:
        try:
            return asyncio.run(asyncio.wait_for(probe(), timeout))
        except Exception:
            return False

    return _run_async_probe(run)


def _ferretdb_ready(host: str, port: int, timeout: float = 5.0) -> bool:
    if not _tcp_open(host, port):
        return False
    try:
        from pymongo import MongoClient
    except ImportError:
        raise LocalServerError(
            "pymongo is needed to check FerretDB readiness: pip install pymongo"
        ) from None
    ms = int(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://{host}:{port}/",
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        directConnection=True,
    )
    try:
        reply = client.admin.command("ping")
        return bool(reply.get("ok"))
    except Exception:
        return False
    finally:
        client.close()


def _ready(kind: str, instance: str, port: int, timeout: float = 5.0) -> bool:
    if kind == "kafka":
        return _kafka_ready(HOST, port, timeout, _kafka_admin_password(instance))
    return _ferretdb_ready(HOST, port, timeout)


def _server(kind: str, instance: str, pid: int, port: int) -> Server:
    home = _instance_dir(kind, instance)
    password = _kafka_admin_password(instance) if kind == "kafka" else None
    return Server(kind, instance, HOST, port, pid, home, _log_file(kind, instance), password)


def _wait_ready(kind: str, instance: str, pid: int, port: int, timeout: float) -> Server:
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        if not _pid_alive(pid):
            raise _not_ready_error(kind, instance, f"exited before becoming ready (pid {pid})")
        remaining = deadline - time.monotonic()
        if _ready(kind, instance, port, timeout=max(0.5, min(5.0, remaining))):
            return _server(kind, instance, pid, port)
        if time.monotonic() >= deadline:
            raise _not_ready_error(kind, instance, f"not ready after {timeout:.0f}s (pid {pid})")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def _not_ready_error(kind: str, instance: str, what: str) -> LocalServerError:
    log = _log_file(kind, instance)
    return LocalServerError(
        f"{kind} instance {instance!r} {what}.\nLog file: {log}\n"
        f"--- last {_LOG_TAIL_LINES} lines ---\n{_tail(log)}"
    )


# --------------------------------------------------------------------------- public API


def status(kind: str, instance: str = "default") -> Server | None:
    """Return the instance if it is running and ready, else None."""
    _check_args(kind, instance)
    pid = _our_pid(kind, instance)
    if pid is None:
        return None
    port = _as_int(_read_json(_instance_dir(kind, instance) / "instance.json").get("port"))
    if port is None or not _ready(kind, instance, port, timeout=3.0):
        return None
    return _server(kind, instance, pid, port)


def start(
    kind: str,
    instance: str = "default",
    port: int | None = None,
    timeout: float = 120,
    *,
    secure: bool = False,
) -> Server:
    """Start the instance (provisioning if needed) and wait until it is ready; idempotent.

    ``secure`` (Kafka only) starts a broker that takes only SCRAM users and enforces ACLs,
    with a super user ``admin`` whose password is in ``Server.admin_password``. The mode is
    chosen when the instance's storage is first formatted: wipe it to change it.
    """
    _check_args(kind, instance)
    if secure and kind != "kafka":
        raise LocalServerError(f"--secure is a Kafka option ({kind} has no users here)")
    provision(kind)
    with _locked(_instance_lock(kind, instance), timeout=timeout + 60):
        home = _instance_dir(kind, instance)
        info_file = home / "instance.json"
        previous = _read_json(info_file)
        pid = _our_pid(kind, instance)
        prev_port = _as_int(previous.get("port"))
        formatted = (home / "data" / "meta.properties").exists()
        if (
            kind == "kafka"
            and formatted
            and secure != (_kafka_admin_password(instance) is not None)
        ):
            raise LocalServerError(
                f"kafka/{instance} was formatted {'with' if not secure else 'without'} --secure; "
                f"wipe it to change (localservers.py wipe kafka --instance {instance})"
            )
        if pid is not None and prev_port is not None:
            if port not in (None, 0, prev_port):
                _info(
                    f"{kind}/{instance} already running on port {prev_port}; ignoring port {port}"
                )
            # Running already (maybe still starting): just wait for readiness.
            return _wait_ready(kind, instance, pid, prev_port, timeout)
        if pid is not None:  # ours but no port info: cannot use it
            _kill(pid, timeout=30)

        ports = _choose_ports(kind, port, previous)
        for name, value in ports.items():
            if not _port_free(value):
                raise LocalServerError(
                    f"cannot start {kind}/{instance}: {name} {HOST}:{value} is already in use "
                    "(another server? pick another port or stop it)"
                )
        for sub in ("logs", "data", "state"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        if kind == "kafka":
            java = _java()
            password = _kafka_admin_password(instance)
            if secure and password is None:
                password = _new_admin_password(instance)
            properties = home / "server.properties"
            properties.touch(mode=0o600)  # holds the super user's password when secure
            properties.chmod(0o600)
            properties.write_text(
                _kafka_properties(home, ports["port"], ports["controller_port"], password)
            )
            _format_kafka_storage(java, home, password)
            cmd = _kafka_command(java, home)
        else:
            cmd = _ferretdb_command(home, ports["port"])

        log = _log_file(kind, instance)
        _info(f"starting {kind}/{instance} on {HOST}:{ports['port']} (log {log})")
        with log.open("ab") as out:
            out.write(
                f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(cmd)}\n".encode()
            )
            out.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(os.environ, DO_NOT_TRACK="1", FERRETDB_TELEMETRY="disable"),
            )
        _CHILDREN[proc.pid] = proc
        (home / "server.pid").write_text(f"{proc.pid}\n")
        record: dict[str, object] = {
            "kind": kind,
            "instance": instance,
            "host": HOST,
            "pid": proc.pid,
            "version": KAFKA_VERSION if kind == "kafka" else FERRETDB_VERSION,
            "started_at": time.time(),
            **ports,
        }
        _write_json(info_file, record)
        t0 = time.monotonic()
        try:
            server = _wait_ready(kind, instance, proc.pid, ports["port"], timeout)
        except BaseException:
            _kill(proc.pid, timeout=10)
            (home / "server.pid").unlink(missing_ok=True)
            raise
        _info(
            f"{kind}/{instance} ready at {server.address}"
            f" in {time.monotonic() - t0:.1f}s (pid {proc.pid})"
        )
        return server


def _kill(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid``, wait ``timeout``, then SIGKILL; True if it exited on SIGTERM."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        _CHILDREN.pop(pid, None)
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            _CHILDREN.pop(pid, None)
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    kill_deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < kill_deadline:
        time.sleep(0.05)
    _CHILDREN.pop(pid, None)
    return False


def stop(kind: str, instance: str = "default", timeout: float = 30) -> None:
    """Stop the instance (SIGTERM, then SIGKILL after ``timeout``); keeps its data."""
    _check_args(kind, instance)
    home = _instance_dir(kind, instance)
    if not home.exists():
        return
    with _locked(_instance_lock(kind, instance), timeout=timeout + 60):
        pid = _our_pid(kind, instance)
        if pid is not None:
            t0 = time.monotonic()
            graceful = _kill(pid, timeout)
            how = "stopped" if graceful else f"killed (no exit within {timeout:.0f}s of SIGTERM)"
            _info(f"{kind}/{instance} {how} in {time.monotonic() - t0:.1f}s")
        (home / "server.pid").unlink(missing_ok=True)


def wipe(kind: str, instance: str = "default") -> None:
    """Stop the instance and delete all its data, logs and recorded ports."""
    stop(kind, instance)
    with _locked(_instance_lock(kind, instance), timeout=60):
        home = _instance_dir(kind, instance)
        if home.exists():
            shutil.rmtree(home)
            _info(f"{kind}/{instance} wiped ({home})")
    _instance_lock(kind, instance).unlink(missing_ok=True)


# --------------------------------------------------------------------------- CLI

_ENV_NAMES = {"kafka": "BINHYEN_KAFKA_BOOTSTRAP", "ferretdb": "BINHYEN_MONGODB_URI"}


def _print_server(server: Server) -> None:
    print(f"{_ENV_NAMES[server.kind]}={server.address}", flush=True)
    if server.secure:
        # The password itself stays in its file (mode 600), out of terminals and logs.
        print(
            "BINHYEN_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n"
            f"BINHYEN_KAFKA_USERNAME={KAFKA_ADMIN}\n"
            f"BINHYEN_KAFKA_PASSWORD_FILE={_admin_password_file(server.instance)}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Run the command line interface."""
    parser = argparse.ArgumentParser(
        prog="localservers.py",
        description="Provision/start/stop/wipe local Kafka (KRaft) and FerretDB without Docker.",
    )
    parser.add_argument("command", choices=("provision", "start", "stop", "wipe", "status"))
    parser.add_argument("kind", nargs="?", default="all", choices=(*KINDS, "all"))
    parser.add_argument(
        "--instance", default="default", help="instance name (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=None, help="listen port; 0 = pick a free port")
    parser.add_argument("--timeout", type=float, default=None, help="start/stop timeout in seconds")
    parser.add_argument(
        "--secure",
        action="store_true",
        help="Kafka: SASL/SCRAM users and ACLs, super user 'admin' (chosen at first start)",
    )
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.kind == "all" else [args.kind]
    if args.port is not None and len(kinds) > 1:
        parser.error("--port needs a single kind (kafka or ferretdb)")

    try:
        if args.command == "provision":
            _parallel(kinds, provision)
        elif args.command == "start":
            timeout = 120.0 if args.timeout is None else args.timeout
            _parallel(kinds, provision)
            servers = _parallel(
                kinds,
                lambda k: start(
                    k, args.instance, args.port, timeout, secure=args.secure and k == "kafka"
                ),
            )
            for server in servers:
                _print_server(server)
        elif args.command == "stop":
            timeout = 30.0 if args.timeout is None else args.timeout
            _parallel(kinds, lambda k: stop(k, args.instance, timeout))
        elif args.command == "wipe":
            _parallel(kinds, lambda k: wipe(k, args.instance))
        else:
            missing = 0
            for kind in kinds:
                found = status(kind, args.instance)
                if found is None:
                    _info(f"{kind}/{args.instance}: not running")
                    missing += 1
                else:
                    _info(f"{kind}/{args.instance}: ready at {found.address} (pid {found.pid})")
                    _print_server(found)
            return 1 if missing else 0
    except LocalServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _parallel(kinds: list[str], fn: Callable[[str], _T]) -> list[_T]:
    """Run ``fn`` for each kind concurrently; results in ``kinds`` order, first error re-raised."""
    if len(kinds) == 1:
        return [fn(kinds[0])]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        futures = [pool.submit(fn, kind) for kind in kinds]
        return [f.result() for f in futures]


if __name__ == "__main__":
    sys.exit(main())
