"""Registry events on topic binhyen.registry.people.v1."""

from binhyen.contracts.spec import TopicSpec

TOPIC = TopicSpec(
    name="binhyen.registry.people.v1",
    key="person id",
    description=("Residents with their full current state. Personal data: internal only."),
    compacted=True,
    visibility="internal",
    event_types=(),
)
