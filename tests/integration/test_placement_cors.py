"""CORS as `recruit up` sets it: placement allows the staff console's origin (CORS_ORIGINS) and no other; a
service without CORS_ORIGINS sends no CORS headers at all (closed by default)."""

from __future__ import annotations

import pytest

from services.placement.app import create_app as placement_app
from services.screening.app import create_app as screening_app
from shared.settings import get_settings
from tests.support import ADMIN, running

CONSOLE = "http://127.0.0.1:8002"


@pytest.fixture(scope="module")
async def placement(stack):
    settings = get_settings().model_copy(update={"cors_origins": f"{CONSOLE},http://localhost:8002"})
    async with running(lambda: placement_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def screening(stack):
    assert get_settings().cors_origins == ""
    async with running(screening_app) as client:
        yield client


def preflight(origin: str, method: str = "PUT") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type"}


def cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
async def test_a_preflight_from_the_console_is_allowed(placement, method: str) -> None:
    response = await placement.options("/v1/units/RJ/Jaipur/capacity", headers=preflight(CONSOLE, method))
    assert response.status_code == 200, response.text
    allowed = cors_headers(response)
    assert allowed["access-control-allow-origin"] == CONSOLE
    assert method in allowed["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= {h.strip().lower() for h in
                                                 allowed["access-control-allow-headers"].split(",")}
    assert "access-control-allow-credentials" not in allowed, "tokens travel in a header, never in cookies"


async def test_the_consoles_requests_and_refusals_carry_the_allow_origin(placement) -> None:
    units = await placement.get("/v1/units", headers={**ADMIN, "Origin": CONSOLE})
    assert units.status_code == 200 and units.headers["access-control-allow-origin"] == CONSOLE
    refused = await placement.get("/v1/units", headers={"Origin": CONSOLE})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == CONSOLE
    other = await placement.get("/v1/units", headers={**ADMIN, "Origin": "http://localhost:8002"})
    assert other.headers["access-control-allow-origin"] == "http://localhost:8002"


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:8004", "https://127.0.0.1:8002"])
async def test_another_origin_gets_no_allow_headers(placement, origin: str) -> None:
    response = await placement.options("/v1/units/RJ/capacity", headers=preflight(origin))
    assert response.status_code == 400 and cors_headers(response) == {}
    simple = await placement.get("/v1/units", headers={**ADMIN, "Origin": origin})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


async def test_a_service_without_cors_origins_sends_no_cors_headers(screening) -> None:
    response = await screening.options("/v1/queue", headers=preflight(CONSOLE, "GET"))
    assert response.status_code == 405 and cors_headers(response) == {}
    queue = await screening.get("/v1/queue", headers={**ADMIN, "Origin": CONSOLE})
    assert queue.status_code == 200 and cors_headers(queue) == {}
