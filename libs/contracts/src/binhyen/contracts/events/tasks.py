"""Registry events on topic binhyen.registry.tasks.v1."""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/registry"

TaskStatus = Literal["todo", "in_progress", "done", "cancelled"]


class TaskState(EventData):
    """Full current state of a task of a commune implementation plan (base of its events)."""

    task_id: str = Field(description="Id of the task.")
    plan_id: str = Field(description="Id of the commune implementation plan.")
    plan_year: int = Field(description="Year of the plan.")
    plan_title: str = Field(description="Title of the plan.")
    commune_id: str = Field(description="Commune whose plan it is.")
    organisation_id: str = Field(description="Organisation or team the task is assigned to.")
    organisation_unit_id: str = Field(description="Unit of that organisation.")
    organisation_unit_path: list[str] = Field(
        default_factory=list,
        description=(
            "Ids of that unit's ancestors, root first, then it (empty in events sent before "
            "this field was added)."
        ),
    )
    title: str = Field(description="What to do.")
    description: str | None = Field(None, description="Details.")
    due_date: date = Field(description="Date the task is due.")
    status: TaskStatus = Field(description="todo → in_progress → done, or cancelled.")
    completed_at: datetime | None = Field(None, description="When it was marked done, UTC.")
    version: int = Field(ge=1, description="Version of the state; increases by one per change.")

    def subject(self) -> str:
        """Return the task id."""
        return self.task_id


class TaskAssigned(TaskState):
    """A task of a plan was assigned to an organisation; carries its full current state."""

    event_type: ClassVar[str] = "vn.binhyen.registry.task.assigned.v1"
    source: ClassVar[str] = SOURCE


class TaskUpdated(TaskState):
    """A task changed (status, due date, assignee, text); carries its full current state."""

    event_type: ClassVar[str] = "vn.binhyen.registry.task.updated.v1"
    source: ClassVar[str] = SOURCE

    changes: list[str] = Field(
        default_factory=list,
        description=(
            "Fields that changed: status, title, description, due_date, organisation_id, or "
            "organisation_unit_path (a unit above the organisation moved or merged)."
        ),
    )


TOPIC = TopicSpec(
    name="binhyen.registry.tasks.v1",
    key="task id",
    description="Tasks of commune implementation plans, full current state.",
    compacted=True,
    visibility="internal",
    event_types=(TaskAssigned.event_type, TaskUpdated.event_type),
)
