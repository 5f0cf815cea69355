"""How a topic is declared: key, partitions, compaction, visibility, DLQ."""

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

    @property
    def dlq(self) -> str:
        """Name of this topic's dead-letter topic."""
        return f"{self.name}.dlq"

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

    def dlq_configs(self) -> dict[str, str]:
        """Kafka topic configs for the dead-letter topic (kept 30 days for inspection)."""
        return {"cleanup.policy": "delete", "retention.ms": str(30 * 24 * 3600 * 1000)}
