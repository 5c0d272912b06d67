"""The audit's one place (shared.audit) and the token fingerprint (shared.auth): who an actor is and what a row
holds; and CORS_ORIGINS as settings read it. Paging the trail is tested against PostgreSQL
(tests/integration/test_audit.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone

from shared import audit
from shared.auth import Staff, parse_staff_tokens, token_fingerprint
from shared.settings import Settings

AT = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_a_fingerprint_is_the_first_12_hex_of_the_tokens_sha256_and_never_the_token() -> None:
    token = "s3cret-token-of-asha"
    assert token_fingerprint(token) == hashlib.sha256(token.encode()).hexdigest()[:12]
    staff = parse_staff_tokens(f"{token}:interviewer:RJ|UP,other:admin")
    assert staff[token].fingerprint == token_fingerprint(token) != staff["other"].fingerprint
    assert token not in repr(staff[token])


def test_the_actor_is_role_states_and_fingerprint() -> None:
    tokens = parse_staff_tokens("a:admin,i:interviewer:UP|RJ,any:interviewer")
    assert audit.actor_of(tokens["i"]) == {"role": "interviewer", "states": ["RJ", "UP"],
                                           "fingerprint": token_fingerprint("i")}
    assert audit.actor_of(tokens["a"])["states"] is None and audit.actor_of(tokens["any"])["states"] is None
    assert audit.APPLICANT == {"role": "applicant", "states": None, "fingerprint": None}
    assert audit.Actor(**audit.actor_of(tokens["i"])).fingerprint == token_fingerprint("i")


def test_a_row_holds_json_values() -> None:
    application_id = uuid.uuid4()
    actor, action, target, before, after = audit.row(audit.APPLICANT, "x.y", "RJ", {"day": date(2026, 1, 2)},
                                                     {"id": application_id, "at": AT})
    assert (before, after) == ({"day": "2026-01-02"}, {"id": str(application_id), "at": "2026-03-01T00:00:00Z"})
    assert audit.row(audit.APPLICANT, "x", "t", None, None)[3:] == (None, None)




def test_cors_origins_are_comma_separated_and_empty_by_default() -> None:
    assert Settings().cors_origin_list() == []
    assert Settings(cors_origins=" http://a:1/ , ,https://b.example").cors_origin_list() == ["http://a:1",
                                                                                          "https://b.example"]
    assert Staff("admin", None).fingerprint is None  # made in a test, not from STAFF_TOKENS
