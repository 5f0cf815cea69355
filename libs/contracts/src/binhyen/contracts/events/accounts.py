"""Account state events on topic binhyen.registry.accounts.v1 (for token checks only).

They carry no username, display name or grant: only which account, whether it may still
use its tokens, and since when. Services that verify tokens keep the deactivated ones.
"""

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/registry"


class AccountState(EventData):
    """Whether an account's tokens are still good, full current state."""

    account_id: str = Field(description="The account's id: the `sub` claim of its tokens.")
    active: bool = Field(description="False: refuse the account's tokens, even unexpired ones.")
    changed_at: datetime = Field(description="When the account's state changed (UTC).")

    def subject(self) -> str:
        """Return the account id."""
        return self.account_id


class AccountDeactivated(AccountState):
    """An account was deactivated: its tokens must stop working at once."""

    event_type: ClassVar[str] = "vn.binhyen.registry.account.deactivated.v1"
    source: ClassVar[str] = SOURCE


ACCOUNT_EVENTS: tuple[type[AccountState], ...] = (AccountDeactivated,)

TOPIC = TopicSpec(
    name="binhyen.registry.accounts.v1",
    key="account id",
    description=(
        "Whether each account may still use its tokens, full current state (no personal "
        "data). Services that verify tokens consume it to refuse a deactivated account's "
        "tokens before they expire."
    ),
    compacted=True,
    visibility="internal",
    event_types=tuple(e.event_type for e in ACCOUNT_EVENTS),
)
