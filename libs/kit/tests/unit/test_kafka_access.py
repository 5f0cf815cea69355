"""How the kit's Kafka clients authenticate: the settings and the kwargs every client gets."""

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict, SettingsError

from binhyen.kit.kafka import KafkaAccess, client_kwargs
from binhyen.kit.settings import ServiceSettings


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BINHYEN_TESTSVC_", extra="ignore")
    mongodb_database: str = "testsvc"
    consumer_group: str = "testsvc"


def test_a_bare_address_is_plaintext_without_credentials() -> None:
    assert client_kwargs("127.0.0.1:1") == {
        "bootstrap_servers": "127.0.0.1:1",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_access_gives_scram_credentials() -> None:
    access = KafkaAccess(
        "k:9092", "SASL_PLAINTEXT", username="registry", password=SecretStr("s3cret-pw")
    )
    kwargs = client_kwargs(access)
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (
        "registry",
        "s3cret-pw",
    )
    assert "s3cret-pw" not in repr(access)


def test_sasl_without_a_user_is_refused() -> None:
    with pytest.raises(ValueError, match="username and a password"):
        client_kwargs(KafkaAccess("k:9092", "SASL_PLAINTEXT"))
    with pytest.raises(ValidationError, match="kafka_username"):
        _Settings(kafka_security_protocol="SASL_PLAINTEXT")


def test_the_password_comes_from_a_mounted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-file\n")
    monkeypatch.setenv("BINHYEN_TESTSVC_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("BINHYEN_TESTSVC_KAFKA_USERNAME", "testsvc")
    monkeypatch.setenv("BINHYEN_TESTSVC_KAFKA_PASSWORD_FILE", str(secret))
    access = KafkaAccess.of(_Settings())
    assert client_kwargs(access)["sasl_plain_password"] == "from-file"


def test_the_environment_wins_over_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-file")
    monkeypatch.setenv("BINHYEN_TESTSVC_KAFKA_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("BINHYEN_TESTSVC_KAFKA_PASSWORD", "from-env")
    password = _Settings().kafka_password
    assert password is not None and password.get_secret_value() == "from-env"


def test_a_missing_secret_file_names_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINHYEN_TESTSVC_KAFKA_PASSWORD_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="BINHYEN_TESTSVC_KAFKA_PASSWORD_FILE"):
        _Settings()
