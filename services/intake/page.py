"""Intake form page: static/form.html with its API key, render stamp, districts and status link, and a no-JS post's outcome."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.geography import STATES

KEY_PLACEHOLDER = "__FORM_API_KEY__"
# Where the confirmation's "check your status" link points when no REPORTING_URL is known and the
# page has no script to work it out from its own address: reporting's port in SPEC.


def _districts_json() -> str:
    """The known districts of every state by code (with its English name, the no-script list's value), for the
    form's suggestions; `</` escaped, since it sits inside a <script> element."""
    known = {s.code: {"name": s.name_en, "districts": sorted(s.districts)} for s in STATES.values()}
    return json.dumps(known, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


TEMPLATE = (Path(__file__).parent / "static" / "form.html").read_text(encoding="utf-8").replace(
    "__DISTRICTS__", _districts_json())

# (Hindi, English): without JavaScript the page shows both languages, so its messages do too.
CHECK_FIELDS = ("कृपया चिह्नित फ़ील्ड ठीक करें।", "Please correct the highlighted fields.")
KEY_REFUSED = ("इस फ़ॉर्म की कुंजी मान्य नहीं है; कृपया पेज दोबारा खोलें।",
               "This form's key was not accepted; please reload the page.")
NOT_ACCEPTED = ("यह आवेदन स्वीकार नहीं हुआ। कुछ सेकंड रुककर फिर भेजें, या पेज दोबारा खोलें।",
                "This submission was not accepted. Wait a few seconds and send it again, or reload the page.")
TOO_MANY = ("अभी बहुत अधिक अनुरोध हैं। कृपया एक मिनट बाद फिर प्रयास करें।",
            "Too many requests right now. Please wait a minute and try again.")

# Fields the page shows as text boxes (values are put back after an error).
_TEXT_INPUTS = ("full_name", "phone", "email", "age", "languages", "district", "block", "followers",
                "hours_per_week", "social.twitter", "social.instagram", "social.facebook", "social.youtube")


@dataclass(frozen=True)
class Form:
    """What the form page is filled with: the public form's API key, reporting's public address, and the
    signed time the page was drawn (domain/bot_check.py: the minimum fill time counts from it)."""

    key: str
    reporting_url: str
    stamp: str

    @property
    def status_url(self) -> str:
        return f"{self.reporting_url.rstrip('/')}/status"


def form_page(form: Form) -> str:
    """The form as served at GET /: the web form's API key and the status page's address filled in."""
    status = html.escape(form.status_url, quote=True)
    return (TEMPLATE.replace(KEY_PLACEHOLDER, html.escape(form.key, quote=True))
            .replace("__FORM_STAMP__", html.escape(form.stamp, quote=True))
            .replace("__STATUS_URL__", status).replace("__STATUS_HREF__", status))


def received_page(form: Form, application_id: str, duplicate: bool) -> str:
    page = form_page(form)
    # The status page opens with the id filled in (a fragment: it never reaches a server log).
    page = _sub(r'(<a id="status-link" href="[^"#]*)(")', rf"\1#id={html.escape(application_id, quote=True)}\2", page)
    page = _sub(r'(<section id="confirmation"[^>]*?) hidden>', r"\1>", page)
    page = _sub(r'(<code id="application-id">)(</code>)', rf"\g<1>{html.escape(application_id)}\2", page)
    page = _sub(r'(<p id="duplicate" data-value=")(")', rf"\g<1>{str(duplicate).lower()}\2", page)
    shown = "duplicate-yes" if duplicate else "duplicate-no"
    return _sub(rf'(<span id="{shown}") hidden>', r"\1>", page)


def errors_page(form: Form, errors: Sequence[tuple[str, str, str]], values: Mapping[str, Any]) -> str:
    """The form again with the sender's values and each (field, Hindi, English) message at its field."""
    page = _refill(form_page(form), values)
    unplaced: list[str] = []
    for field, hindi, english in errors:
        slot = re.compile(rf'(<div id="error-{re.escape(field)}" class="error[^"]*"[^>]*>)(</div>)')
        if slot.search(page):
            page = slot.sub(lambda m: m.group(1) + _bilingual(hindi, english) + m.group(2), page, count=1)
            page = re.sub(rf'(<(?:input|select) [^>]*?name="{re.escape(field)}")', r'\1 aria-invalid="true"',
                          page, count=1)
        else:
            unplaced.append(_bilingual(hindi, english))
    general = " · ".join(unplaced) if unplaced else _bilingual(*CHECK_FIELDS)
    return _form_error(page, general)


def failure_page(form: Form, message: tuple[str, str], values: Mapping[str, Any]) -> str:
    return _form_error(_refill(form_page(form), values), _bilingual(*message))


def _bilingual(hindi: str, english: str) -> str:
    return f'<span lang="hi">{html.escape(hindi)}</span> <span lang="en">{html.escape(english)}</span>'


def _form_error(page: str, content: str) -> str:
    return re.sub(r'(<div id="form-error" class="error"[^>]*>)(</div>)',
                  lambda m: m.group(1) + content + m.group(2), page, count=1)


def _sub(pattern: str, replacement: str, page: str) -> str:
    return re.sub(pattern, replacement, page, count=1)


def _refill(page: str, values: Mapping[str, Any]) -> str:
    def first(name: str) -> str:
        value = values.get(name)
        value = value[0] if isinstance(value, list) and value else value
        return value if isinstance(value, str) else ""

    for name in _TEXT_INPUTS:
        if first(name):
            page = re.sub(rf'(<input type="(?:text|tel|email|number)" [^>]*?name="{re.escape(name)}")',
                          lambda m, v=first(name): f'{m.group(1)} value="{html.escape(v, quote=True)}"',
                          page, count=1)
    skills = values.get("skills")
    for skill in skills if isinstance(skills, list) else [skills]:
        if isinstance(skill, str) and skill:
            page = page.replace(f'name="skills" id="skill-{skill}" value="{skill}"',
                                f'name="skills" id="skill-{skill}" value="{skill}" checked', 1)
    if first("consent"):
        page = page.replace('name="consent" value="true"', 'name="consent" value="true" checked', 1)
    if first("state"):
        page = page.replace(f'<option value="{html.escape(first("state"), quote=True)}">',
                            f'<option value="{html.escape(first("state"), quote=True)}" selected>', 1)
    return page
