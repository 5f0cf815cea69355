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
    rebuild_fold_documents: int = Field(
        50_000,
        ge=100,
        le=5_000_000,
        description=(
            "Documents a rebuild folds in memory before writing them (bounds its memory; the "
            "larger, the fewer documents are written more than once)."
        ),
    )
    rebuild_switch_lag: int = Field(
        0,
        ge=0,
        description=(
            "A rebuild switches once it is at most this many events behind the end of every "
            "topic (and never behind the live generation)."
        ),
    )

    # -- hotspots and public statistics (issue 13, capabilities 6 and 7) --
    hotspot_window_days: int = Field(
        30,
        ge=1,
        le=366,
        description=(
            "Window of the default hotspot rule: categories the rule set names no hotspot "
            "check for (drugs and gambling take the rule set's own)."
        ),
    )
    hotspot_min_incidents: int = Field(
        3, ge=2, le=1000, description="Incidents of one category within the window that make one."
    )
    hotspot_sweep_seconds: float = Field(
        300.0, gt=0, description="How often every hamlet is looked at for hotspots."
    )
    hotspot_wake_delay_seconds: float = Field(
        2.0,
        ge=0,
        description=(
            "After the live consumer applies an incident, the hamlets touched are looked at "
            "this much later (a burst of events makes one sweep)."
        ),
    )
    hotspot_lease_seconds: float = Field(
        60.0, gt=0, description="Lease of the replica that sweeps for hotspots."
    )
    public_publish_seconds: float = Field(
        3600.0, gt=0, description="How often the publisher looks for quarters due to publish."
    )
    public_settle_days: int = Field(
        30,
        ge=0,
        le=366,
        description=(
            "A quarter's public statistics are published this many days after it ends (late "
            "reports come in first), once, and frozen."
        ),
    )
    public_quarters: int = Field(
        8, ge=1, le=40, description="How many closed quarters back the publisher covers."
    )
    public_lease_seconds: float = Field(
        120.0, gt=0, description="Lease of the replica that publishes public statistics."
    )
