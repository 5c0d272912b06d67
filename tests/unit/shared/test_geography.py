"""Unit tests for shared.geography: the 36 states/UTs, name resolution and campaign weights."""

import math
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.geography import (
    BLOCKS_BY_DISTRICT,
    STATES,
    State,
    resolve_state,
    state_name,
)

CODES = (
    "AN AP AR AS BR CH CG DH DL GA GJ HR HP JK JH KA KL LA LD MP MH MN ML MZ NL OD PY PB "
    "RJ SK TN TG TR UP UK WB"
).split()

# Places that really have fewer than six districts.
SMALL = {"AN": 3, "CH": 1, "DH": 3, "GA": 2, "LA": 2, "LD": 1, "PY": 4}


def test_exactly_the_36_codes_in_code_order():
    assert len(CODES) == 36
    assert list(STATES) == sorted(CODES)
    assert all(isinstance(state, State) and state.code == code for code, state in STATES.items())


@pytest.mark.parametrize("code", CODES)
def test_every_code_resolves_in_any_case(code):
    assert resolve_state(code) == code
    assert resolve_state(code.lower()) == code
    assert resolve_state(f" in-{code.lower()} ") == code


@pytest.mark.parametrize("code", CODES)
def test_english_and_hindi_names_resolve(code):
    state = STATES[code]
    assert resolve_state(state.name_en) == code
    assert resolve_state(state.name_en.upper()) == code
    assert resolve_state("  " + state.name_en.lower().replace(" ", "   ") + " ") == code
    assert resolve_state(state.name_hi) == code
    assert resolve_state(unicodedata.normalize("NFD", state.name_hi)) == code


@pytest.mark.parametrize("code", CODES)
def test_hindi_names_are_devanagari_and_nfc(code):
    name = STATES[code].name_hi
    assert name == unicodedata.normalize("NFC", name)
    letters = [ch for ch in name if not ch.isspace()]
    assert letters and all("\u0900" <= ch <= "\u097f" for ch in letters)


def test_hindi_examples():
    assert state_name("RJ", "hi") == "राजस्थान"
    assert state_name("UP", "hi") == "उत्तर प्रदेश"
    assert state_name("UP") == "Uttar Pradesh"
    assert resolve_state("राजस्थान") == "RJ"
    # चंडीगढ़ with the nukta letter precomposed (U+095D), which NFC decomposes.
    assert resolve_state("चंडीग\u095d") == "CH"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("OR", "OD"), ("ts", "TG"), ("UT", "UK"), ("CT", "CG"), ("DN", "DH"), ("dd", "DH"),
        ("Orissa", "OD"), ("Pondicherry", "PY"), ("Jammu & Kashmir", "JK"),
        ("Jammu and Kashmir", "JK"), ("jammu&kashmir", "JK"), ("Andaman & Nicobar", "AN"),
        ("Andaman and Nicobar Islands", "AN"), ("Delhi", "DL"), ("NCT of Delhi", "DL"),
        ("Dadra and Nagar Haveli and Daman and Diu", "DH"),
        ("Dadra & Nagar Haveli & Daman & Diu", "DH"),
        ("Dadra and Nagar Haveli & Daman and Diu", "DH"),
        ("uttar   pradesh", "UP"), ("उड़ीसा", "OD"), ("उत्तराखण्ड", "UK"),
    ],
)
def test_variants(text, code):
    assert resolve_state(text) == code


@pytest.mark.parametrize(
    "text",
    ["", "  ", "XX", "IN", "IN-XX", "Rajasthann", "Uttar", "राज", "R J", "ſk", None, 12],
)
def test_unknown_gives_none(text):
    assert resolve_state(text) is None


@given(st.text(max_size=3))
def test_short_text_resolves_only_to_real_codes(text):
    assert resolve_state(text) in (None, *CODES)


def test_state_name_rejects_unknown_code_and_language():
    with pytest.raises(KeyError):
        state_name("XX")
    with pytest.raises(ValueError):
        state_name("RJ", "fr")


def test_weights_sum_to_one_with_rajasthan_a_fifth_and_the_largest():
    weights = {code: state.weight for code, state in STATES.items()}
    assert math.isclose(math.fsum(weights.values()), 1.0, abs_tol=1e-9)
    assert weights["RJ"] == pytest.approx(0.20)
    assert max(weights, key=weights.get) == "RJ"
    assert all(weight > 0 for weight in weights.values())
    # Others follow population: UP > MH > BR and Lakshadweep is the smallest.
    assert weights["UP"] > weights["MH"] > weights["BR"] > weights["GJ"]
    assert min(weights, key=weights.get) == "LD"


@pytest.mark.parametrize("code", CODES)
def test_districts_are_plausible(code):
    districts = STATES[code].districts
    assert len(districts) >= SMALL.get(code, 6)
    assert len(set(districts)) == len(districts)
    assert all(2 <= len(name) <= 60 and name == " ".join(name.split()) for name in districts)


def test_blocks_belong_to_listed_districts():
    assert len(BLOCKS_BY_DISTRICT) >= 12
    assert ("Sanganer", "Amber", "Chaksu") == BLOCKS_BY_DISTRICT[("RJ", "Jaipur")][:3]
    for (code, district), blocks in BLOCKS_BY_DISTRICT.items():
        assert district in STATES[code].districts
        assert blocks and all(2 <= len(block) <= 60 for block in blocks)
