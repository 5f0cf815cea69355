"""Registry events on topic binhyen.registry.organisations.v1."""

from binhyen.contracts.spec import TopicSpec

TOPIC = TopicSpec(
    name="binhyen.registry.organisations.v1",
    key="organisation or team id",
    description=(
        "Organisations and teams with members, contact roster and duty roster, full current state."
    ),
    compacted=True,
    visibility="internal",
    event_types=(),
)
