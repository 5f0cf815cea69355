"""Yearly evaluations over the API: judged from the topics, attested with documents, proposed,
recognised or refused with events on the topic; a new rule-set version leaves recognised
evaluations as they were; bad input is a problem naming the field and changes nothing."""

from __future__ import annotations

import io
import json
import unicodedata
from types import ModuleType
from typing import Any

import httpx
from pypdf import PdfReader

from binhyen.contracts.topics import REPORTING_EVALUATIONS
from binhyen.kit.kafka import KafkaAccess
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.kafka import read_topic
from binhyen.kit.testing.servers import Servers
from binhyen.reporting.domain.rules import dump_ruleset
from binhyen.reporting.rulesets import shipped_ruleset
from binhyen.reporting.sample_history import COMMUNE
from binhyen.reporting.settings import Settings

PDF_BYTES = b"%PDF-1.4\n% a scanned resolution\n%%EOF\n"
GOOD = "h-good"


def fields(problem: httpx.Response) -> set[str]:
    """The fields a problem+json answer names."""
    return {e["field"] for e in problem.json().get("errors") or []}


def checks(evaluation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check id → judged check of an evaluation as the API shows it."""
    return {c["check_id"]: c for crit in evaluation["results"] for c in crit["checks"]}


async def attest_all(
    client: httpx.AsyncClient, evaluation_id: str, headers: dict[str, str], file_id: str
) -> dict[str, Any]:
    """Attest every attested check of the shipped rule set, as the commune would."""
    bodies = [
        {"check_id": "c1_party_cell_resolution", "document_number": "01-NQ/CB",
         "date": "2026-02-01", "signer": "Bí thư chi bộ", "attached_file": file_id},
        {"check_id": "c2_law_implemented", "document_number": "05/BC-T", "date": "2026-09-30",
         "signer": "Trưởng thôn", "attached_file": file_id},
        {"check_id": "c3_no_listed_events", "date": "2026-10-15", "signer": "Công an xã",
         "statements": ["anti_party_activity", "sabotage", "illegal_religion",
                        "exploiting_beliefs_or_disputes", "separatism", "prolonged_disputes",
                        "incitement"]},
        {"check_id": "c5_self_management_models", "date": "2026-06-01",
         "signer": "Trưởng thôn", "attached_file": file_id},
    ]  # fmt: skip
    answer: dict[str, Any] = {}
    for body in bodies:
        got = await client.post(
            f"/api/v1/evaluations/{evaluation_id}/attestations", json=body, headers=headers
        )
        assert got.status_code == 200, got.text
        answer = got.json()
    return answer


async def test_a_hamlet_is_judged_attested_proposed_and_recognised_or_refused(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    hamlet_officer = issuer.headers(("hamlet_officer", GOOD))
    commune = issuer.headers(("commune_officer", COMMUNE))
    async with history.deployment(reporting_settings, servers, "eval") as (client, s, _):
        await history.publish(s, history.small_history() + history.good_hamlet(GOOD))
        await history.caught_up(s)

        opened = await client.post(
            "/api/v1/evaluations", json={"hamlet_id": GOOD, "year": 2026}, headers=hamlet_officer
        )
        assert opened.status_code == 201, opened.text
        good = opened.json()
        assert good["status"] == "draft" and good["ruleset_version"] == 1
        judged = checks(good)
        computed = [c for c in judged.values() if c["kind"] == "computed"]
        assert computed and all(c["result"]["outcome"] == "met" for c in computed), computed
        assert judged["c1_party_cell_resolution"]["result"]["outcome"] == "pending"
        again = await client.post(
            "/api/v1/evaluations", json={"hamlet_id": GOOD, "year": 2026}, headers=hamlet_officer
        )
        assert again.status_code == 200 and again.json()["version"] == good["version"]

        # An attestation without its document is refused, naming the field; nothing changes.
        refused = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/attestations",
            json={"check_id": "c1_party_cell_resolution", "date": "2026-02-01",
                  "signer": "Bí thư chi bộ"},
            headers=hamlet_officer,
        )  # fmt: skip
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert fields(refused) & {"document_number", "attached_file"}, refused.json()
        unchanged = await client.get(f"/api/v1/evaluations/{GOOD}:2026", headers=hamlet_officer)
        assert unchanged.json()["version"] == good["version"]
        not_a_file = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/files", content=b"hello", headers=hamlet_officer
        )
        assert not_a_file.status_code == 422 and fields(not_a_file) == {"file"}

        uploaded = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/files", content=PDF_BYTES, headers=hamlet_officer
        )
        assert uploaded.status_code == 201, uploaded.text
        attested = await attest_all(client, f"{GOOD}:2026", hamlet_officer,
                                    uploaded.json()["file_id"])  # fmt: skip
        assert attested["met"] is True, checks(attested)

        # The hamlet may not decide for itself.
        decision = {"document_number": "125/QĐ-UBND", "date": "2026-11-20",
                    "signer_position": "Chủ tịch UBND xã"}  # fmt: skip
        proposed = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/propose", headers=hamlet_officer
        )
        assert proposed.status_code == 200 and proposed.json()["status"] == "proposed"
        self_decided = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/recognise", json=decision, headers=hamlet_officer
        )
        assert self_decided.status_code == 403, self_decided.text
        recognised = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/recognise", json=decision, headers=commune
        )
        assert recognised.status_code == 200, recognised.text
        assert recognised.json()["status"] == "recognised"

        # A hamlet of the generated history fails checks: proposed, then refused.
        other = "h-004"
        draft = await client.post(
            "/api/v1/evaluations", json={"hamlet_id": other, "year": 2026}, headers=commune
        )
        assert draft.status_code == 201, draft.text
        failing = [
            c for c, v in checks(draft.json()).items() if v["result"]["outcome"] == "not_met"
        ]
        assert "c1_households_registered" in failing  # one household did not pledge
        households = checks(draft.json())["c1_households_registered"]["result"]["evidence"]
        assert households and households[0]["count"] >= 1
        await client.post(f"/api/v1/evaluations/{other}:2026/propose", headers=commune)
        no_reason = await client.post(
            f"/api/v1/evaluations/{other}:2026/refuse", json=decision, headers=commune
        )
        assert no_reason.status_code == 422, no_reason.text
        refusal = await client.post(
            f"/api/v1/evaluations/{other}:2026/refuse",
            json={**decision, "reason": "Chưa đủ 100% hộ gia đình ký cam kết."},
            headers=commune,
        )
        assert refusal.status_code == 200 and refusal.json()["status"] == "refused"

        rollup = await client.get(
            "/api/v1/evaluations", params={"unit_id": COMMUNE, "year": 2026}, headers=commune
        )
        assert rollup.status_code == 200, rollup.text
        states = {h["hamlet_id"]: h["state"] for h in rollup.json()["hamlets"]}
        assert states[GOOD] == "recognised" and states[other] == "refused"
        assert states["h-001"] == "not_started"

        pdf = await client.get(f"/api/v1/evaluations/{GOOD}:2026/report.pdf", headers=commune)
        assert pdf.status_code == 200, pdf.text
        text = unicodedata.normalize(
            "NFC", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        )
        for heading in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "II. KẾT QUẢ ĐÁNH GIÁ",
                        "Bảng 2. Kết quả đánh giá theo từng tiêu chí", "125/QĐ-UBND"):  # fmt: skip
            assert heading in text, heading

        events = await read_topic(
            KafkaAccess.of(s), s.topic(REPORTING_EVALUATIONS.name),
            until=lambda records: len(records) >= 5,
        )  # fmt: skip
    by_key: dict[str, list[tuple[str, str]]] = {}
    for record in events:
        event = json.loads(record.value)
        by_key.setdefault(record.key.decode(), []).append(
            (event["type"].split(".")[-2], event["data"]["status"])
        )
    assert by_key[f"{GOOD}:2026"] == [
        ("opened", "draft"),
        ("proposed", "proposed"),
        ("recognised", "recognised"),
    ]
    assert by_key[f"{other}:2026"] == [
        ("opened", "draft"),
        ("proposed", "proposed"),
        ("refused", "refused"),
    ]
    for record in events:
        assert b"B\xc3\xad th\xc6\xb0" not in record.value  # no signer's name on the topic


async def test_a_new_rule_set_version_leaves_recognised_evaluations_unchanged(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    commune = issuer.headers(("commune_officer", COMMUNE))
    admin = issuer.headers(("admin", "*"))
    async with history.deployment(reporting_settings, servers, "rules") as (client, s, _):
        await history.publish(s, history.good_hamlet(GOOD) + history.good_hamlet("h-good2"))
        await history.caught_up(s)
        for hamlet in (GOOD, "h-good2"):
            made = await client.post(
                "/api/v1/evaluations", json={"hamlet_id": hamlet, "year": 2026}, headers=commune
            )
            assert made.status_code == 201, made.text
        file_id = (
            await client.post(f"/api/v1/evaluations/{GOOD}:2026/files", content=PDF_BYTES,
                              headers=commune)
        ).json()["file_id"]  # fmt: skip
        await attest_all(client, f"{GOOD}:2026", commune, file_id)
        await client.post(f"/api/v1/evaluations/{GOOD}:2026/propose", headers=commune)
        decided = await client.post(
            f"/api/v1/evaluations/{GOOD}:2026/recognise",
            json={"document_number": "7/QĐ-UBND", "date": "2026-11-25",
                  "signer_position": "Chủ tịch UBND xã"},
            headers=commune,
        )  # fmt: skip
        assert decided.status_code == 200, decided.text
        before = decided.json()

        shipped = shipped_ruleset()
        text = dump_ruleset(shipped)
        # Bad rule sets: nothing changes.
        unknown = text.replace("computation: serious_incidents", "computation: no_such_check")
        bad = await client.put("/api/v1/rulesets/current", content=unknown.encode(), headers=admin)
        assert bad.status_code == 422, bad.text
        assert any("computation" in f for f in fields(bad)), bad.json()
        same_number = text.replace("max_open_days: 90", "max_open_days: 30")
        clash = await client.put(
            "/api/v1/rulesets/current", content=same_number.encode(), headers=admin
        )
        assert clash.status_code == 409, clash.text
        not_admin = await client.put(
            "/api/v1/rulesets/current", content=text.encode(), headers=commune
        )
        assert not_admin.status_code == 403

        # Version 2: one dispute open for days is now too long (max 1 day).
        newer = same_number.replace("max_open_days: 30", "max_open_days: 1").replace(
            f"version: {shipped.version}\n", f"version: {shipped.version + 1}\n", 1
        )
        stored = await client.put("/api/v1/rulesets/current", content=newer.encode(), headers=admin)
        assert stored.status_code == 201, stored.text
        assert stored.json()["version"] == shipped.version + 1
        current = await client.get("/api/v1/rulesets/current", headers=commune)
        assert current.json()["version"] == shipped.version + 1

        after = (await client.get(f"/api/v1/evaluations/{GOOD}:2026", headers=commune)).json()
        assert after["ruleset_version"] == before["ruleset_version"] == 1
        assert after["results"] == before["results"] and after["version"] == before["version"]
        rejudge = await client.post(f"/api/v1/evaluations/{GOOD}:2026/judge", headers=commune)
        assert rejudge.status_code == 409, rejudge.text  # recognised is final

        draft = await client.post("/api/v1/evaluations/h-good2:2026/judge", headers=commune)
        assert draft.status_code == 200, draft.text
        assert draft.json()["ruleset_version"] == shipped.version + 1
        outcome = checks(draft.json())["c3_no_prolonged_disputes"]["result"]["outcome"]
        assert outcome == "not_met"
