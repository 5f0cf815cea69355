"""The evaluation rule set as data: the shipped file, what a bad file is refused with, identity.

Bad files are made from the shipped one with one fault each, so each test shows that exactly
that fault is refused, at the path an administrator would look for it.
"""

from __future__ import annotations

import copy
import datetime as dt
import unicodedata
from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from binhyen.reporting.domain.computations import COMPUTATIONS
from binhyen.reporting.domain.rules import (
    DOCUMENT,
    AttestedCheck,
    ComputedCheck,
    Problem,
    RuleSet,
    RuleSetConflict,
    RuleSetError,
    dump_ruleset,
    fingerprint,
    is_new_version,
    load_ruleset,
    validate_ruleset,
)
from binhyen.reporting.rulesets import SHIPPED, shipped_ruleset

SHIPPED_TEXT = files("binhyen.reporting.rulesets").joinpath(SHIPPED).read_text(encoding="utf-8")


def shipped_data() -> dict[str, Any]:
    """The shipped rule set as plain data, to break one thing in."""
    data: dict[str, Any] = yaml.safe_load(SHIPPED_TEXT)
    return data


def as_yaml(data: Any, **options: Any) -> str:
    text: str = yaml.safe_dump(data, allow_unicode=True, **options)
    return text


def problems(text: str) -> list[Problem]:
    with pytest.raises(RuleSetError) as refused:
        load_ruleset(text)
    assert refused.value.status == 422
    return list(refused.value.problems)


def paths(text: str) -> list[str]:
    return [p.path for p in problems(text)]


def check(data: dict[str, Any], code: str, check_id: str) -> dict[str, Any]:
    """The check ``check_id`` of criterion ``code`` in raw data."""
    criterion = next(c for c in data["criteria"] if c["code"] == code)
    found: dict[str, Any] = next(k for k in criterion["checks"] if k["id"] == check_id)
    return found


# -- the shipped rule set ----------------------------------------------------------------------


def test_shipped_ruleset_has_the_five_criteria_of_article_4() -> None:
    ruleset = shipped_ruleset()

    assert ruleset.legal_basis.document == "124/2021/TT-BCA"
    assert ruleset.legal_basis.article == 4
    assert [c.code for c in ruleset.criteria] == ["C1", "C2", "C3", "C4", "C5"]
    assert [(c.reference.article, c.reference.clause) for c in ruleset.criteria] == [
        (4, 1),
        (4, 2),
        (4, 3),
        (4, 4),
        (4, 5),
    ]
    assert all(
        c.text.vi and c.text.en and c.text.source.startswith("http") for c in ruleset.criteria
    )


def test_shipped_evaluation_year_runs_from_1_november_to_31_october() -> None:
    period = shipped_ruleset().evaluation_year.period(2025)

    assert period == (dt.date(2024, 11, 1), dt.date(2025, 10, 31))


def test_shipped_checks_cover_the_brief() -> None:
    checks = {k.id: k for c in shipped_ruleset().criteria for k in c.checks}

    households = checks["c1_households_registered"]
    assert isinstance(households, ComputedCheck)
    assert households.parameters == {"min_ratio": 1.0}
    resolution = checks["c1_party_cell_resolution"]
    assert isinstance(resolution, AttestedCheck)
    assert resolution.evidence.dated_in_months is not None
    assert (
        resolution.evidence.dated_in_months.first,
        resolution.evidence.dated_in_months.last,
    ) == (1, 3)
    events = checks["c3_no_listed_events"]
    assert isinstance(events, AttestedCheck)
    assert len(events.statements) >= 5
    computations = {k.computation for k in checks.values() if isinstance(k, ComputedCheck)}
    assert computations == set(COMPUTATIONS)  # every computation is used at least once
    for k in checks.values():
        if isinstance(k, ComputedCheck):
            k.typed_parameters()  # each one's parameters are its computation's


def test_shipped_file_is_stored_in_nfc() -> None:
    assert unicodedata.is_normalized("NFC", SHIPPED_TEXT)


def test_shipped_wording_marks_the_unseen_clauses_as_paraphrase() -> None:
    by_code = {c.code: c for c in shipped_ruleset().criteria}

    assert by_code["C1"].text.wording_status == "verbatim"
    assert by_code["C4"].text.wording_status == "paraphrase"
    assert by_code["C5"].text.wording_status == "paraphrase"


# -- refused files -----------------------------------------------------------------------------


def test_yaml_that_does_not_parse_is_refused_with_line_and_column() -> None:
    lines = SHIPPED_TEXT.splitlines()
    at = lines.index("version: 1")
    lines[at] = "version: 1: 2"

    [problem] = problems("\n".join(lines))

    assert (problem.path, problem.line, problem.column) == (DOCUMENT, at + 1, 11)


def test_a_raw_control_character_is_refused_with_line_and_column() -> None:
    [problem] = problems("id: circular\nversion: 1\ntitle: a\x07b\n")

    assert (problem.path, problem.line, problem.column) == (DOCUMENT, 3, 9)
    assert "U+0007" in problem.message


def test_a_repeated_key_is_refused_where_it_repeats() -> None:
    [problem] = problems("id: circular\nversion: 1\nid: other\n")

    assert (problem.path, problem.line) == (DOCUMENT, 3)
    assert "twice" in problem.message


def test_aliases_are_refused() -> None:
    [problem] = problems("title: &t {vi: a, en: b}\nother: *t\n")

    assert (problem.path, problem.line) == (DOCUMENT, 2)


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert paths("- a\n- b\n") == [DOCUMENT]


def test_unknown_keys_are_refused_where_they_are() -> None:
    data = shipped_data()
    data["colour"] = "red"
    check(data, "C3", "c3_no_prolonged_disputes")["threshold"] = 3

    assert sorted(paths(as_yaml(data))) == ["colour", "criteria[2].checks[1].threshold"]


def test_an_unknown_computation_is_refused() -> None:
    data = shipped_data()
    check(data, "C3", "c3_no_prolonged_disputes")["computation"] = "disputes_cooled_down"

    [problem] = problems(as_yaml(data))

    assert problem.path == "criteria[2].checks[1].computation"
    assert "prolonged_disputes" in problem.message  # lists the known ones


@pytest.mark.parametrize(
    ("code", "check_id", "parameters", "expected"),
    [
        ("C1", "c1_households_registered", {"min_ratio": 1.5}, "parameters.min_ratio"),
        ("C1", "c1_households_registered", {}, "parameters.min_ratio"),
        ("C1", "c1_enrolment_registered", {"by_month": 3, "by_day": 31}, "parameters.by_day"),
        (
            "C4",
            "c4_fewer_incidents",
            {
                "groups": ["crime", "rumours"],
                "compare": "lower_than_previous_year",
                "pass_when_none": True,
            },
            "parameters.groups[1]",
        ),
        (
            "C4",
            "c4_fewer_incidents",
            {"groups": ["crime"], "compare": "lower", "pass_when_none": True},
            "parameters.compare",
        ),
        (
            "C4",
            "c4_no_drug_hotspot",
            {"categories": ["drugs", "drugs"], "min_incidents": 3, "window_days": 90},
            "parameters.categories",
        ),
        (
            "C4",
            "c4_no_serious_crime",
            {"groups": ["crime"], "min_severity": "dire"},
            "parameters.min_severity",
        ),
    ],
)
def test_bad_parameters_of_a_known_computation_are_refused(
    code: str, check_id: str, parameters: dict[str, Any], expected: str
) -> None:
    data = shipped_data()
    check(data, code, check_id)["parameters"] = parameters
    criterion = [c["code"] for c in data["criteria"]].index(code)
    position = [k["id"] for k in data["criteria"][criterion]["checks"]].index(check_id)

    assert paths(as_yaml(data)) == [f"criteria[{criterion}].checks[{position}].{expected}"]


def test_a_check_id_used_twice_is_refused_at_the_second_use() -> None:
    data = shipped_data()
    check(data, "C5", "c5_mediation_team_active")["id"] = "c1_households_registered"

    [problem] = problems(as_yaml(data))

    assert problem.path == "criteria[4].checks[1].id"
    assert "criteria[0].checks[2].id" in problem.message


def test_a_criterion_code_or_statement_id_used_twice_is_refused() -> None:
    data = shipped_data()
    data["criteria"][1]["code"] = "C1"
    statements = check(data, "C3", "c3_no_listed_events")["statements"]
    statements[2]["id"] = statements[0]["id"]

    assert paths(as_yaml(data)) == ["criteria[1].code", "criteria[2].checks[0].statements[2].id"]


def test_a_criterion_without_checks_is_refused() -> None:
    data = shipped_data()
    data["criteria"][1]["checks"] = []

    assert paths(as_yaml(data)) == ["criteria[1].checks"]


def test_missing_vietnamese_text_is_refused() -> None:
    data = shipped_data()
    del data["criteria"][0]["text"]["vi"]
    check(data, "C4", "c4_no_serious_crime")["label"]["vi"] = "   "

    assert sorted(paths(as_yaml(data))) == ["criteria[0].text.vi", "criteria[3].checks[1].label.vi"]


def test_a_control_character_in_a_text_is_refused() -> None:
    data = shipped_data()
    data["criteria"][2]["title"]["vi"] = "Không \x1b[31mđỏ"

    assert paths(as_yaml(data)) == ["criteria[2].title.vi"]


def test_an_unknown_kind_of_check_is_refused() -> None:
    data = shipped_data()
    data["criteria"][1]["checks"][0]["kind"] = "guessed"

    assert paths(as_yaml(data)) == ["criteria[1].checks[0].kind"]


def test_a_date_window_on_evidence_without_a_date_is_refused() -> None:
    data = shipped_data()
    check(data, "C1", "c1_party_cell_resolution")["evidence"]["date"] = False

    assert paths(as_yaml(data)) == ["criteria[0].checks[0].evidence.dated_in_months"]


def test_an_evaluation_year_longer_than_a_year_is_refused() -> None:
    data = shipped_data()
    data["evaluation_year"]["ends"] = {"month": 11, "day": 1, "year_offset": 0}

    assert paths(as_yaml(data)) == ["evaluation_year.ends"]


def test_errors_never_echo_the_input() -> None:
    data = shipped_data()
    data["criteria"][0]["code"] = "Nguyễn Văn Hảo"
    data["evaluation_year"]["text"]["source"] = "Nguyễn Văn Hảo"

    messages = [p.message for p in problems(as_yaml(data))]

    assert len(messages) == 2
    assert not any("Nguyễn" in m for m in messages)


# -- normalisation and identity ----------------------------------------------------------------


def test_decomposed_text_is_stored_as_nfc() -> None:
    data = shipped_data()
    data["criteria"][0]["title"]["vi"] = unicodedata.normalize("NFD", "Đăng ký  phấn\nđấu")

    loaded = load_ruleset(as_yaml(data))

    assert loaded.criteria[0].title.vi == "Đăng ký phấn đấu"
    assert fingerprint(loaded) == fingerprint(shipped_ruleset())


def test_fingerprint_changes_when_a_threshold_changes() -> None:
    data = shipped_data()
    check(data, "C3", "c3_no_prolonged_disputes")["parameters"]["max_open_days"] = 60

    assert fingerprint(load_ruleset(as_yaml(data))) != fingerprint(shipped_ruleset())


def test_fingerprint_ignores_layout_key_order_comments_and_number_spelling() -> None:
    data = shipped_data()
    check(data, "C1", "c1_households_registered")["parameters"]["min_ratio"] = 1
    relaid = "# re-typed by hand\n" + as_yaml(
        data, sort_keys=True, default_flow_style=True, width=60
    )

    assert fingerprint(load_ruleset(relaid)) == fingerprint(shipped_ruleset())


def test_the_same_rule_set_again_is_not_a_new_version() -> None:
    assert is_new_version(shipped_ruleset(), load_ruleset(SHIPPED_TEXT)) is False


def test_a_changed_rule_set_under_a_new_number_is_a_new_version() -> None:
    data = shipped_data()
    data["version"] = 2
    check(data, "C4", "c4_no_drug_hotspot")["parameters"]["min_incidents"] = 2

    assert is_new_version(shipped_ruleset(), load_ruleset(as_yaml(data))) is True


def conflict(current: RuleSet, candidate: RuleSet) -> list[str]:
    with pytest.raises(RuleSetConflict) as refused:
        is_new_version(current, candidate)
    assert refused.value.status == 409
    return [p.path for p in refused.value.problems]


def test_a_changed_rule_set_under_the_same_number_is_a_conflict() -> None:
    data = shipped_data()
    check(data, "C5", "c5_mediation_team_active")["parameters"]["min_members"] = 2

    assert conflict(shipped_ruleset(), load_ruleset(as_yaml(data))) == ["version"]


def test_an_older_version_is_a_conflict() -> None:
    current = shipped_ruleset().model_copy(update={"version": 2})

    assert conflict(current, shipped_ruleset()) == ["version"]


def test_another_rule_set_is_not_a_version_of_this_one() -> None:
    data = shipped_data()
    data["id"] = "ha-tinh-2026"
    data["version"] = 2

    assert conflict(shipped_ruleset(), load_ruleset(as_yaml(data))) == ["id"]


# -- round trip --------------------------------------------------------------------------------

VI = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐƯ"
# Words YAML would read as something else unless the dump quotes them.
TRICKY = [
    "yes",
    "No",
    "null",
    "~",
    "1.0",
    "0o17",
    "2024-01-01",
    "#",
    "-",
    ":",
    "'",
    '"',
    "*a",
    "&a",
    "!x",
    "%",
    "@",
    "“100%”",
]
words = st.text(alphabet=VI + "ABC019.,()/", min_size=1, max_size=8) | st.sampled_from(TRICKY)
texts = st.lists(words, min_size=1, max_size=6).map(" ".join)
slugs = st.from_regex(r"[a-z][a-z0-9_]{1,15}", fullmatch=True)
urls = st.from_regex(r"https://[a-z]{1,10}\.vn/[a-z0-9/_-]{0,20}", fullmatch=True)
SHIPPED_PARAMETERS = [
    (k["computation"], k["parameters"])
    for c in shipped_data()["criteria"]
    for k in c["checks"]
    if k["kind"] == "computed"
]


@st.composite
def labels(draw: st.DrawFn) -> dict[str, str]:
    return {"vi": draw(texts), "en": draw(texts)}


@st.composite
def wordings(draw: st.DrawFn) -> dict[str, Any]:
    wording = {
        "vi": draw(texts),
        "en": draw(texts),
        "wording_status": draw(st.sampled_from(["verbatim", "paraphrase"])),
        "source": draw(urls),
    }
    if draw(st.booleans()):
        wording["note"] = draw(texts)
    return wording


@st.composite
def checks(draw: st.DrawFn, check_id: str, statement_ids: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": check_id, "label": draw(labels())}
    if draw(st.booleans()):
        item["note"] = draw(labels())
    if draw(st.booleans()):
        computation, parameters = draw(st.sampled_from(SHIPPED_PARAMETERS))
        return item | {"kind": "computed", "computation": computation, "parameters": parameters}
    fields = ("document_number", "date", "signer", "attached_file")
    evidence: dict[str, Any] = {f: draw(st.booleans()) for f in fields}
    if evidence["date"] and draw(st.booleans()):
        first = draw(st.integers(1, 12))
        evidence["dated_in_months"] = {"first": first, "last": draw(st.integers(first, 12))}
    statements = [{"id": s, "text": draw(wordings())} for s in statement_ids]
    return item | {"kind": "attested", "evidence": evidence, "statements": statements}


@st.composite
def rulesets(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))  # checks per criterion
    ids = draw(st.lists(slugs, min_size=2 * sum(shape), max_size=2 * sum(shape), unique=True))
    criteria = []
    for n, count in enumerate(shape):
        mine, ids = ids[: 2 * count], ids[2 * count :]
        criteria.append(
            {
                "code": f"C{n + 1}",
                "reference": {"article": 4, "clause": n + 1},
                "title": draw(labels()),
                "text": draw(wordings()),
                "checks": [draw(checks(mine[2 * j], [mine[2 * j + 1]])) for j in range(count)],
            }
        )
    start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2090, 1, 1)))
    year = copy.deepcopy(shipped_data()["evaluation_year"]) | {"text": draw(wordings())}
    return {
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)),
        "version": draw(st.integers(1, 10_000)),
        "title": draw(labels()),
        "legal_basis": shipped_data()["legal_basis"] | {"note": draw(texts)},
        "effective_from": start,
        "effective_until": draw(st.none() | st.just(start + dt.timedelta(days=365))),
        "evaluation_year": year,
        "criteria": criteria,
    }


@settings(max_examples=60, deadline=None)
@given(rulesets())
def test_a_valid_rule_set_round_trips_through_its_yaml(data: dict[str, Any]) -> None:
    ruleset: RuleSet = validate_ruleset(data)

    again = load_ruleset(dump_ruleset(ruleset))

    assert again == ruleset
    assert fingerprint(again) == fingerprint(ruleset)
