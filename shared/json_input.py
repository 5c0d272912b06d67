"""Untrusted JSON (request bodies, bulk lines): any document that cannot be parsed, however it fails,
is a ValueError for the caller to answer as bad input, never an exception that becomes a 500."""

from __future__ import annotations

import json
from typing import Any


def loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:  # nested deeper than the parser's recursion allows (thousands of [ or {)
        raise ValueError("JSON nested too deeply") from None
