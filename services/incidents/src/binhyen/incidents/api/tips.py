"""Anonymous tips: public, rate-limited intake; the tipster follows the case with a token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel, Field

from binhyen.incidents.api.common import PROBLEMS, ContextDep, IdempotencyKey, client_address, local
from binhyen.incidents.api.schemas import IncidentCreate
from binhyen.incidents.domain.categories import Severity
from binhyen.incidents.domain.incidents import Status
from binhyen.incidents.service import tips as service
from binhyen.kit.problems import PROBLEM_JSON
from binhyen.kit.text import SafeMultiline, SafeText

router = APIRouter(prefix="/api/v1/tips", tags=["anonymous tips"])
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many tips from your connection", "content": {PROBLEM_JSON: {}}}
}
ReplyToken = Annotated[
    str, Header(max_length=200, description="The reply token you got when you sent the tip.")
]


class Contact(BaseModel):
    """How to reach the tipster, if they wish: seen only by the police, every view audited."""

    name: SafeText | None = Field(None, max_length=200)
    phone: SafeText | None = Field(None, max_length=30)
    email: SafeText | None = Field(None, max_length=200)
    note: SafeMultiline | None = Field(None, max_length=500)


class TipCreate(IncidentCreate):
    """An anonymous tip: a report with an optional, masked contact."""

    contact: Contact | None = None


class TipReceipt(BaseModel):
    """Keep the reply token: it is the only way to follow the tip and answer questions."""

    incident_id: str
    reply_token: str = Field(description="Send it as X-Reply-Token. Shown only now.")
    status: Status


@router.post(
    "",
    response_model=TipReceipt,
    status_code=status.HTTP_201_CREATED,
    responses={**TOO_MANY, **{k: PROBLEMS[k] for k in (422, 503)}},
    summary="Send an anonymous tip (no sign-in)",
)
async def send_tip(
    body: TipCreate,
    request: Request,
    ctx: ContextDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TipReceipt:
    """Report without signing in; your identity, if you give it, is seen only by the police."""
    contact = body.contact.model_dump(exclude_none=True) if body.contact else None
    result = await service.submit_tip(
        body.command(idempotency_key), contact=contact, client=client_address(request), ctx=ctx
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    assert result.reply_token is not None
    return TipReceipt(
        incident_id=result.incident.id,
        reply_token=result.reply_token,
        status=result.incident.status,
    )


class TipStatus(BaseModel):
    """A change of status, as the tipster sees it."""

    status: Status
    at: datetime
    at_local: str | None


class TipMessage(BaseModel):
    """A message of the conversation."""

    at: datetime
    at_local: str | None
    author: Literal["staff", "reporter"]
    text: str


class TipRead(BaseModel):
    """What the tipster sees of their tip."""

    incident_id: str
    hamlet_id: str
    category: str
    severity: Severity
    status: Status
    reported_at: datetime
    reported_at_local: str | None
    history: list[TipStatus]
    messages: list[TipMessage]


@router.get(
    "/current",
    response_model=TipRead,
    responses={404: PROBLEMS[404]},
    summary="Follow your tip",
)
async def read_tip(ctx: ContextDep, x_reply_token: ReplyToken) -> TipRead:
    """The status of your tip and the questions staff asked you."""
    view = await service.view_tip(ctx, x_reply_token)
    i = view.incident
    return TipRead(
        incident_id=i.id,
        hamlet_id=i.hamlet_id,
        category=i.category,
        severity=i.severity,
        status=i.status,
        reported_at=i.reported_at,
        reported_at_local=local(i.reported_at),
        history=[
            TipStatus(status=e.to_status, at=e.at, at_local=local(e.at))
            for e in i.timeline
            if e.to_status is not None and (e.to_status != e.from_status)
        ],
        messages=[
            TipMessage(at=m.at, at_local=local(m.at), author=m.author, text=m.text)
            for m in view.messages
        ],
    )


class TipMessageWrite(BaseModel):
    """An answer or more information from the tipster."""

    text: SafeMultiline = Field(min_length=1, max_length=2000)


@router.post(
    "/current/messages",
    response_model=TipMessage,
    status_code=status.HTTP_201_CREATED,
    responses={**TOO_MANY, **{k: PROBLEMS[k] for k in (404, 409, 422)}},
    summary="Answer staff or add information",
)
async def write_tip_message(
    body: TipMessageWrite, request: Request, ctx: ContextDep, x_reply_token: ReplyToken
) -> TipMessage:
    """Write to the staff handling your tip."""
    m = await service.tip_message(ctx, x_reply_token, body.text, client=client_address(request))
    return TipMessage(at=m.at, at_local=local(m.at), author="reporter", text=m.text)
