"""`make run`: start infrastructure, the services and the Kỳ Nam demo data; Ctrl-C stops it all.

With a Docker engine it hands over to `docker compose up`. Without one it starts the
local Kafka and FerretDB of deploy/local/ and runs each service as a process.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets as random_secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import localservers  # noqa: E402
import make_secrets  # noqa: E402
import sms_sandbox  # noqa: E402

from binhyen.incidents.demo import load_demo_at as load_incidents_demo_at  # noqa: E402
from binhyen.kit.operations import demo_password  # noqa: E402
from binhyen.kit.topics import create_topics, load_topics  # noqa: E402
from binhyen.notifications.demo import describe as describe_drill  # noqa: E402
from binhyen.notifications.demo import run_drill_at  # noqa: E402
from binhyen.registry.demo import DemoResult, load_demo_at  # noqa: E402
from binhyen.reporting.demo import describe as describe_history  # noqa: E402
from binhyen.reporting.demo import load_history_at  # noqa: E402

SERVICES = {"registry": 8001, "incidents": 8002, "notifications": 8003, "reporting": 8004}
SMS_SANDBOX_PORT = 8009  # deploy/local/sms_sandbox.py: notifications' SMS provider here
TOPICS_FILE = ROOT / "deploy" / "kafka" / "topics.json"
# Local demo only: the registry creates this administrator at its first start; its password
# is made at the first `make run` and kept with the other secrets (or set it before make run).
ADMIN = os.environ.get("BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_USERNAME", "admin")


def secrets_dir() -> Path:
    """Where `make run` keeps the secrets of this machine's installation (mode 0700)."""
    return localservers.local_home() / "secrets"


def admin_password(directory: Path) -> str:
    """The administrator's password: the one set in the environment, else the generated one."""
    given = os.environ.get("BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_PASSWORD")
    return given or (directory / make_secrets.ADMIN_PASSWORD).read_text().strip()


def service_env(name: str, port: int, *, kafka: str, mongodb: str, secrets: Path) -> dict[str, str]:
    """The environment `make run` adds for one service: servers, port and secret files."""
    prefix = f"BINHYEN_{name.upper()}_"
    env = make_secrets.file_variables(secrets) | {
        "BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_USERNAME": ADMIN,
        prefix + "MONGODB_URI": mongodb,
        prefix + "KAFKA_BOOTSTRAP": kafka,
        prefix + "HTTP_PORT": str(port),
    }
    if name != "registry":  # the registry issues the tokens every other service checks
        registry = f"http://127.0.0.1:{SERVICES['registry']}"
        env[prefix + "AUTH_ISSUER"] = registry
        env[prefix + "AUTH_JWKS_URL"] = f"{registry}/.well-known/jwks.json"
    if name == "notifications":
        env[prefix + "PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # acknowledgement links
        # This local development run only: webhook and gateway stand-ins on this machine may be
        # reached (compose and production refuse loopback and private addresses).
        env[prefix + "ALLOW_PRIVATE_TARGETS"] = "true"
    return env


def sms_sandbox_env(credentials: dict[str, str], callback_secret: str) -> dict[str, str]:
    """What points notifications at the local SMS sandbox (eSMS shape).

    The credentials are made per run (the sandbox keeps nothing), so they travel by environment
    to both processes instead of the secrets directory; `sms_secrets` is a JSON object, which a
    `_FILE` variable cannot carry.
    """
    prefix = "BINHYEN_NOTIFICATIONS_"
    path = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"  # the eSMS send API
    wanted = {"api_key": credentials["api_key"], "secret_key": credentials["secret_key"]}
    return {
        prefix + "SMS_PROFILE": "esms",
        prefix + "SMS_URL": f"http://127.0.0.1:{SMS_SANDBOX_PORT}{path}",
        prefix + "SMS_SECRETS": json.dumps(wanted),
        prefix + "SMS_SENDER": "BINHYEN",
        prefix + "SMS_CALLBACK_SECRET": callback_secret,
    }


def start_sms_sandbox(credentials: dict[str, str]) -> subprocess.Popen[bytes]:
    """The SMS sandbox process; it reports each message delivered a second after taking it."""
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy" / "local" / "sms_sandbox.py"),
            "--port",
            str(SMS_SANDBOX_PORT),
            "--report-delivery",
            "1",
        ],
        env=os.environ | sms_sandbox.sandbox_env(credentials),
        stdout=subprocess.DEVNULL,
    )


def docker_answers() -> bool:
    """True when a Docker engine answers (not just the client being installed)."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return result.returncode == 0


def http(method: str, url: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    """A JSON request; returns the decoded body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_ready(
    name: str,
    port: int,
    proc: subprocess.Popen[bytes],
    timeout: float = 90,
    path: str = "/readyz",
) -> None:
    """Wait until the service answers ``path`` (/readyz), or fail with its exit code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode}; see its log above")
        try:
            http("GET", f"http://127.0.0.1:{port}{path}")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit(f"{name} was not ready after {timeout:.0f}s")


def run_local() -> int:
    """Local servers plus one process per service, until Ctrl-C."""
    secrets = secrets_dir()
    made = make_secrets.ensure_secrets(secrets)
    if made:
        print(f"made {len(made)} secret(s) in {secrets}", file=sys.stderr, flush=True)
    password = admin_password(secrets)
    started: list[str] = []
    for kind in ("kafka", "ferretdb"):
        if localservers.status(kind) is None:
            started.append(kind)
    kafka = localservers.start("kafka")
    ferretdb = localservers.start("ferretdb")
    # The deploy step that creates the topics (services never create them).
    created = asyncio.run(create_topics(kafka.address, load_topics(TOPICS_FILE)))
    print(f"{len(created)} Kafka topic(s) created", file=sys.stderr, flush=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def shutdown(signum: int = 0, frame: FrameType | None = None) -> None:
        print("\nstopping …", file=sys.stderr)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for kind in started:
            localservers.stop(kind)
        raise SystemExit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        sms_credentials = {
            name: random_secrets.token_urlsafe(24)
            for name in ("api_key", "secret_key", "speedsms_token", "zalo_token")
        }
        procs["sms-sandbox"] = start_sms_sandbox(sms_credentials)
        wait_ready("sms-sandbox", SMS_SANDBOX_PORT, procs["sms-sandbox"], path="/_inbox")
        sms = sms_sandbox_env(sms_credentials, random_secrets.token_urlsafe(32))
        for name, port in SERVICES.items():
            env = os.environ | service_env(
                name, port, kafka=kafka.address, mongodb=ferretdb.address, secrets=secrets
            )
            if name == "notifications":
                env |= sms
            procs[name] = subprocess.Popen([sys.executable, "-m", f"binhyen.{name}"], env=env)
        for name, port in SERVICES.items():
            wait_ready(name, port, procs[name])
        print("loading the Kỳ Nam demo data …", file=sys.stderr, flush=True)
        result = asyncio.run(
            load_demo_at(
                f"http://127.0.0.1:{SERVICES['registry']}",
                admin_username=ADMIN,
                admin_password=password,
                demo_password=demo_password(),
            )
        )
        print("filing demo incidents …", file=sys.stderr, flush=True)
        counts = asyncio.run(
            load_incidents_demo_at(
                f"http://127.0.0.1:{SERVICES['incidents']}",
                f"http://127.0.0.1:{SERVICES['registry']}",
                password=demo_password(),
            )
        )
        print(
            "demo incidents: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
            file=sys.stderr,
        )
        print("striking the drill gong in Tân Thành …", file=sys.stderr, flush=True)
        drill = asyncio.run(
            run_drill_at(
                f"http://127.0.0.1:{SERVICES['notifications']}",
                f"http://127.0.0.1:{SERVICES['registry']}",
                password=demo_password(),
            )
        )
        print(describe_drill(drill), file=sys.stderr)
        print(
            "loading two years of history (EY2025, EY2026) and waiting for reporting …",
            file=sys.stderr,
            flush=True,
        )
        history = asyncio.run(
            load_history_at(
                f"http://127.0.0.1:{SERVICES['reporting']}",
                f"http://127.0.0.1:{SERVICES['registry']}",
                f"http://127.0.0.1:{SERVICES['incidents']}",
                password=demo_password(),
            )
        )
        print(describe_history(history), file=sys.stderr)
        shown = password if make_secrets.ADMIN_PASSWORD in made else None
        print_urls(kafka.address, ferretdb.address, result, secrets, shown)
        while all(proc.poll() is None for proc in procs.values()):
            time.sleep(1)
        failed = [name for name, proc in procs.items() if proc.poll() is not None]
        print(f"{', '.join(failed)} stopped unexpectedly", file=sys.stderr)
        shutdown()
    except BaseException:
        error = sys.exc_info()[1]
        if not isinstance(error, SystemExit):
            if not isinstance(error, KeyboardInterrupt):
                traceback.print_exc()  # shutdown() exits: say why first
            shutdown()
        raise
    return 0


def print_urls(
    kafka: str, mongodb: str, demo: DemoResult, secrets: Path, new_password: str | None
) -> None:
    """Tell the user where everything is and how to log in (the admin password only once)."""
    if new_password is not None:
        admin = f"password {new_password!r}, shown this once"
    else:
        admin = f"password in {secrets / make_secrets.ADMIN_PASSWORD}"
    registry = f"http://127.0.0.1:{SERVICES['registry']}"
    incidents = f"http://127.0.0.1:{SERVICES['incidents']}"
    notifications = f"http://127.0.0.1:{SERVICES['notifications']}"
    reporting = f"http://127.0.0.1:{SERVICES['reporting']}"
    ids = demo.units
    print(
        f"""
Bình Yên is running (Ctrl-C stops everything this command started).
  registry       {registry}/docs
  incidents      {incidents}/docs
  notifications  {notifications}/docs
  reporting      {reporting}/docs
  SMS sandbox    http://127.0.0.1:{SMS_SANDBOX_PORT}/  (what notifications "sent"; no phone gets it)
  Kafka          {kafka}
  MongoDB        {mongodb}  (FerretDB)

Demo: Hà Tĩnh → Kỳ Anh → Kỳ Nam → Tân Thành, Quý Huệ; {demo.households} households; for
reporting a third hamlet, Hòa Lộc, and two years of history (EY2025, EY2026).
Accounts (password {demo.password!r}): {", ".join(demo.accounts)}; administrator {ADMIN!r}
({admin}).
Secrets of this installation (tip and link secrets, signing key): {secrets}

Log in, create a hamlet under Kỳ Nam, then read it from incidents with the id it answers:
  TOKEN=$(curl -s {registry}/api/v1/auth/token -d grant_type=password \\
    -d username=ky-nam -d password={demo.password} \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s {registry}/api/v1/units -H "Authorization: Bearer $TOKEN" \\
    -H 'Content-Type: application/json' \\
    -d '{{"kind": "hamlet", "name": "Thôn Mới", "parent_id": "{ids["ky-nam"]}"}}'
  curl -s {incidents}/api/v1/hamlets/<id> -H "Authorization: Bearer $TOKEN"

Incidents in Kỳ Nam (filter, search without diacritics, GeoJSON for maps):
  curl -s "{incidents}/api/v1/incidents?q=ma+tuy" -H "Authorization: Bearer $TOKEN"
  curl -s {incidents}/api/v1/incidents/map -H "Authorization: Bearer $TOKEN"
  curl -s {incidents}/open311/v2/services.json

The drill gong struck in Tân Thành (log in as tan-thanh to read the report with names):
  curl -s "{notifications}/api/v1/alerts?unit_id={ids["tan-thanh"]}" \\
    -H "Authorization: Bearer $TOKEN"

Kỳ Nam's evaluation year 2026 beside 2025 (incidents, mediation, pledges, teams, alerts):
  curl -s "{reporting}/api/v1/statistics?unit_id={ids["ky-nam"]}&period=EY2026" \\
    -H "Authorization: Bearer $TOKEN"
""",
        flush=True,
    )


def main() -> int:
    """Docker compose when an engine answers, otherwise local servers and processes."""
    if docker_answers():
        print("Docker engine found: docker compose up --build", file=sys.stderr)
        return subprocess.call(["docker", "compose", "up", "--build"], cwd=ROOT)
    print("No Docker engine: starting local Kafka and FerretDB (deploy/local)", file=sys.stderr)
    return run_local()


if __name__ == "__main__":
    raise SystemExit(main())
