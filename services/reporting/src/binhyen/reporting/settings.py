"""Reporting settings (env prefix BINHYEN_REPORTING_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the reporting service."""

    model_config = SettingsConfigDict(
        env_prefix="BINHYEN_REPORTING_", extra="ignore", hide_input_in_errors=True
    )

    mongodb_database: str = "binhyen_reporting"
    consumer_group: str = Field(
        "binhyen-reporting",
        description=(
            "Consumer group prefix: generation N of the read model is fed by the group "
            "<consumer_group>.g<N> (Kafka ACLs grant the prefix)."
        ),
    )
    http_port: int = 8004
    generation_check_seconds: float = Field(
        2.0, gt=0, description="How often a replica looks whether a rebuild switched generations."
    )
    rebuild_batch: int = Field(
        5000, ge=1, le=100_000, description="Events a rebuild folds into one write per document."
    )
    rebuild_switch_lag: int = Field(
        0,
        ge=0,
        description=(
            "A rebuild switches once it is at most this many events behind the end of every "
            "topic (and never behind the live generation)."
        ),
    )
