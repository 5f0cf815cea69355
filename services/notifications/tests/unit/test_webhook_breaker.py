"""The circuit breaker: closed, open after N failures, one half-open probe, closed again."""

from __future__ import annotations

import pytest

from binhyen.notifications.channels.breaker import CircuitBreaker, State


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cool_down_seconds=30, clock=clock)


def test_opens_after_n_consecutive_failures(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        assert breaker.acquire("a") is None
        breaker.failure("a")
    assert breaker.state("a") is State.CLOSED
    breaker.failure("a")
    assert breaker.state("a") is State.OPEN
    assert breaker.acquire("a") == 30
    assert breaker.acquire("b") is None  # per target


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    breaker.failure("a")
    breaker.failure("a")
    breaker.success("a")
    breaker.failure("a")
    breaker.failure("a")
    assert breaker.state("a") is State.CLOSED


def test_half_open_lets_one_probe_through_and_its_success_closes(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        breaker.failure("a")
    clock.now += 12
    assert breaker.acquire("a") == 18
    clock.now += 18
    assert breaker.state("a") is State.HALF_OPEN
    assert breaker.acquire("a") is None  # the probe
    waiting = breaker.acquire("a")  # a second caller while the probe is out
    assert waiting is not None
    assert waiting > 0
    breaker.success("a")
    assert breaker.state("a") is State.CLOSED
    assert breaker.acquire("a") is None


def test_a_failed_probe_opens_for_another_cool_down(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.failure("a")
    clock.now += 30
    assert breaker.acquire("a") is None
    breaker.failure("a")
    assert breaker.state("a") is State.OPEN
    assert breaker.acquire("a") == 30


def test_an_abandoned_probe_lets_the_next_caller_probe(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        breaker.failure("a")
    clock.now += 30
    assert breaker.acquire("a") is None
    breaker.abandon("a")
    assert breaker.acquire("a") is None


def test_refuses_a_meaningless_configuration() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
