"""Intake's audit of erasures on the real broker and PostgreSQL: by an admin or by the applicant, one row in the
erasure's transaction, none for a refused one, nothing personal in it; GET /v1/audit (admin)."""

from __future__ import annotations

import json

from shared.auth import token_fingerprint
from tests.support import ADMIN_TOKEN, INTERVIEWER_TOKEN, admin_headers, bearer, form_key_headers

phones = iter(range(9_400_000_000, 9_500_000_000))


async def apply(intake) -> tuple[str, dict]:
    phone = next(phones)
    body = {"full_name": f"Kavita Rao {phone}", "phone": f"+91 {phone}", "email": f"kavita{phone}@example.com",
            "state": "MP", "district": "Bhopal", "block": "Huzur", "age": 27, "consent": True}
    response = await intake.post("/v1/applications", json=body, headers=form_key_headers())
    assert response.status_code == 201, response.text
    return response.json()["application_id"], body


async def audit_rows(intake_db) -> list[dict]:
    rows = await intake_db.fetch("SELECT actor, action, target, before, after FROM audit ORDER BY at, id")
    return [{k: json.loads(v) if k in ("actor", "before", "after") and v else v for k, v in r.items()} for r in rows]


async def test_erasures_by_an_admin_and_by_the_applicant_are_audited(intake, intake_db) -> None:
    by_admin, admin_body = await apply(intake)
    by_applicant, applicant_body = await apply(intake)
    before = len(await audit_rows(intake_db))
    assert (await intake.delete(f"/v1/applications/{by_admin}", headers=admin_headers())).status_code == 204
    assert (await intake.request("DELETE", f"/v1/applications/{by_applicant}",
                                 json={"phone": applicant_body["phone"]})).status_code == 204
    rows = (await audit_rows(intake_db))[before:]
    assert rows == [
        {"actor": {"role": "admin", "states": None, "fingerprint": token_fingerprint(ADMIN_TOKEN)},
         "action": "application.erased", "target": by_admin, "before": {"erased": False}, "after": {"erased": True}},
        {"actor": {"role": "applicant", "states": None, "fingerprint": None},
         "action": "application.erased", "target": by_applicant, "before": {"erased": False},
         "after": {"erased": True}},
    ]
    trail = (await intake.get("/v1/audit", headers=admin_headers())).json()
    assert [(i["target"], i["actor"]["role"]) for i in trail["items"]][-2:] == [(by_admin, "admin"),
                                                                              (by_applicant, "applicant")]
    text = json.dumps(await audit_rows(intake_db), ensure_ascii=False)
    for body in (admin_body, applicant_body):
        for personal in (body["full_name"], body["phone"], body["phone"].replace("+91 ", ""), body["email"]):
            assert personal not in text, personal
    assert ADMIN_TOKEN not in text


async def test_a_refused_erasure_leaves_no_row(intake, intake_db) -> None:
    application_id, _ = await apply(intake)
    before = len(await audit_rows(intake_db))
    refused = [
        (404, intake.request("DELETE", f"/v1/applications/{application_id}", json={"phone": "+91 9999999999"})),
        (403, intake.delete(f"/v1/applications/{application_id}", headers=bearer(INTERVIEWER_TOKEN))),
        (401, intake.delete(f"/v1/applications/{application_id}", headers=bearer("nope"))),
        (401, intake.delete(f"/v1/applications/{application_id}")),
        (404, intake.delete("/v1/applications/00000000-0000-4000-8000-000000000000", headers=admin_headers())),
    ]
    for status, request in refused:
        assert (await request).status_code == status
    assert len(await audit_rows(intake_db)) == before


async def test_the_audit_is_for_admins(intake) -> None:
    assert (await intake.get("/v1/audit")).status_code == 401
    assert (await intake.get("/v1/audit", headers=bearer(INTERVIEWER_TOKEN))).status_code == 403
    assert (await intake.get("/v1/audit", headers=admin_headers(),
                             params={"since": "2026-01-01T00:00:00"})).status_code == 422
    assert (await intake.get("/v1/audit", headers=admin_headers(),
                             params={"since": "2026-01-01T00:00:00+05:30", "limit": 500})).status_code == 200
