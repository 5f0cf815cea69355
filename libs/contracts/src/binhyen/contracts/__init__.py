"""Bình Yên event contracts: the public interface other agencies subscribe to."""

from binhyen.contracts.envelope import (
    CloudEvent,
    EventData,
    Sequenced,
    event_model,
    event_types,
    parse_event,
)
from binhyen.contracts.spec import TopicSpec
from binhyen.contracts.topics import CATALOGUE, topic_for_event

__all__ = [
    "CATALOGUE",
    "CloudEvent",
    "EventData",
    "Sequenced",
    "TopicSpec",
    "event_model",
    "event_types",
    "parse_event",
    "topic_for_event",
]
