"""Incidents settings (env prefix BINHYEN_INCIDENTS_)."""

from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the incidents service."""

    model_config = SettingsConfigDict(env_prefix="BINHYEN_INCIDENTS_", extra="ignore")

    mongodb_database: str = "binhyen_incidents"
    consumer_group: str = "binhyen-incidents"
    http_port: int = 8002
