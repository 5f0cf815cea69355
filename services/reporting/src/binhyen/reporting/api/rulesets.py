"""The evaluation rule set in force: read it (JSON or YAML), replace it (administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from binhyen.kit.auth import CurrentPrincipal, require_permission
from binhyen.kit.problems import Invalid
from binhyen.reporting.api.common import PROBLEMS, ContextDep
from binhyen.reporting.domain.rules import RuleSet, dump_ruleset, fingerprint
from binhyen.reporting.service import rulesets

router = APIRouter(tags=["rule sets"])
YAML = "application/yaml"
MAX_BYTES = 256 * 1024


def _read(ruleset: RuleSet) -> dict[str, Any]:
    return {**ruleset.model_dump(mode="json"), "fingerprint": fingerprint(ruleset)}


@router.get("/api/v1/rulesets/current", responses=PROBLEMS, summary="The rule set in force")
async def current(ctx: ContextDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Criteria with the circular's article and clause, their checks and thresholds."""
    require_permission(principal, "evaluations:read")
    return _read(await rulesets.current(ctx.stores.db))


@router.get(
    "/api/v1/rulesets/current.yaml",
    responses={**PROBLEMS, 200: {"content": {YAML: {}}, "description": "The YAML file."}},
    response_class=Response,
    summary="The rule set in force as the YAML file an administrator edits",
)
async def current_yaml(ctx: ContextDep, principal: CurrentPrincipal) -> Response:
    """The file to edit and send back with PUT (with a higher version)."""
    require_permission(principal, "evaluations:read")
    text = dump_ruleset(await rulesets.current(ctx.stores.db))
    return Response(text, media_type=f"{YAML}; charset=utf-8")


@router.get(
    "/api/v1/rulesets/{ruleset_id}/versions/{version}",
    responses=PROBLEMS,
    summary="One version of a rule set (the one an evaluation was judged under)",
)
async def one_version(
    ruleset_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")],
    version: Annotated[int, Path(ge=1, le=100000)],
    ctx: ContextDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Every version used stays readable."""
    require_permission(principal, "evaluations:read")
    return _read(await rulesets.version(ctx.stores.db, ruleset_id, version))


@router.put(
    "/api/v1/rulesets/current",
    responses=PROBLEMS,
    summary="Replace the rule set with a new version (administrators; the body is the YAML)",
)
async def replace(
    request: Request, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    """201 for a new version; 200 when the same content is sent again. A file that does not
    parse or names an unknown check: 422 with every field at fault; another content under
    the same version, an older version: 409. Evaluations already recognised keep theirs."""
    require_permission(principal, "rulesets:write")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_BYTES:
            raise Invalid("ruleset: larger than 256 KB", field="ruleset")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("ruleset: not UTF-8 text", field="ruleset") from exc
    ruleset, new = await rulesets.replace(ctx.stores.db, text, by=principal.subject)
    response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
    return _read(ruleset)
