"""Intake domain, messages (pure): English and Hindi words for each FieldError, and the language a request prefers."""

from __future__ import annotations

import re
from typing import Literal

from services.intake.domain.validation import FieldError
from shared.events import SKILLS

# Templates take their parameters by name from FieldError.params.
MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "en": "This field is required.",
        "hi": "यह जानकारी भरना आवश्यक है।",
    },
    "type": {
        "en": "Expected {expected}.",
        "hi": "यहाँ {expected} अपेक्षित है।",
    },
    "too_short": {
        "en": "Must be at least {min} characters long.",
        "hi": "कम से कम {min} अक्षर होने चाहिए।",
    },
    "too_long": {
        "en": "Must be at most {max} characters long.",
        "hi": "अधिकतम {max} अक्षर हो सकते हैं।",
    },
    "invalid_characters": {
        "en": "Contains control or hidden formatting characters; please retype it.",
        "hi": "इसमें नियंत्रण (कंट्रोल) या छिपे हुए वर्ण हैं; कृपया दोबारा टाइप करें।",
    },
    "invalid_phone": {
        "en": "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9 "
              "(it may begin with +91, 91 or 0).",
        "hi": "6, 7, 8 या 9 से शुरू होने वाला 10 अंकों का भारतीय मोबाइल नंबर दर्ज करें "
              "(शुरू में +91, 91 या 0 लगा सकते हैं)।",
    },
    "invalid_email": {
        "en": "Enter a valid email address, such as name@example.com.",
        "hi": "सही ईमेल पता दर्ज करें, जैसे name@example.com।",
    },
    "unknown_state": {
        "en": "Enter an Indian state or union territory: its two-letter code (such as RJ) "
              "or its name in English or Hindi.",
        "hi": "भारत का कोई राज्य या केंद्र शासित प्रदेश दर्ज करें: दो अक्षरों का कोड (जैसे RJ) "
              "या हिंदी या अंग्रेज़ी में उसका नाम।",
    },
    "not_integer": {
        "en": "Must be a whole number.",
        "hi": "पूर्ण संख्या होनी चाहिए।",
    },
    "out_of_range": {
        "en": "Must be between {min} and {max}.",
        "hi": "{min} से {max} के बीच होना चाहिए।",
    },
    "invalid_item": {
        "en": "Entry {position} must be text of at most {max} characters, without control characters.",
        "hi": "प्रविष्टि {position} अधिकतम {max} अक्षरों का पाठ होनी चाहिए, बिना कंट्रोल वर्णों के।",
    },
    "too_many": {
        "en": "At most {max} entries are allowed.",
        "hi": "अधिकतम {max} प्रविष्टियाँ दी जा सकती हैं।",
    },
    "unknown_skill": {
        "en": "Unknown skill \u201c{value}\u201d; choose from {allowed}.",
        "hi": "अज्ञात कौशल \u201c{value}\u201d; इनमें से चुनें: {allowed}।",
    },
    "invalid_platform": {
        "en": "\u201c{platform}\u201d is not a valid platform name (letters, digits, . _ -, at most {max}).",
        "hi": "\u201c{platform}\u201d मान्य प्लेटफ़ॉर्म नाम नहीं है (अक्षर, अंक, . _ -, अधिकतम {max})।",
    },
    "invalid_handle": {
        "en": "The {platform} handle must be text of at most {max} characters, without control characters.",
        "hi": "{platform} हैंडल अधिकतम {max} अक्षरों का पाठ होना चाहिए, बिना कंट्रोल वर्णों के।",
    },
    "consent_required": {
        "en": "You must give your consent to apply.",
        "hi": "आवेदन करने के लिए आपकी सहमति आवश्यक है।",
    },
    # A request body that cannot be read at all (field "_root"); the reason is json_input's, in English.
    "unreadable_json": {
        "en": "The body could not be read as JSON: {reason}.",
        "hi": "भेजे गए डेटा को JSON के रूप में नहीं पढ़ा जा सका: {reason}।",
    },
    "unreadable_form": {
        "en": "The form could not be read: it is not UTF-8.",
        "hi": "फ़ॉर्म नहीं पढ़ा जा सका: यह UTF-8 नहीं है।",
    },
    # Bulk import: a row that cannot be read at all (field "_root").
    "invalid_json": {
        "en": "This is not valid JSON.",
        "hi": "यह मान्य JSON नहीं है।",
    },
    "invalid_csv": {
        "en": "This row is not valid CSV (check its quotes).",
        "hi": "यह पंक्ति मान्य CSV नहीं है (उद्धरण चिह्न जाँचें)।",
    },
    "too_many_values": {
        "en": "This row has {got} values but the header names {columns} columns.",
        "hi": "इस पंक्ति में {got} मान हैं, पर हेडर में {columns} कॉलम हैं।",
    },
}

_FALLBACK = {"en": "Invalid value.", "hi": "अमान्य मान।"}

_EXPECTED = {
    "text": {"en": "text", "hi": "पाठ (टेक्स्ट)"},
    "list": {"en": "a list", "hi": "सूची"},
    "mapping": {"en": "a mapping of platform to handle", "hi": "प्लेटफ़ॉर्म और हैंडल की सूची"},
    "object": {"en": "a JSON object", "hi": "JSON ऑब्जेक्ट"},
}


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def message(error: FieldError, lang: str) -> str:
    """The user-facing text of ``error`` in ``lang`` (``"hi"``, anything else is English)."""
    lang = "hi" if lang == "hi" else "en"
    template = MESSAGES.get(error.code, _FALLBACK)[lang]
    params = _Params(error.params)
    if "expected" in params:
        params["expected"] = _EXPECTED.get(params["expected"], {}).get(lang, params["expected"])
    params.setdefault("allowed", ", ".join(SKILLS))
    return template.format_map(params)


_LANGUAGE_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+)\s*)?")


def error_language(accept_language_header: str | None) -> Literal["en", "hi"]:
    """Pick ``"hi"`` or ``"en"`` from an Accept-Language header; English unless Hindi is preferred.

    Among the ranges naming Hindi (``hi``, ``hi-IN``) or English, the highest
    q wins, and the earlier one on a tie; ``q=0`` means "not wanted". Other
    languages and ``*`` are skipped, so ``fr, hi;q=0.5`` gives Hindi.
    Malformed ranges are ignored rather than rejected: the header only
    chooses a language for error text.
    """
    if not accept_language_header:
        return "en"
    best: tuple[float, str] | None = None
    for part in accept_language_header.split(","):
        match = _LANGUAGE_RANGE.fullmatch(part)
        if match is None:
            continue
        primary = match.group(1).split("-")[0].lower()
        if primary not in ("en", "hi"):
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if not 0 < quality <= 1:
            continue
        if best is None or quality > best[0]:
            best = (quality, primary)
    return "hi" if best is not None and best[1] == "hi" else "en"
