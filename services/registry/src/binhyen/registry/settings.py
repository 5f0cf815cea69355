"""Registry settings (env prefix BINHYEN_REGISTRY_)."""

from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the registry service."""

    model_config = SettingsConfigDict(env_prefix="BINHYEN_REGISTRY_", extra="ignore")

    mongodb_database: str = "binhyen_registry"
    consumer_group: str = "binhyen-registry"
    http_port: int = 8001
