"""Unit tests for shared.phone: normalisation, masking and keyed hashing of Indian mobile numbers."""

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.phone import mask_phone, normalize_phone, phone_hash

mobiles = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("6789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@st.composite
def spellings(draw, national: str) -> str:
    """One accepted spelling: a prefix, then separators at random places between digits."""
    prefix = draw(st.sampled_from(["", "+91", "91", "0"]))
    digits = prefix.lstrip("+") + national
    out = "+" if prefix.startswith("+") else ""
    for index, digit in enumerate(digits):
        out += digit
        if index < len(digits) - 1:
            out += draw(st.text(alphabet=" -", max_size=2))
    padding = draw(st.sampled_from(["", " ", "\t", "\n"]))
    return padding + out + padding


@given(st.data(), mobiles)
def test_every_accepted_spelling_normalizes_to_the_same_value(data, national):
    assert normalize_phone(data.draw(spellings(national))) == "+91" + national


@pytest.mark.parametrize(
    "text",
    ["9829012345", "+919829012345", "919829012345", "09829012345",
     "+91 98290 12345", "+91-98290-12345", "0 98290-12345", "98290  --12345", " 9829012345\n"],
)
def test_hand_spellings(text):
    assert normalize_phone(text) == "+919829012345"


@given(st.sampled_from(["", "+91", "91", "0"]), st.sampled_from("6789"),
       st.text(alphabet="0123456789", max_size=15).filter(lambda rest: len(rest) != 9))
def test_wrong_lengths_are_rejected(prefix, first, rest):
    text = prefix + first + rest
    # Two draws are valid spellings in disguise: "91" + 8 digits is a bare
    # ten-digit mobile, and 12 bare digits starting 91 carry the prefix.
    assume(not (prefix == "91" and len(rest) == 7))
    assume(not (prefix == "" and len(text) == 12 and text.startswith("91") and text[2] in "6789"))
    assert normalize_phone(text) is None


@given(st.sampled_from(["", "+91", "91", "0"]), st.sampled_from("012345"),
       st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_first_digit_below_six_is_rejected(prefix, first, rest):
    assert normalize_phone(prefix + first + rest) is None


@given(mobiles, st.integers(min_value=0, max_value=10),
       st.characters(exclude_characters="0123456789 -+\t\r\n"))
def test_any_other_character_is_rejected(national, position, intruder):
    assert normalize_phone(national[:position] + intruder + national[position:]) is None


@given(st.text())
def test_random_text_is_rejected_unless_it_is_a_mobile(text):
    result = normalize_phone(text)
    if result is not None:
        assert re.fullmatch(r"\+91[6-9][0-9]{9}", result)
        assert set(text.strip(" \t\r\n")) <= set("0123456789 -+")
        assert re.sub(r"[^0-9]", "", text).endswith(result[3:])


@pytest.mark.parametrize(
    "text",
    ["", "   ", "+", "0091 98290 12345", "+91 0 98290 12345", "+ 91 98290 12345",
     "(+91) 98290 12345", "98290.12345", "-9829012345", "9829012345-", "+9829012345",
     "९८२९०१२३४५", "+91९८२९०१२३४५", "９８２９０１２３４５", "98290 1234", "98290123456",
     "5829012345", "+91 98290 12345 ext 2", "98290\u00a012345", "98290\u201312345"],
)
def test_hand_rejections(text):
    assert normalize_phone(text) is None


def test_non_strings_are_rejected():
    assert normalize_phone(9829012345) is None
    assert normalize_phone(None) is None


@given(mobiles)
def test_mask_of_a_mobile_keeps_only_the_last_four_digits(national):
    masked = mask_phone("+91" + national)
    assert masked == "+91******" + national[-4:]
    assert re.sub(r"[^0-9]", "", masked[3:]) == national[-4:]


@given(st.text())
def test_mask_of_anything_reveals_at_most_four_trailing_digits(text):
    masked = mask_phone(text)
    shown = re.sub(r"[^0-9]", "", masked[3:] if masked.startswith("+91") else masked)
    assert len(shown) <= 4
    assert re.sub(r"[^0-9]", "", text).endswith(shown)
    # Letters and other text of a malformed field never reach the log.
    assert set(masked) <= set("+0123456789*")


def test_mask_hand_cases():
    assert mask_phone("+91 98765 43210") == "+91******3210"
    assert mask_phone("12345") == "****"
    assert mask_phone("Ravi 1234567890123") == "*********0123"


def test_phone_hash_is_keyed_and_deterministic():
    key = b"k" * 32
    first = phone_hash("+919829012345", key)
    assert first == phone_hash("+919829012345", key)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first != phone_hash("+919829012345", b"other key")
    assert first != phone_hash("+919829012346", key)


def test_phone_hash_refuses_unnormalized_numbers_and_empty_keys():
    with pytest.raises(ValueError):
        phone_hash("98290 12345", b"key")
    with pytest.raises(ValueError):
        phone_hash("+915829012345", b"key")
    with pytest.raises(ValueError):
        phone_hash("+919829012345", b"")
