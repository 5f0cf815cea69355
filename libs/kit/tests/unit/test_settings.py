"""Settings read from ``<PREFIX><NAME>_FILE`` variables (mounted secrets)."""

from pathlib import Path

import pytest
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import ServiceSettings


class Example(ServiceSettings):
    """A service with one secret."""

    model_config = SettingsConfigDict(env_prefix="BINHYEN_EXAMPLE_", extra="ignore")

    mongodb_database: str = "example"
    consumer_group: str = "example"
    secret: SecretStr | None = Field(None)
    credentials: dict[str, SecretStr] = Field(default_factory=dict)


def test_a_secret_is_read_from_the_file_its_file_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret"
    path.write_text("s3cr3t value\n")
    monkeypatch.setenv("BINHYEN_EXAMPLE_SECRET_FILE", str(path))
    settings = Example()
    assert settings.secret is not None
    assert settings.secret.get_secret_value() == "s3cr3t value"


def test_the_variable_itself_wins_over_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret"
    path.write_text("from the file")
    monkeypatch.setenv("BINHYEN_EXAMPLE_SECRET_FILE", str(path))
    monkeypatch.setenv("BINHYEN_EXAMPLE_SECRET", "from the variable")
    settings = Example()
    assert settings.secret is not None
    assert settings.secret.get_secret_value() == "from the variable"


def test_a_missing_file_is_an_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINHYEN_EXAMPLE_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises((ValueError, ValidationError), match="BINHYEN_EXAMPLE_SECRET_FILE"):
        Example()


def test_an_empty_file_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret-previous"
    path.write_text("\n")
    monkeypatch.setenv("BINHYEN_EXAMPLE_SECRET_FILE", str(path))
    assert Example().secret is None


def test_a_dict_of_secrets_is_read_from_a_json_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "credentials.json"
    path.write_text('{"api_key": "k-1", "secret_key": "s-2"}\n')
    monkeypatch.setenv("BINHYEN_EXAMPLE_CREDENTIALS_FILE", str(path))
    found = Example().credentials
    assert {k: v.get_secret_value() for k, v in found.items()} == {
        "api_key": "k-1",
        "secret_key": "s-2",
    }
    path.write_text("api_key=k-1")
    with pytest.raises((ValueError, ValidationError), match="BINHYEN_EXAMPLE_CREDENTIALS_FILE"):
        Example()
