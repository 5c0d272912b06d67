"""Screening pages (the staff console): `GET /console` serves the page, with the states' names put in so the
page needs no other service to name them; the page itself talks to the APIs with the signed-in token."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.responses import HTMLResponse

from shared.geography import STATES
from shared.web import service_router

STATIC = Path(__file__).parent / "static"

pages = service_router(include_in_schema=False)


# "</" never appears in the names, but escaping it keeps the inline JSON unable to close its script tag.
_STATES_JSON = json.dumps([{"code": s.code, "en": s.name_en, "hi": s.name_hi} for s in STATES.values()],
                          ensure_ascii=False).replace("</", "<\\/")


def _page() -> str:
    # Read per request, as StaticFiles serves the page's script and style: the three files change together.
    return (STATIC / "console.html").read_text(encoding="utf-8").replace("__STATES_JSON__", _STATES_JSON)


@pages.get("/console")
def console() -> HTMLResponse:
    # no-store: the page holds no secret, but a staff page should not linger in a shared browser's cache.
    return HTMLResponse(_page(), headers={"Cache-Control": "no-store"})
