"""The random secrets of a local installation (`make run`, docker compose), made at first start.

    python deploy/local/make_secrets.py DIR           make the missing ones (keeps the others)
    python deploy/local/make_secrets.py DIR --rotate  the tip secret, the link secret and the
                                                      signing key become the previous ones; new
                                                      current ones are made

Each secret is a file of DIR (mode 0600, DIR 0700) that the services read through their
`<VARIABLE>_FILE` settings. A `*-previous` file is empty until a rotation (an empty file counts
as unset). Nothing here is for production: there the operator's secret store provides them
(deploy/k8s/README.md). Needs only the standard library and `cryptography`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

TIP_SECRET = "incidents-tip-secret"  # noqa: S105 (file names, here and below)
TIP_SECRET_PREVIOUS = "incidents-tip-secret-previous"  # noqa: S105
LINK_SECRET = "notifications-link-secret"  # noqa: S105 (signs acknowledgement links)
LINK_SECRET_PREVIOUS = "notifications-link-secret-previous"  # noqa: S105
VAPID_KEY = "notifications-vapid-private-key.pem"  # Web Push (VAPID) signing key
SMS_CALLBACK_SECRET = "notifications-sms-callback-secret"  # noqa: S105 (checks reports)
# Provider credentials the operator writes in (empty until then: that channel stays off).
SMS_CREDENTIALS = "notifications-sms-credentials.json"
ZNS_CREDENTIALS = "notifications-zns-credentials.json"
ZNS_CALLBACK_SECRET = "notifications-zns-oa-secret-key"  # noqa: S105 (Zalo gives it)
SMTP_PASSWORD = "notifications-smtp-password"  # noqa: S105
SIGNING_KEY = "registry-signing-key.pem"
SIGNING_KEY_PREVIOUS = "registry-signing-key-previous.pem"
ADMIN_PASSWORD = "registry-bootstrap-admin-password"  # noqa: S105
METRICS_TOKEN = "metrics-token"  # noqa: S105 (Prometheus sends it to every service)

# Which setting reads which file: `<VARIABLE>_FILE=DIR/<file>`.
FILE_OF = {
    "BINHYEN_INCIDENTS_TIP_SECRET": TIP_SECRET,
    "BINHYEN_INCIDENTS_TIP_SECRET_PREVIOUS": TIP_SECRET_PREVIOUS,
    "BINHYEN_NOTIFICATIONS_LINK_SECRET": LINK_SECRET,
    "BINHYEN_NOTIFICATIONS_LINK_SECRET_PREVIOUS": LINK_SECRET_PREVIOUS,
    "BINHYEN_NOTIFICATIONS_VAPID_PRIVATE_KEY": VAPID_KEY,
    "BINHYEN_NOTIFICATIONS_SMS_CALLBACK_SECRET": SMS_CALLBACK_SECRET,
    "BINHYEN_NOTIFICATIONS_SMS_SECRETS": SMS_CREDENTIALS,
    "BINHYEN_NOTIFICATIONS_ZNS_SECRETS": ZNS_CREDENTIALS,
    "BINHYEN_NOTIFICATIONS_ZNS_CALLBACK_SECRET": ZNS_CALLBACK_SECRET,
    "BINHYEN_NOTIFICATIONS_SMTP_PASSWORD": SMTP_PASSWORD,
    "BINHYEN_REGISTRY_SIGNING_KEY_PEM": SIGNING_KEY,
    "BINHYEN_REGISTRY_SIGNING_KEY_PREVIOUS_PEM": SIGNING_KEY_PREVIOUS,
    "BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "BINHYEN_REGISTRY_METRICS_TOKEN": METRICS_TOKEN,
    "BINHYEN_INCIDENTS_METRICS_TOKEN": METRICS_TOKEN,
    "BINHYEN_NOTIFICATIONS_METRICS_TOKEN": METRICS_TOKEN,
    "BINHYEN_REPORTING_METRICS_TOKEN": METRICS_TOKEN,
}
ROTATED = {
    TIP_SECRET: TIP_SECRET_PREVIOUS,
    LINK_SECRET: LINK_SECRET_PREVIOUS,
    SIGNING_KEY: SIGNING_KEY_PREVIOUS,
}


def _vapid_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _signing_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


MAKERS: dict[str, Callable[[], str]] = {
    TIP_SECRET: lambda: secrets.token_urlsafe(32),
    TIP_SECRET_PREVIOUS: lambda: "",
    LINK_SECRET: lambda: secrets.token_urlsafe(32),
    LINK_SECRET_PREVIOUS: lambda: "",
    VAPID_KEY: _vapid_key,
    SMS_CALLBACK_SECRET: lambda: secrets.token_urlsafe(32),
    SMS_CREDENTIALS: lambda: "",
    ZNS_CREDENTIALS: lambda: "",
    ZNS_CALLBACK_SECRET: lambda: "",
    SMTP_PASSWORD: lambda: "",
    SIGNING_KEY: _signing_key,
    SIGNING_KEY_PREVIOUS: lambda: "",
    ADMIN_PASSWORD: lambda: secrets.token_urlsafe(18),
    METRICS_TOKEN: lambda: secrets.token_hex(24),
}


def _write_once(path: Path, content: str, *, owner: tuple[int, int] | None) -> bool:
    """Create ``path`` with ``content`` (mode 0600) unless it exists; True if created."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content + "\n" if content else "")
        if owner is not None:
            os.chown(temporary, *owner)
        try:
            os.link(temporary, path)  # fails if another start made it first: theirs is kept
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink()


def ensure_secrets(directory: Path, *, owner: tuple[int, int] | None = None) -> list[str]:
    """Make the missing secret files of ``directory``; the names of those made."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    if owner is not None:
        os.chown(directory, *owner)
    made = []
    for name, make in MAKERS.items():
        path = directory / name
        if not path.exists() and _write_once(path, make(), owner=owner):
            made.append(name)
        path.chmod(0o600)  # also tightens a file someone loosened
    return made


def rotate(directory: Path, *, owner: tuple[int, int] | None = None) -> None:
    """Current tip secret, link secret and signing key become the previous ones; new ones
    are made."""
    for current, previous in ROTATED.items():
        with contextlib.suppress(FileNotFoundError):
            os.replace(directory / current, directory / previous)
    ensure_secrets(directory, owner=owner)


def file_variables(directory: Path) -> dict[str, str]:
    """The `<VARIABLE>_FILE` environment that points each setting at its file."""
    return {f"{name}_FILE": str(directory / file) for name, file in FILE_OF.items()}


def main() -> int:
    """Make (or rotate) the secrets of DIR; print the administrator password when it is new."""
    parser = argparse.ArgumentParser(prog="make_secrets", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--rotate", action="store_true", help="rotate the tip and link secrets and the signing key"
    )
    parser.add_argument("--owner", help="UID:GID to give the files (a container's user)")
    args = parser.parse_args()
    owner = None
    if args.owner:
        uid, _, gid = args.owner.partition(":")
        if not (uid.isdigit() and gid.isdigit()):
            parser.error("--owner is UID:GID")
        owner = (int(uid), int(gid))
    if args.rotate:
        rotate(args.directory, owner=owner)
        print(
            "rotated the tip and link secrets and the signing key; restart the services",
            file=sys.stderr,
        )
        return 0
    made = ensure_secrets(args.directory, owner=owner)
    if ADMIN_PASSWORD in made:
        password = (args.directory / ADMIN_PASSWORD).read_text().strip()
        print(f"administrator password (shown once, kept in the secrets): {password}")
    print(f"{len(made)} secret(s) made in {args.directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
