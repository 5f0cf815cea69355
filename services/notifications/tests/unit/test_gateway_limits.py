"""Rate limit (token bucket) and daily quota, on injected clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from binhyen.notifications.channels.gateway import LOCAL_TZ, DailyQuota, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_n_messages_at_rate_r_take_at_least_n_minus_one_over_r() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=5, burst=1, clock=clock)
    start = clock.now
    for _ in range(11):
        ok, wait = bucket.reserve(max_wait=10)
        assert ok
        clock.now += wait  # the caller waits, then sends
    assert clock.now - start >= (11 - 1) / 5 - 1e-9


def test_the_burst_goes_at_once_then_the_rate_holds() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    waits = [bucket.reserve(max_wait=10)[1] for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == 0.5 and waits[4] == 1.0


def test_a_wait_beyond_the_limit_is_refused_without_taking_a_token() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.reserve(max_wait=0) == (True, 0.0)
    ok, wait = bucket.reserve(max_wait=0.5)
    assert not ok and wait == 1.0
    clock.now += 1.0
    assert bucket.reserve(max_wait=0) == (True, 0.0)


def test_tokens_refill_up_to_the_burst_only() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    clock.now += 3600
    assert [bucket.reserve(0)[0] for _ in range(3)] == [True, True, False]


def test_quota_exhausted_waits_until_local_midnight_then_resets() -> None:
    now = datetime(2026, 12, 1, 22, 30, tzinfo=LOCAL_TZ)
    quota = DailyQuota(2, clock=lambda: now)
    assert quota.take() is None and quota.take() is None
    assert quota.take() == 90 * 60  # 22:30 → 00:00 Asia/Ho_Chi_Minh
    now += timedelta(minutes=91)  # 00:01 the next local day
    assert quota.take() is None


def test_the_quota_day_is_vietnam_local_not_utc() -> None:
    # 17:30 UTC is 00:30 the next day in Hồ Chí Minh City: a fresh quota
    utc = datetime(2026, 12, 1, 16, 59, tzinfo=UTC).astimezone(LOCAL_TZ)
    now = utc
    quota = DailyQuota(1, clock=lambda: now)
    assert quota.take() is None
    now = utc + timedelta(minutes=2)  # 17:01 UTC = 00:01 local, next day
    assert quota.take() is None
    assert quota.take() is not None


def test_a_give_back_uncounts_one_send() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=LOCAL_TZ)
    quota = DailyQuota(1, clock=lambda: now)
    assert quota.take() is None
    quota.give_back()
    assert quota.take() is None
