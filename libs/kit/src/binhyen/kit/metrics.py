"""Prometheus metrics shared by every service."""

from prometheus_client import Counter, Histogram

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
