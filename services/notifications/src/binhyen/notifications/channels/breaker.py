"""A circuit breaker per target: stop calling an endpoint that keeps failing, probe it later.

closed --N consecutive failures--> open --cool-down elapsed--> half-open (one probe)
half-open --probe succeeds--> closed;  half-open --probe fails--> open (a new cool-down).

Pure logic with an injectable clock; one event loop uses it, so no locks. The state lives in
each replica's memory: a breaker only spares the network, the dispatcher's retries and the
delivery records stay the source of truth. (Pattern: M. Nygard, "Release It!", and
https://martinfowler.com/bliki/CircuitBreaker.html.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """Where a target's breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False  # half-open: the one probe is in flight


class CircuitBreaker:
    """Breakers keyed by target (a webhook URL's origin, a provider host)."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_targets: int = 10_000,
    ) -> None:
        if failure_threshold < 1 or cool_down_seconds <= 0:
            raise ValueError("failure_threshold must be >= 1 and cool_down_seconds > 0")
        self.failure_threshold = failure_threshold
        self.cool_down_seconds = cool_down_seconds
        self._clock = clock
        self._max_targets = max_targets
        self._circuits: dict[str, _Circuit] = {}

    def state(self, key: str) -> State:
        """The state of ``key``'s breaker now."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return State.CLOSED
        if circuit.probing or self._remaining(circuit) <= 0:
            return State.HALF_OPEN
        return State.OPEN

    def acquire(self, key: str) -> float | None:
        """None when a call to ``key`` may go ahead, else the seconds until it may be probed."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return None
        remaining = self._remaining(circuit)
        if circuit.probing:
            # One probe at a time; the others wait at least a short while.
            return max(remaining, min(1.0, self.cool_down_seconds))
        if remaining > 0:
            return remaining
        circuit.probing = True  # this caller is the half-open probe
        return None

    def success(self, key: str) -> None:
        """The target answered (whatever it said): close the breaker."""
        self._circuits.pop(key, None)

    def failure(self, key: str) -> None:
        """The call failed in a way that says the target is unwell."""
        circuit = self._circuits.get(key)
        if circuit is None:
            if len(self._circuits) >= self._max_targets:
                self._forget_closed()
            circuit = self._circuits[key] = _Circuit()
        circuit.failures += 1
        if circuit.probing or circuit.failures >= self.failure_threshold:
            circuit.opened_at = self._clock()
            circuit.probing = False

    def abandon(self, key: str) -> None:
        """The call was cancelled before an answer: let the next caller probe instead."""
        circuit = self._circuits.get(key)
        if circuit is not None:
            circuit.probing = False

    def _remaining(self, circuit: _Circuit) -> float:
        if circuit.opened_at is None:
            return 0.0
        return circuit.opened_at + self.cool_down_seconds - self._clock()

    def _forget_closed(self) -> None:
        """Bound memory: drop circuits that are counting failures but not open."""
        for key in [k for k, c in self._circuits.items() if c.opened_at is None]:
            del self._circuits[key]
