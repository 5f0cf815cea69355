"""Where a process's database time goes: MongoDB commands counted and timed by shape.

For benchmarks (``bench/``): register a :class:`CommandStats` with ``pymongo.monitoring``
before any client opens, run the work, read :meth:`CommandStats.snapshot`. A command's
*shape* is its kind, collection and filter fields with how each is matched, values left
out: ``find g2_incidents {hamlet_id:$in≤500}``, ``update×3 incidents {_id:eq,version:eq} $set``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymongo import monitoring

# FerretDB (patch 0003) pushes an ``$in`` of at most this many values down to its index.
IN_PUSHDOWN_LIMIT = 500


def filter_shape(query: Any) -> str:
    """``{_id:eq,_outbox_until:$not}``: the fields of a filter and how each is matched."""
    if not isinstance(query, dict):
        return "{}"
    parts = []
    for key, value in query.items():
        ops = [k for k in value if k.startswith("$")] if isinstance(value, dict) else []
        op = "/".join(ops) or "eq"
        if op == "$in" and isinstance(value["$in"], list):
            op += "≤500" if len(value["$in"]) <= IN_PUSHDOWN_LIMIT else ">500"
        parts.append(f"{key}:{op}")
    return "{" + ",".join(parts) + "}"


def command_shape(name: str, command: Any) -> str:
    """A command by kind, collection and filter shape (values left out)."""
    target = command.get(name) if isinstance(command.get(name), str) else ""
    if name == "update":
        updates = command.get("updates") or [{}]
        first = updates[0]
        ops = ",".join(first.get("u", {})) if isinstance(first.get("u"), dict) else "pipeline"
        multi = " multi" if first.get("multi") else ""
        return f"update×{len(updates)} {target} {filter_shape(first.get('q'))} {ops}{multi}"
    if name in ("find", "count", "aggregate"):
        return f"{name} {target} {filter_shape(command.get('filter', command.get('query')))}"
    if name == "delete":
        return f"delete {target} {filter_shape((command.get('deletes') or [{}])[0].get('q'))}"
    if name == "findAndModify":
        return f"findAndModify {target} {filter_shape(command.get('query'))}"
    if name == "insert":
        return f"insert×{len(command.get('documents') or [])} {target}"
    return f"{name} {target}".strip()


class CommandStats(monitoring.CommandListener, monitoring.ConnectionPoolListener):
    """Commands by shape: how many, their server round-trip time (µs), the documents or
    statements they carried; and how often and how long a pooled connection was waited for."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.micros: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.checkouts = 0
        self.checkout_seconds = 0.0
        self._shapes: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Remember the command's shape and how many documents or statements it carries."""
        shape = command_shape(event.command_name, event.command)
        self._shapes[event.request_id] = shape
        for key in ("documents", "updates"):
            self.items[shape] += len(event.command.get(key) or [])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Count it and its time."""
        shape = self._shapes.pop(event.request_id, event.command_name)
        self.count[shape] += 1
        self.micros[shape] += event.duration_micros

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Count a failure too."""
        shape = self._shapes.pop(event.request_id, event.command_name) + " FAILED"
        self.count[shape] += 1
        self.micros[shape] += event.duration_micros

    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None:
        """Time spent waiting for a pooled connection."""
        self.checkouts += 1
        self.checkout_seconds += float(getattr(event, "duration", 0.0) or 0.0)

    def snapshot(self) -> dict[str, Any]:
        """The counters so far (plain dicts, JSON-ready)."""
        return {
            "commands": dict(self.count),
            "micros": dict(self.micros),
            "items": dict(self.items),
            "checkouts": self.checkouts,
            "checkout_seconds": self.checkout_seconds,
        }

    # The other pool events are not needed.
    def pool_created(self, event: Any) -> None:
        """Unused."""

    def pool_ready(self, event: Any) -> None:
        """Unused."""

    def pool_cleared(self, event: Any) -> None:
        """Unused."""

    def pool_closed(self, event: Any) -> None:
        """Unused."""

    def connection_created(self, event: Any) -> None:
        """Unused."""

    def connection_ready(self, event: Any) -> None:
        """Unused."""

    def connection_closed(self, event: Any) -> None:
        """Unused."""

    def connection_check_out_started(self, event: Any) -> None:
        """Unused."""

    def connection_check_out_failed(self, event: Any) -> None:
        """Unused."""

    def connection_checked_in(self, event: Any) -> None:
        """Unused."""
