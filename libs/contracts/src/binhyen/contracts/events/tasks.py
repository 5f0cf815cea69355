"""Registry events on topic binhyen.registry.tasks.v1."""

from binhyen.contracts.spec import TopicSpec

TOPIC = TopicSpec(
    name="binhyen.registry.tasks.v1",
    key="task id",
    description=("Tasks of commune implementation plans, full current state."),
    compacted=True,
    visibility="internal",
    event_types=(),
)
