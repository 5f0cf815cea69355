"""Yearly evaluations of hamlets against the rule set, the commune's roll-up, evidence files."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from binhyen.kit.auth import CurrentPrincipal, authorize
from binhyen.kit.http import IfMatch, IsoDate, expected_version, set_etag
from binhyen.kit.problems import Invalid, NotFound
from binhyen.kit.text import SafeMultiline, SafeText
from binhyen.reporting.api.common import PROBLEMS, ContextDep
from binhyen.reporting.domain.evaluation import Attestation, Decision, Evaluation, allowed_actions
from binhyen.reporting.domain.periods import LOCAL, Period
from binhyen.reporting.exports.pdf import render_pdf
from binhyen.reporting.service import documents, evaluations, rulesets, statistics
from binhyen.reporting.service.units import UnitTree

router = APIRouter(tags=["evaluations"])
PDF = "application/pdf"
MAX_FILE_BYTES = 5 * 1024 * 1024
FILE_KINDS = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png",
              b"\xff\xd8\xff": "image/jpeg"}  # fmt: skip

EvaluationId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}:[0-9]{4}$", description="'<hamlet id>:<year>'.")
]


class OpenBody(BaseModel):
    """Open (or find) a hamlet's evaluation for an evaluation year."""

    hamlet_id: SafeText = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2100, description="Evaluation year N: 01/11/N-1 – 31/10/N.")


class AttestBody(BaseModel):
    """An officer's attestation of an attested check (what its rule requires)."""

    check_id: SafeText = Field(min_length=1, max_length=64)
    document_number: SafeText | None = Field(None, max_length=100, description="e.g. 01/NQ-CB.")
    date: IsoDate | None = Field(None, description="Date of the document.")
    signer: SafeText | None = Field(None, max_length=200, description="Who signed the document.")
    attached_file: SafeText | None = Field(
        None, max_length=64, description="Id of a file uploaded to this evaluation."
    )
    statements: list[SafeText] = Field(
        default_factory=list, max_length=20, description="Statement ids the attestation covers."
    )


class DecisionBody(BaseModel):
    """The commune's decision document (no person's name: the signer's position)."""

    document_number: SafeText = Field(min_length=1, max_length=100, description="125/QĐ-UBND")
    date: IsoDate
    signer_position: SafeText = Field(min_length=1, max_length=120, description="Chủ tịch UBND xã")
    reason: SafeMultiline | None = Field(None, max_length=2000, description="Required to refuse.")


class ReopenBody(BaseModel):
    """Why a proposed or refused evaluation goes back to draft."""

    reason: SafeMultiline = Field(min_length=1, max_length=2000)


def view(evaluation: Evaluation, tree: UnitTree | None = None) -> dict[str, Any]:
    """An evaluation as the API shows it: every check with its evidence, and what can follow."""
    body: dict[str, Any] = evaluations.ADAPTER.dump_python(evaluation, mode="json")
    unit = tree.units.get(evaluation.hamlet.id) if tree is not None else None
    body["hamlet_name"] = unit.name if unit is not None else None
    body["met"] = evaluations.met_of(evaluation)
    body["allowed_actions"] = list(allowed_actions(evaluation.status))
    for attestation in body.get("attestations") or []:
        attestation.pop("by", None)  # who typed it in stays in the history
    return body


async def _tree(ctx: Any) -> UnitTree:
    return await UnitTree.load(await ctx.stores.read_model())


@router.post(
    "/api/v1/evaluations",
    responses=PROBLEMS,
    status_code=status.HTTP_201_CREATED,
    summary="Open a hamlet's evaluation for a year (a draft judged now), or find it",
)
async def open_evaluation(
    body: OpenBody, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    """201 with the new draft, or 200 with the evaluation that exists."""
    evaluation, created = await evaluations.open_or_get(ctx, principal, body.hamlet_id, body.year)
    if not created:
        response.status_code = status.HTTP_200_OK
    set_etag(response, evaluation.version)
    return view(evaluation, await _tree(ctx))


@router.get(
    "/api/v1/evaluations", responses=PROBLEMS, summary="The roll-up: each hamlet's state for a year"
)
async def rollup(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(min_length=1, max_length=64)],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> dict[str, Any]:
    """Every active hamlet under the unit: not started, draft, proposed, recognised, refused."""
    result, tree = await evaluations.rollup(ctx, principal, unit_id, year)
    return {
        "unit_id": unit_id,
        "year": result.year,
        "by_state": result.by_state,
        "by_outcome": result.by_outcome,
        "hamlets": [
            {
                "hamlet_id": h.hamlet_id,
                "hamlet_name": tree.units[h.hamlet_id].name if h.hamlet_id in tree.units else None,
                "state": h.state,
                "outcome": h.outcome,
                "evaluation_id": h.evaluation_id,
                "ruleset_version": h.ruleset_version,
                "criteria": [{"code": c, "outcome": o} for c, o in h.criteria],
            }
            for h in result.hamlets
        ],
    }


@router.get("/api/v1/evaluations/{evaluation_id}", responses=PROBLEMS, summary="One evaluation")
async def read_evaluation(
    evaluation_id: EvaluationId, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    """Every criterion and check with its outcome, measure, threshold and evidence."""
    evaluation = await evaluations.get(ctx, principal, evaluation_id)
    set_etag(response, evaluation.version)
    return view(evaluation, await _tree(ctx))


async def _answer(ctx: Any, evaluation: Evaluation, response: Response) -> dict[str, Any]:
    set_etag(response, evaluation.version)
    return view(evaluation, await _tree(ctx))


@router.post(
    "/api/v1/evaluations/{evaluation_id}/judge",
    responses=PROBLEMS,
    summary="Judge a draft again from today's figures and the rule set in force",
)
async def judge(
    evaluation_id: EvaluationId, ctx: ContextDep, principal: CurrentPrincipal,
    response: Response, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """Only a draft: a proposed or decided evaluation keeps what it was judged on."""
    done = await evaluations.reevaluate(ctx, principal, evaluation_id, expected_version(if_match))
    return await _answer(ctx, done, response)


@router.post(
    "/api/v1/evaluations/{evaluation_id}/attestations",
    responses=PROBLEMS,
    summary="Attest a check (document number, date, signer, attached file)",
)
async def attest(
    evaluation_id: EvaluationId, body: AttestBody, ctx: ContextDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """What the check's rule requires is checked: a missing document is a 422 naming it."""
    attestation = Attestation(
        check_id=body.check_id,
        document_number=body.document_number,
        date=body.date,
        signer=body.signer,
        attached_file=body.attached_file,
        statements=tuple(body.statements),
        by=principal.subject,
        at=datetime.now(UTC),
    )
    done = await evaluations.attest(
        ctx, principal, evaluation_id, attestation, expected_version(if_match)
    )
    return await _answer(ctx, done, response)


@router.post(
    "/api/v1/evaluations/{evaluation_id}/files",
    responses=PROBLEMS,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a scanned document for an attestation (PDF, PNG or JPEG, ≤ 5 MB)",
)
async def upload(
    evaluation_id: EvaluationId, request: Request, ctx: ContextDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The body is the file itself; the answer's ``file_id`` goes in an attestation."""
    evaluation = await evaluations.get(ctx, principal, evaluation_id)
    authorize(principal, "evaluations:propose", evaluation.hamlet.unit_path, what="evaluation")
    content = bytearray()
    async for chunk in request.stream():
        content.extend(chunk)
        if len(content) > MAX_FILE_BYTES:
            raise Invalid("file: larger than 5 MB", field="file")
    kind = next((k for magic, k in FILE_KINDS.items() if content.startswith(magic)), None)
    if kind is None:
        raise Invalid("file: not a PDF, PNG or JPEG file", field="file")
    file_id = uuid.uuid4().hex
    await ctx.stores.db["evaluation_files"].insert_one(
        {
            "_id": file_id,
            "evaluation_id": evaluation_id,
            "media_type": kind,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "content": bytes(content),
            "uploaded_at": datetime.now(UTC),
            "uploaded_by": principal.subject,
        }
    )
    return {"file_id": file_id, "media_type": kind, "size": len(content)}


@router.get(
    "/api/v1/evaluations/{evaluation_id}/files/{file_id}",
    responses={**PROBLEMS, 200: {"description": "The file as uploaded."}},
    response_class=Response,
    summary="Download an uploaded document",
)
async def download(
    evaluation_id: EvaluationId,
    file_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    ctx: ContextDep,
    principal: CurrentPrincipal,
) -> Response:
    """The file, with its media type."""
    await evaluations.get(ctx, principal, evaluation_id)
    doc = await ctx.stores.db["evaluation_files"].find_one(
        {"_id": file_id, "evaluation_id": evaluation_id}
    )
    if doc is None:
        raise NotFound(f"file {file_id} does not exist")
    return Response(bytes(doc["content"]), media_type=doc["media_type"])


@router.post(
    "/api/v1/evaluations/{evaluation_id}/propose",
    responses=PROBLEMS,
    summary="The hamlet proposes itself for recognition",
)
async def propose(
    evaluation_id: EvaluationId, ctx: ContextDep, principal: CurrentPrincipal,
    response: Response, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """Draft → proposed (no computed check may be pending)."""
    done = await evaluations.propose(ctx, principal, evaluation_id, expected_version(if_match))
    return await _answer(ctx, done, response)


def _decision(body: DecisionBody) -> Decision:
    return Decision(
        document_number=body.document_number,
        date=body.date,
        signer_position=body.signer_position,
        reason=body.reason,
    )


@router.post(
    "/api/v1/evaluations/{evaluation_id}/recognise",
    responses=PROBLEMS,
    summary="The commune recognises the hamlet (every check met)",
)
async def recognise(
    evaluation_id: EvaluationId, body: DecisionBody, ctx: ContextDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """Proposed → recognised; final: its results and rule-set version never change."""
    done = await evaluations.decide(
        ctx, principal, evaluation_id, _decision(body), recognise=True,
        expected=expected_version(if_match),
    )  # fmt: skip
    return await _answer(ctx, done, response)


@router.post(
    "/api/v1/evaluations/{evaluation_id}/refuse",
    responses=PROBLEMS,
    summary="The commune refuses recognition, with a reason",
)
async def refuse(
    evaluation_id: EvaluationId, body: DecisionBody, ctx: ContextDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """Proposed → refused (a reason is required)."""
    done = await evaluations.decide(
        ctx, principal, evaluation_id, _decision(body), recognise=False,
        expected=expected_version(if_match),
    )  # fmt: skip
    return await _answer(ctx, done, response)


@router.post(
    "/api/v1/evaluations/{evaluation_id}/reopen",
    responses=PROBLEMS,
    summary="A proposed or refused evaluation goes back to draft",
)
async def reopen(
    evaluation_id: EvaluationId, body: ReopenBody, ctx: ContextDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """Proposed or refused → draft (with the reason)."""
    done = await evaluations.reopen(
        ctx, principal, evaluation_id, body.reason, expected_version(if_match)
    )
    return await _answer(ctx, done, response)


@router.get(
    "/api/v1/evaluations/{evaluation_id}/report.pdf",
    responses={**PROBLEMS, 200: {"content": {PDF: {}}, "description": "The report (PDF)."}},
    response_class=Response,
    summary="The hamlet's yearly evaluation as a Vietnamese administrative document (PDF)",
)
async def report_pdf(
    evaluation_id: EvaluationId,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    number: Annotated[int | None, Query(ge=1, le=99999)] = None,
    signer: Annotated[SafeText | None, Query(max_length=80)] = None,
) -> Response:
    """Every criterion and check with its outcome and evidence, the decision if any."""
    evaluation = await evaluations.get(ctx, principal, evaluation_id)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    hamlet = tree.get(evaluation.hamlet.id)
    commune = tree.units.get(hamlet.path[-2]) if len(hamlet.path) > 1 else None
    ruleset = await rulesets.version(
        ctx.stores.db, evaluation.ruleset_id, evaluation.ruleset_version
    )
    scope = statistics.Scope(tree.subtree(hamlet.id), Period.evaluation_year(evaluation.year))
    figures = await statistics.figures(model, scope)
    report = documents.evaluation_report(
        evaluation, ruleset, hamlet, commune, figures,
        issued_on=datetime.now(LOCAL).date(), number=number, signer=signer,
    )  # fmt: skip
    body = await asyncio.to_thread(render_pdf, report)
    disposition = f'attachment; filename="danh-gia-{evaluation_id.replace(":", "-")}.pdf"'
    return Response(body, media_type=PDF, headers={"Content-Disposition": disposition})
