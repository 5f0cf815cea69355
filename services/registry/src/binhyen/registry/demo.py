"""Demo data: the units of the article, loaded through the public API (idempotent)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

# Hà Tĩnh → thị xã Kỳ Anh → xã Kỳ Nam → thôn Tân Thành, thôn Quý Huệ.
DEMO_UNITS: list[tuple[str, str, str, str | None]] = [
    ("ha-tinh", "province", "Hà Tĩnh", None),
    ("ky-anh", "town", "Kỳ Anh", "ha-tinh"),
    ("ky-nam", "commune", "Kỳ Nam", "ky-anh"),
    ("tan-thanh", "hamlet", "Tân Thành", "ky-nam"),
    ("quy-hue", "hamlet", "Quý Huệ", "ky-nam"),
]


def _post(url: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Idempotency-Key", key)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def wait_until_ready(base_url: str, timeout: float = 120) -> None:
    """Wait until the registry answers /readyz."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def load_demo(base_url: str) -> dict[str, str]:
    """Register the demo units; re-running returns the same ids (Idempotency-Key)."""
    ids: dict[str, str] = {}
    for slug, kind, name, parent in DEMO_UNITS:
        body: dict[str, Any] = {"kind": kind, "name": name, "valid_from": "2020-01-01"}
        if parent is not None:
            body["parent_id"] = ids[parent]
        ids[slug] = _post(f"{base_url}/api/v1/units", body, f"demo-{slug}")["id"]
    return ids
