"""Settings refuse the development tip secret in production."""

import pytest
from pydantic import ValidationError

from binhyen.incidents.settings import Settings


def test_prod_refuses_the_placeholder_tip_secret() -> None:
    with pytest.raises(ValidationError, match="TIP_SECRET"):
        Settings(environment="prod")
    assert Settings(environment="prod", tip_secret="a-long-random-value-0123456789").environment


def test_dev_accepts_the_placeholder_tip_secret() -> None:
    assert Settings(environment="dev").tip_secret.get_secret_value()
