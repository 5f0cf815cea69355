"""The evaluation rule set: the criteria a hamlet is judged against each year, kept as data.

Circular 124/2021/TT-BCA sets the criteria; provinces may add their own and the circular has
been amended, so the criteria live in a versioned YAML file a commune officer can read and an
administrator can replace, not in code. This module is the file's format: the models, the
loader that refuses a bad file with every problem and the path of the field at fault, and the
fingerprint that tells a changed rule set from the same one.

Texts are NFC-normalised on load (a file typed on another keyboard is still the same text) and
their line breaks folded into single spaces (YAML's ``>`` blocks); any other control character
is refused. Build rule sets through ``load_ruleset`` or ``validate_ruleset``: constructing the
models directly skips the checks that span the whole set (ids, computations, parameters).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from binhyen.kit.text import CONTROL_MESSAGE, has_controls, nfc
from binhyen.reporting.domain.computations import COMPUTATIONS, Parameters

DOCUMENT = "(document)"
"""The path of a problem with the file as a whole (it does not parse, it is too long)."""
MAX_CHARS = 256 * 1024
KINDS = ("computed", "attested")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule set: where (``criteria[2].checks[0].computation``) and why."""

    path: str
    message: str
    line: int | None = None  # 1-based, for a file that does not parse
    column: int | None = None


class RuleSetError(Exception):
    """A rule set was refused; ``problems`` name every field at fault (422)."""

    status = 422

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in self.problems))


class RuleSetConflict(RuleSetError):
    """A rule set may not replace the one in use under its version number (409)."""

    status = 409


# -- field types -------------------------------------------------------------------------------


def _text(value: str) -> str:
    if has_controls(value, multiline=True):
        raise ValueError(CONTROL_MESSAGE)
    value = nfc(value)
    if not value:
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, Field(max_length=4000), AfterValidator(_text)]
"""Human text: NFC, line breaks folded into spaces, no other control character, not empty."""
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,59}$")]
Url = Annotated[str, Field(pattern=r"^https?://[!-~]+$", max_length=500)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Label(_Frozen):
    """A short name in both languages (our own words, not the circular's)."""

    vi: Text
    en: Text


class Wording(_Frozen):
    """A text of the law; ``wording_status`` says whether ``vi`` is the law's own words."""

    vi: Text
    en: Text  # always our translation
    wording_status: Literal["verbatim", "paraphrase"]
    source: Url  # where the wording was taken from, or where the official text is to be read
    note: Text | None = None


class Reference(_Frozen):
    """Where in the legal document: article, clause and point."""

    article: int = Field(ge=1)
    clause: int | None = Field(default=None, ge=1)
    point: str | None = Field(default=None, pattern=r"^[a-zđ]$")


class Statement(_Frozen):
    """One thing an attestation confirms (e.g. one event of Article 4.3 did not occur)."""

    id: Slug
    text: Wording


class MonthRange(_Frozen):
    """Months of the evaluation year (calendar months of year N), e.g. 1-3 for the first quarter."""

    first: int = Field(ge=1, le=12)
    last: int = Field(ge=1, le=12)

    @model_validator(mode="after")
    def _ordered(self) -> MonthRange:
        if self.last < self.first:
            raise ValueError("last must not come before first")
        return self


class Evidence(_Frozen):
    """What an attestation must carry: each field required (true) or optional (false)."""

    document_number: bool
    date: bool
    signer: bool
    attached_file: bool
    dated_in_months: MonthRange | None = None

    @field_validator("dated_in_months")
    @classmethod
    def _needs_date(cls, value: MonthRange | None, info: ValidationInfo) -> MonthRange | None:
        if value is not None and info.data.get("date") is False:
            raise ValueError("a window for the date needs date: true")
        return value


class ComputedCheck(_Frozen):
    """A check the evaluation computes from the projections, by a known computation."""

    id: Slug
    kind: Literal["computed"]
    label: Label
    note: Label | None = None
    computation: Slug
    parameters: dict[str, JsonValue] = Field(default_factory=dict)

    def typed_parameters(self) -> Parameters:
        """The parameters as the computation's own model."""
        return COMPUTATIONS[self.computation].parameters.model_validate(self.parameters)


class AttestedCheck(_Frozen):
    """A check the commune attests with evidence (a document, a date, a signer, a file)."""

    id: Slug
    kind: Literal["attested"]
    label: Label
    note: Label | None = None
    evidence: Evidence
    statements: tuple[Statement, ...] = ()


Check = Annotated[ComputedCheck | AttestedCheck, Field(discriminator="kind")]


class Criterion(_Frozen):
    """One criterion of the standard; it is met when all its checks are."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    reference: Reference
    title: Label
    text: Wording
    checks: tuple[Check, ...]

    @field_validator("checks")
    @classmethod
    def _some(cls, value: tuple[Check, ...]) -> tuple[Check, ...]:
        if not value:
            raise ValueError("a criterion needs at least one check, or it could never be judged")
        return value


class LegalBasis(_Frozen):
    """The legal document the criteria come from."""

    document: Text
    issuer: Text
    article: int = Field(ge=1)
    signed_on: dt.date
    in_force_from: dt.date
    amended_by: tuple[Text, ...] = ()
    source: Url
    note: Text | None = None


class YearBoundary(_Frozen):
    """A day of the year, in the evaluation year (offset 0) or the one before (-1)."""

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    year_offset: int = Field(ge=-1, le=0)

    @model_validator(mode="after")
    def _real_day(self) -> YearBoundary:
        try:
            dt.date(2001, self.month, self.day)  # not a leap year: 29 February is refused
        except ValueError:
            raise ValueError(f"{self.day}/{self.month} is not a day of every year") from None
        return self

    def in_year(self, year: int) -> dt.date:
        """The boundary for evaluation year ``year``."""
        return dt.date(year + self.year_offset, self.month, self.day)


class EvaluationYear(_Frozen):
    """The period an evaluation year covers (for hamlets: 1 November N-1 to 31 October N)."""

    starts: YearBoundary
    ends: YearBoundary
    reference: Reference
    text: Wording

    @field_validator("ends")
    @classmethod
    def _one_year(cls, ends: YearBoundary, info: ValidationInfo) -> YearBoundary:
        starts = info.data.get("starts")
        if isinstance(starts, YearBoundary):
            first, last = starts.in_year(2001), ends.in_year(2001)
            if not first < last < first.replace(year=first.year + 1):
                raise ValueError("the period must end after it starts and within one year")
        return ends

    def period(self, year: int) -> tuple[dt.date, dt.date]:
        """First and last day (inclusive) of evaluation year ``year``."""
        return self.starts.in_year(year), self.ends.in_year(year)


class RuleSet(_Frozen):
    """One version of a rule set: what a hamlet must meet to be recognised for a year."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    version: int = Field(ge=1)
    title: Label
    legal_basis: LegalBasis
    effective_from: dt.date
    effective_until: dt.date | None = None
    evaluation_year: EvaluationYear
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @field_validator("effective_until")
    @classmethod
    def _after_start(cls, until: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("effective_from")
        if until is not None and isinstance(start, dt.date) and until <= start:
            raise ValueError("effective_until must come after effective_from")
        return until


# -- loading -----------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing what hides mistakes in a hand-edited file.

    A repeated key silently keeps the last value, and aliases (``*name``) let a small file
    expand into a huge one; a rule set needs neither.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # stubs
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out", mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice here", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _parse(text: str) -> Any:
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_ruleset(text: str) -> RuleSet:
    """Parse and check a rule set from its YAML text; raise ``RuleSetError`` naming each fault."""
    if len(text) > MAX_CHARS:
        raise RuleSetError([Problem(DOCUMENT, f"longer than {MAX_CHARS} characters")])
    try:
        data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = ": ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise RuleSetError([Problem(DOCUMENT, message, line, column)]) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        message = f"character U+{exc.character:04X} is not allowed in YAML"
        raise RuleSetError([Problem(DOCUMENT, message, line, column)]) from None
    return validate_ruleset(data)


def validate_ruleset(data: object) -> RuleSet:
    """Check parsed data as a rule set; raise ``RuleSetError`` naming each fault."""
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleSetError(_problems(exc)) from None
    problems, parameters = _whole_set_problems(ruleset)
    if problems:
        raise RuleSetError(problems)
    # Store each computation's parameters as its model writes them (1 -> 1.0), so the same
    # thresholds always give the same fingerprint.
    normalised = ruleset.model_dump()
    for (i, j), values in parameters.items():
        normalised["criteria"][i]["checks"][j]["parameters"] = values
    return RuleSet.model_validate(normalised)


def _whole_set_problems(
    ruleset: RuleSet,
) -> tuple[list[Problem], dict[tuple[int, int], dict[str, Any]]]:
    problems: list[Problem] = []
    parameters: dict[tuple[int, int], dict[str, Any]] = {}
    first_use: dict[tuple[str, str], str] = {}

    def unique(namespace: str, value: str, path: str) -> None:
        if (namespace, value) in first_use:
            problems.append(Problem(path, f"already used at {first_use[namespace, value]}"))
        else:
            first_use[namespace, value] = path

    for i, criterion in enumerate(ruleset.criteria):
        unique("criterion", criterion.code, f"criteria[{i}].code")
        for j, check in enumerate(criterion.checks):
            at = f"criteria[{i}].checks[{j}]"
            unique("check", check.id, f"{at}.id")  # unique in the whole set: results key on it
            if isinstance(check, AttestedCheck):
                for k, statement in enumerate(check.statements):
                    unique("statement", statement.id, f"{at}.statements[{k}].id")
                continue
            computation = COMPUTATIONS.get(check.computation)
            if computation is None:
                known = ", ".join(sorted(COMPUTATIONS))
                problems.append(
                    Problem(f"{at}.computation", f"unknown computation; use one of: {known}")
                )
                continue
            try:
                typed = computation.parameters.model_validate(check.parameters)
            except ValidationError as exc:
                problems.extend(_problems(exc, prefix=f"{at}.parameters"))
            else:
                parameters[i, j] = typed.model_dump(mode="json")
    return problems, parameters


_MESSAGES = {
    "extra_forbidden": "unknown key; remove it or check its spelling",
    "missing": "required; add it",
}


def _problems(exc: ValidationError, *, prefix: str = "") -> list[Problem]:
    """Pydantic's errors as problems with readable paths (never echoing the input)."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        loc, message = list(err["loc"]), _MESSAGES.get(err["type"], err["msg"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc, message = [*loc, "kind"], f"kind must be one of: {', '.join(KINDS)}"
        message = message.removeprefix("Value error, ")
        problems.append(Problem(_path(loc, prefix), message))
    return problems


def _path(loc: Iterable[int | str], prefix: str = "") -> str:
    parts = list(loc)
    path = prefix
    for n, part in enumerate(parts):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in KINDS and n > 0 and isinstance(parts[n - 1], int):
            continue  # pydantic names the member of a tagged union (a check's kind) in the path
        else:
            path += f".{part}" if path else str(part)
    return path or DOCUMENT


# -- identity ----------------------------------------------------------------------------------


def dump_ruleset(ruleset: RuleSet) -> str:
    """The rule set as YAML that ``load_ruleset`` reads back to an equal rule set."""
    data = ruleset.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def fingerprint(ruleset: RuleSet) -> str:
    """sha256 of the rule set's canonical JSON: equal for equal content, whatever the YAML layout.

    Canonical: keys sorted, no spaces, UTF-8, absent optional fields left out (so adding an
    optional field to the format does not change the fingerprint of existing rule sets). The
    version number is part of the content.
    """
    data = ruleset.model_dump(mode="json", exclude_none=True)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_new_version(current: RuleSet, candidate: RuleSet) -> bool:
    """True if ``candidate`` is a new version of ``current``, False if it is the same one.

    Evaluations record the version they were judged under, so a version number must always
    mean the same content: a changed rule set under the same number, an older number or
    another rule set's id raise ``RuleSetConflict``.
    """
    if candidate.id != current.id:
        raise RuleSetConflict([Problem("id", f"this is {candidate.id}, not {current.id}")])
    if candidate.version < current.version:
        raise RuleSetConflict(
            [Problem("version", f"version {current.version} is in use; this is older")]
        )
    if candidate.version > current.version:
        return True
    if fingerprint(candidate) != fingerprint(current):
        raise RuleSetConflict(
            [
                Problem(
                    "version",
                    f"the content differs from version {current.version} in use; "
                    f"a changed rule set needs a new version (use {current.version + 1})",
                )
            ]
        )
    return False
