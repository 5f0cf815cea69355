"""Registry events on topic binhyen.registry.enrolments.v1."""

from binhyen.contracts.spec import TopicSpec

TOPIC = TopicSpec(
    name="binhyen.registry.enrolments.v1",
    key="enrolment id (hamlet id and year)",
    description=("Yearly enrolment of each hamlet in the programme, full current state."),
    compacted=True,
    visibility="internal",
    event_types=(),
)
