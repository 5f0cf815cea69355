"""Registry events on topic binhyen.registry.public.v1."""

from binhyen.contracts.spec import TopicSpec

TOPIC = TopicSpec(
    name="binhyen.registry.public.v1",
    key="unit, team or count id",
    description=(
        "For other agencies: admin units, teams (no members) and counts per unit. Never "
        "personal data."
    ),
    compacted=True,
    visibility="public",
    event_types=(),
)
