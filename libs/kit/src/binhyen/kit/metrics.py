"""Prometheus metrics shared by every service.

Label values come from bounded sets only (route templates, known methods, status codes):
a path or a method a caller invents must not add a series.
"""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "binhyen_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "binhyen_http_request_seconds", "HTTP request latency", ["method", "route"]
)
OUTBOX_RELAYED = Counter("binhyen_outbox_relayed_total", "Outbox events acked by Kafka", ["topic"])
OUTBOX_PENDING_SECONDS = Histogram(
    "binhyen_outbox_delay_seconds", "Time from write to Kafka ack of an outbox event"
)
CONSUMED = Counter("binhyen_consumed_total", "Messages handled by consumers", ["topic", "outcome"])
OUTBOX_PARKED = Counter(
    "binhyen_outbox_parked_total",
    "Outbox events Kafka refused for good, parked for an operator",
    ["topic"],
)
OUTBOX_PARKED_NOW = Gauge(
    "binhyen_outbox_parked_entries",
    "Outbox events parked now (their documents' later events wait)",
    ["database"],
)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def method_label(method: str) -> str:
    """The method as a label: one of the standard ones, or ``other``."""
    return method if method in HTTP_METHODS else "other"


def status_label(status: int) -> str:
    """The status as a label: a real HTTP status, or ``other``."""
    return str(status) if 100 <= status <= 599 else "other"
