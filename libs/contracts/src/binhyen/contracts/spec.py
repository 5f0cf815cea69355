"""How a topic is declared: key, partitions, compaction, visibility; dead-letter topics."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TopicSpec(BaseModel):
    """How one Kafka topic is keyed, partitioned, retained and who may read it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Topic name without any deployment prefix.")
    key: str = Field(description="What the Kafka key holds (ordering is per key).")
    description: str
    partitions: int = Field(12, ge=1)
    compacted: bool = Field(description="Log-compacted state topic (full state per key).")
    visibility: Literal["public", "internal"] = Field(
        description="public: other agencies may subscribe, no personal data ever."
    )
    event_types: tuple[str, ...] = Field(description="CloudEvents types carried on this topic.")
    retention_ms: int | None = Field(None, description="Retention for non-compacted topics.")

    def configs(self) -> dict[str, str]:
        """Kafka topic configs for this topic."""
        if self.compacted:
            return {
                "cleanup.policy": "compact",
                "min.compaction.lag.ms": "60000",
                "segment.ms": "3600000",
            }
        retention = self.retention_ms if self.retention_ms is not None else 7 * 24 * 3600 * 1000
        return {"cleanup.policy": "delete", "retention.ms": str(retention)}


DEAD_LETTER_RETENTION_MS = 30 * 24 * 3600 * 1000


def dead_letter_topic(group: str) -> TopicSpec:
    """The dead-letter topic of one consumer group, owned (written) by that group alone.

    One per consuming service, not one per source topic: a service writes only its own
    topics, and a replay goes back through that group's handlers, not to every subscriber.
    """
    return TopicSpec(
        name=f"binhyen.{group}.dlq.v1",
        key="the original record's key",
        description=(
            f"Records the {group} consumers could not handle, with the error and their origin "
            "in headers (binhyen-original-topic/partition/offset). For operators only."
        ),
        compacted=False,
        visibility="internal",
        event_types=(),
        retention_ms=DEAD_LETTER_RETENTION_MS,
    )
