"""The dashboard's files, served by the API function without credentials (they carry no data): each with its
content type, revalidated by ETag, and nothing else from the function's folder."""

from __future__ import annotations

import re

import pytest

from tests.functions import api_world

# The world's fixture under the name the tests use; here it replaces tests/conftest.py's `api`.
api = api_world.api

DASHBOARD = api_world.REPO / "functions" / "api" / "dashboard"


def anonymous_get(api, path: str, headers: dict[str, str] | None = None) -> dict:
    event = api.event("GET", path, authorizer=None, headers=headers)
    event["routeKey"] = "GET /dashboard/{proxy+}"
    return api.module.handler(event, api_world.Context())


@pytest.mark.parametrize(
    ("path", "content_type", "file"),
    [
        ("/dashboard/", "text/html; charset=utf-8", "index.html"),
        ("/dashboard/index.html", "text/html; charset=utf-8", "index.html"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8", "app.js"),
        ("/dashboard/dashboard.css", "text/css; charset=utf-8", "dashboard.css"),
        ("/dashboard/icon.svg", "image/svg+xml", "icon.svg"),
    ],
)
def test_each_file_is_served_without_credentials_with_its_content_type(api, path, content_type, file):
    response = anonymous_get(api, path)

    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == content_type
    assert response["body"] == (DASHBOARD / file).read_text()
    assert response["headers"]["Cache-Control"] == "no-cache"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response["headers"]["Content-Security-Policy"]


def test_a_file_the_browser_has_is_answered_304_by_its_etag(api):
    first = anonymous_get(api, "/dashboard/app.js")

    again = anonymous_get(api, "/dashboard/app.js", {"if-none-match": first["headers"]["ETag"]})
    stale = anonymous_get(api, "/dashboard/app.js", {"if-none-match": '"an-older-deployment"'})

    assert again["statusCode"] == 304 and not again["body"]
    assert stale["statusCode"] == 200 and stale["body"] == first["body"]


def test_without_the_slash_the_page_redirects_so_its_relative_links_resolve(api):
    response = anonymous_get(api, "/dashboard")

    assert response["statusCode"] == 308
    assert response["headers"]["Location"] == "dashboard/"


@pytest.mark.parametrize("name", ["app.py", "missing.js", "..", "%2e%2e%2fapp.py", "README"])
def test_nothing_but_the_dashboard_files_is_served(api, name):
    response = anonymous_get(api, f"/dashboard/{name}")

    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"


def test_every_file_the_page_and_its_modules_load_is_served(api):
    """Without a build step nothing else checks that a module the page imports exists under that name."""
    html = (DASHBOARD / "index.html").read_text()
    wanted = set(re.findall(r'(?:src|href)="([\w.-]+)"', html))
    for module in DASHBOARD.glob("*.js"):
        wanted |= set(re.findall(r'from "\./([\w.-]+)"', module.read_text()))

    assert wanted >= {"app.js", "dashboard.css", "icon.svg", "api.js", "release.js"}
    assert {name: anonymous_get(api, f"/dashboard/{name}")["statusCode"] for name in wanted} == dict.fromkeys(
        wanted, 200
    )


def test_the_api_still_asks_for_credentials(api):
    assert api.anonymous("GET", "/api/v1/releases")["statusCode"] == 401
