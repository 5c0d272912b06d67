"""shared.json_input: what it refuses, each as a ValueError, and what it still reads."""

from __future__ import annotations

import pytest

from shared import json_input


@pytest.mark.parametrize("raw", [
    b"[" * 5000 + b"]" * 5000, b'{"a": 1, "a": 2}', b"[1e999]", b"[NaN]", b"[-Infinity]", b"1" + b"0" * 200,
    b'["a\\u0000b"]', b'{"\\ud800": 1}', b'["\\udc00"]', b'["\xff"]', b'["\xed\xa0\x80"]', b"\xef\xbb\xbf{}",
])
def test_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        json_input.loads(raw)


def test_read() -> None:
    assert json_input.loads(b'{"a": "\\ud83d\\ude00", "b": [1.5, 10], "c": "x\\\\u0000"}') == {
        "a": "\U0001F600", "b": [1.5, 10], "c": "x\\u0000"}
    assert json_input.loads('{"name": "आशा"}') == {"name": "आशा"}
