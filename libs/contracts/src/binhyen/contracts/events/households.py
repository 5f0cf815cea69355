"""Registry events on topic binhyen.registry.households.v1."""

from binhyen.contracts.spec import TopicSpec

TOPIC = TopicSpec(
    name="binhyen.registry.households.v1",
    key="household id",
    description=(
        "Households with their full current state: address, head, members, pledges. "
        "Personal data: internal only."
    ),
    compacted=True,
    visibility="internal",
    event_types=(),
)
