"""Unit tests for the intake domain: application validation, normalisation and bilingual messages."""

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.messages import MESSAGES, error_language, message
from services.intake.domain.validation import (
    Application,
    FieldError,
    validate_application,
)
from shared.events import SKILLS

VALID = {
    "full_name": "Ravi Kumar",
    "phone": "+91 98290 12345",
    "state": "RJ",
    "district": "Jaipur",
    "age": 25,
    "consent": True,
}


def valid(**changes):
    raw = {**VALID, **changes}
    return {key: value for key, value in raw.items() if value is not ...}


def accepted(raw) -> Application:
    result = validate_application(raw)
    assert isinstance(result, Application), result
    return result


def errors(raw) -> dict[str, FieldError]:
    result = validate_application(raw)
    assert isinstance(result, list), result
    fields = [error.field for error in result]
    assert len(fields) == len(set(fields)), "more than one entry for a field"
    return {error.field: error for error in result}


def test_minimal_application_is_normalized():
    app = accepted(VALID)
    assert app.phone == "+919829012345"
    assert app.state == "RJ"
    assert app.email is None and app.block is None and app.source is None
    assert app.languages == [] and app.skills == [] and app.social == {}
    assert app.consent is True


def test_full_application_normalizes_every_field():
    app = accepted(valid(
        full_name="  Ravi \u00a0 Kumar  Sharma ",
        phone="098290-12345",
        email="Ravi.K+apply@Example.CO.IN",
        state="  rajasthan ",
        district=" jaipur ",
        block="  sanganer  ",
        age="  42 ",
        languages=["Hindi", "English", "hindi", " Marwari "],
        skills="Content Writing; fact-checking,content_writing",
        social={"Twitter": "@ravi", "instagram": " ravi.k "},
        followers="1200",
        hours_per_week=10,
        consent="on",
        source=" form-rj-01 ",
        unknown_field="ignored",
    ))
    assert app.full_name == "Ravi Kumar Sharma"
    assert app.phone == "+919829012345"
    assert app.email == "Ravi.K+apply@example.co.in"
    assert (app.state, app.district, app.block) == ("RJ", "Jaipur", "Sanganer")
    assert app.age == 42
    assert app.languages == ["Hindi", "English", "Marwari"]
    assert app.skills == ["content_writing", "fact_checking"]
    assert app.social == {"twitter": "@ravi", "instagram": "ravi.k"}
    assert (app.followers, app.hours_per_week, app.source) == (1200, 10, "form-rj-01")


def test_flat_csv_row_is_accepted():
    row = {
        "full_name": "सीता देवी", "phone": "9829012345", "email": "", "state": "राजस्थान",
        "district": "Jodhpur", "block": "", "age": "31", "languages": "हिंदी;मारवाड़ी",
        "skills": "translation;rapid_response", "social.twitter": "@sita", "social.youtube": "",
        "followers": "", "hours_per_week": "8", "consent": "yes", "source": "",
    }
    app = accepted(row)
    assert app.full_name == "सीता देवी"
    assert app.state == "RJ"
    assert app.email is None and app.block is None and app.followers is None
    assert app.languages == ["हिंदी", "मारवाड़ी"]
    assert app.skills == ["translation", "rapid_response"]
    assert app.social == {"twitter": "@sita"}
    assert app.hours_per_week == 8


def test_unknown_district_is_kept_as_typed_but_tidied():
    app = accepted(valid(state="UP", district="  Shravasti   Nagar "))
    assert app.district == "Shravasti Nagar"


@pytest.mark.parametrize(
    "name",
    ["राम", "सीता   देवी", "अमित कुमार शर्मा", "Ōtsuka", "Ravi", "ज़ोया", "ஸ்ரீ", "D'Souza-Fernandes"],
)
def test_names_in_any_script_are_accepted(name):
    expected = unicodedata.normalize("NFC", " ".join(name.split()))
    assert accepted(valid(full_name=name)).full_name == expected


def test_names_are_stored_in_nfc():
    # ज़ typed as one code point (U+095B) and as ज + nukta must store alike.
    assert accepted(valid(full_name="\u095bोया")).full_name == accepted(valid(full_name="\u091c\u093cोया")).full_name


@pytest.mark.parametrize(
    "name",
    ["Ravi\x00Kumar", "Ravi\tKumar", "Ravi\nKumar", "Ravi\x1bKumar", "Ravi\x7fKumar",
     "Ravi\u202eramuK", "Ravi\ud800"],
)
def test_control_characters_in_names_are_rejected(name):
    assert errors(valid(full_name=name))["full_name"].code == "invalid_characters"


def test_zero_width_joiners_needed_by_indic_scripts_are_kept():
    name = "क्\u200dष"
    assert accepted(valid(full_name=name)).full_name == name


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "required"), ("   ", "required"), ("R", "too_short"), (" R ", "too_short"),
     ("x" * 101, "too_long"), (12, "type"), (None, "required")],
)
def test_name_length_and_type(name, code):
    assert errors(valid(full_name=name))["full_name"].code == code


def test_name_length_bounds_are_inclusive():
    assert accepted(valid(full_name="Ra")).full_name == "Ra"
    assert len(accepted(valid(full_name="x" * 100)).full_name) == 100


def test_several_bad_fields_give_one_entry_each():
    bad = {
        "full_name": "R",
        "phone": "12345",
        "email": "not-an-address",
        "state": "Atlantis",
        "district": "J",
        "block": "\x00x",
        "age": 25.5,
        "languages": {"not": "a list"},
        "skills": ["content_writing", "juggling", "hacking"],
        "social": "twitter",
        "followers": -1,
        "hours_per_week": 0,
        "consent": "no",
        "source": "s" * 101,
    }
    found = errors(bad)
    assert {field: error.code for field, error in found.items()} == {
        "full_name": "too_short",
        "phone": "invalid_phone",
        "email": "invalid_email",
        "state": "unknown_state",
        "district": "too_short",
        "block": "invalid_characters",
        "age": "not_integer",
        "languages": "type",
        "skills": "unknown_skill",
        "social": "type",
        "followers": "out_of_range",
        "hours_per_week": "out_of_range",
        "consent": "consent_required",
        "source": "too_long",
    }
    # The first problem of a field is the one reported.
    assert found["skills"].params["value"] == "juggling"


def test_empty_body_lists_each_required_field_once():
    found = errors({})
    assert set(found) == {"full_name", "phone", "state", "district", "age", "consent"}
    assert found["consent"].code == "consent_required"
    assert all(found[field].code == "required" for field in set(found) - {"consent"})


def test_non_mapping_body_is_one_root_error():
    assert validate_application(["not", "an", "object"]) == [FieldError("_root", "type", {"expected": "object"})]


@pytest.mark.parametrize("age", [18, 80, "18", " 80 ", "+30"])
def test_ages_accepted(age):
    assert 18 <= accepted(valid(age=age)).age <= 80


@pytest.mark.parametrize(
    ("age", "code"),
    [(17, "out_of_range"), (81, "out_of_range"), ("17", "out_of_range"), ("-20", "out_of_range"),
     ("9" * 30, "out_of_range"), (25.5, "not_integer"), (25.0, "not_integer"),
     ("25.5", "not_integer"), (True, "not_integer"), (False, "not_integer"),
     ("abc", "not_integer"), ("२५", "not_integer"), ([25], "not_integer"), ("", "required")],
)
def test_ages_rejected(age, code):
    error = errors(valid(age=age))["age"]
    assert error.code == code
    if code == "out_of_range":
        assert error.params == {"min": 18, "max": 80}


@given(st.integers())
def test_age_accepted_exactly_in_range(age):
    result = validate_application(valid(age=age))
    assert isinstance(result, Application) == (18 <= age <= 80)


@pytest.mark.parametrize("consent", [True, "true", "True", "on", "yes", "1", " ON "])
def test_consent_accepted(consent):
    assert accepted(valid(consent=consent)).consent is True


@pytest.mark.parametrize("consent", [..., None, False, "false", "no", "off", "0", "", 1, "y", "agree"])
def test_consent_rejected(consent):
    assert errors(valid(consent=consent))["consent"].code == "consent_required"


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "first.last@example.com", "x+tag@sub.example.in", "o'neil@example.org",
     "user@xn--p1ai.example.xn--h2brj9c"],
)
def test_emails_accepted(email):
    assert accepted(valid(email=email)).email == email


@pytest.mark.parametrize(
    "email",
    ["plain", "@example.com", "a@", "a@b", "a@b.c", "a..b@example.com", ".a@example.com",
     "a.@example.com", "a b@example.com", "a@-example.com", "a@example..com",
     "राम@example.com", "a@example.com\nBcc: x@y.com", "a" * 65 + "@example.com",
     "a@" + "b" * 250 + ".com", 42],
)
def test_emails_rejected(email):
    assert errors(valid(email=email))["email"].code in ("invalid_email", "type")


@pytest.mark.parametrize("state", ["up", "Uttar Pradesh", "उत्तर प्रदेश", "UT", "uttarakhand"])
def test_state_names_resolve_to_codes(state):
    assert accepted(valid(state=state, district="Dehradun")).state in ("UP", "UK")


def test_block_blank_is_absent_and_short_block_rejected():
    assert accepted(valid(block="")).block is None
    assert accepted(valid(block="   ")).block is None
    assert errors(valid(block="A"))["block"].code == "too_short"
    assert errors(valid(block="B" * 61))["block"].code == "too_long"


def test_district_is_required_and_bounded():
    assert errors(valid(district=...))["district"].code == "required"
    assert errors(valid(district="D" * 61))["district"].code == "too_long"


def test_skills_outside_the_set_are_rejected_and_all_seven_accepted():
    assert accepted(valid(skills=list(SKILLS))).skills == list(SKILLS)
    assert accepted(valid(skills=",".join(reversed(SKILLS)))).skills == list(reversed(SKILLS))
    assert errors(valid(skills="coding"))["skills"].code == "unknown_skill"


def test_list_items_must_be_text():
    error = errors(valid(languages=["Hindi", 7]))["languages"]
    assert (error.code, error.params["position"]) == ("invalid_item", 2)
    assert errors(valid(languages=["x" * 51]))["languages"].code == "invalid_item"
    assert errors(valid(languages=[f"lang{i}" for i in range(21)]))["languages"].code == "too_many"


def test_social_rules():
    assert accepted(valid(social={"x": "@a"}, **{"social.x": "@b", "social.koo": "@c"})).social == {
        "x": "@a", "koo": "@c",
    }
    assert errors(valid(social={"": "@a"}))["social"].code == "invalid_platform"
    assert errors(valid(social={"bad platform": "@a"}))["social"].code == "invalid_platform"
    assert errors(valid(social={"x": "h" * 101}))["social"].code == "invalid_handle"
    assert errors(valid(social={"x": 5}))["social"].code == "invalid_handle"
    assert errors(valid(social=["x"]))["social"].code == "type"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("followers", "many", "not_integer"), ("followers", -5, "out_of_range"),
     ("hours_per_week", 81, "out_of_range"), ("hours_per_week", "ten", "not_integer")],
)
def test_optional_integers(field, value, code):
    assert errors(valid(**{field: value}))[field].code == code


def test_optional_integers_bounds():
    app = accepted(valid(followers=0, hours_per_week=80))
    assert (app.followers, app.hours_per_week) == (0, 80)
    assert accepted(valid(hours_per_week="1")).hours_per_week == 1


def test_source_bounds():
    assert accepted(valid(source="s" * 100)).source == "s" * 100
    assert accepted(valid(source="")).source is None


def test_phone_errors():
    assert errors(valid(phone="5829012345"))["phone"].code == "invalid_phone"
    assert errors(valid(phone=9829012345))["phone"].code == "type"
    assert errors(valid(phone=...))["phone"].code == "required"


def test_application_serializes_for_the_event():
    data = accepted(valid(skills="translation")).model_dump(mode="json")
    assert data["phone"] == "+919829012345"
    assert data["skills"] == ["translation"]
    assert Application.model_validate(data) == accepted(valid(skills="translation"))


# One sample error per message code, with the params the validator gives it.
SAMPLES = [
    FieldError("full_name", "required", {}),
    FieldError("email", "type", {"expected": "text"}),
    FieldError("full_name", "too_short", {"min": 2}),
    FieldError("full_name", "too_long", {"max": 100}),
    FieldError("full_name", "invalid_characters", {}),
    FieldError("phone", "invalid_phone", {}),
    FieldError("email", "invalid_email", {}),
    FieldError("state", "unknown_state", {}),
    FieldError("age", "not_integer", {}),
    FieldError("age", "out_of_range", {"min": 18, "max": 80}),
    FieldError("languages", "invalid_item", {"position": 2, "max": 50}),
    FieldError("languages", "too_many", {"max": 20}),
    FieldError("skills", "unknown_skill", {"value": "juggling"}),
    FieldError("social", "invalid_platform", {"platform": "bad one", "max": 30}),
    FieldError("social", "invalid_handle", {"platform": "x", "max": 100}),
    FieldError("consent", "consent_required", {}),
    FieldError("_root", "invalid_json", {}),
    FieldError("_root", "unreadable_json", {"reason": "JSON nested too deeply"}),
    FieldError("_root", "unreadable_form", {}),
    FieldError("_root", "invalid_csv", {}),
    FieldError("_root", "too_many_values", {"got": 9, "columns": 7}),
]

DEVANAGARI = re.compile(r"[\u0900-\u097f]")


def test_samples_cover_every_code():
    assert {sample.code for sample in SAMPLES} == set(MESSAGES)


@pytest.mark.parametrize("error", SAMPLES, ids=lambda error: error.code)
def test_hindi_messages_differ_from_english_and_are_devanagari(error):
    english, hindi = message(error, "en"), message(error, "hi")
    assert english != hindi
    assert DEVANAGARI.search(hindi)
    assert not DEVANAGARI.search(english)
    assert "{" not in english and "{" not in hindi
    for value in error.params.values():
        if isinstance(value, int):
            assert str(value) in english and str(value) in hindi


def test_messages_for_real_errors_and_unknown_codes():
    found = errors({"age": "17"})
    assert message(found["age"], "en") == "Must be between 18 and 80."
    assert message(found["age"], "hi") == "18 से 80 के बीच होना चाहिए।"
    assert message(FieldError("x", "no_such_code", {}), "hi") == "अमान्य मान।"
    assert message(FieldError("x", "too_short", {}), "fr") == "Must be at least ? characters long."


@pytest.mark.parametrize(
    ("header", "lang"),
    [(None, "en"), ("", "en"), ("hi", "hi"), ("hi-IN", "hi"), ("HI", "hi"), ("en", "en"),
     ("hi-IN,hi;q=0.9,en;q=0.8", "hi"), ("en-US,en;q=0.9,hi;q=0.8", "en"),
     ("en;q=0.5, hi;q=0.9", "hi"), ("fr, hi;q=0.5", "hi"), ("fr, de", "en"), ("*", "en"),
     ("hi;q=0", "en"), ("hi, en", "hi"), ("en, hi", "en"), ("hi;q=abc, en;q=0.1", "en"),
     ("hi;q=2", "en"), ("garbage;;;", "en"), ("hin", "en")],
)
def test_error_language(header, lang):
    assert error_language(header) == lang
