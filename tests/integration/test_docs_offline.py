"""/docs and /redoc work offline: every script, stylesheet and icon they load is served by the
service itself, none from a CDN."""

from __future__ import annotations

import re

import pytest

from services.reporting.app import create_app
from tests.support import running


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_pages_load_nothing_from_elsewhere(stack, page: str) -> None:
    async with running(create_app) as client:
        html = (await client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert assets, html[:500]
        for asset in assets:
            assert not asset.startswith(("http:", "https:", "//")), asset
            assert (await client.get(asset)).status_code == 200, asset
