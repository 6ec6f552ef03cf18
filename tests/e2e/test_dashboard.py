"""The dashboard in headless Chromium (Debian's, driven by Playwright) against `promotions local up`: the page
signs in with the token from the address's fragment, shows what runs where after a push, follows a release
live, approves a Suspended environment, and shows a refusal's reason; the browser's console stays clean.

Screenshots go to $PROMOTIONS_TEST_ARTIFACTS when set (CI keeps that folder), else to the test's tmp path."""

from __future__ import annotations

import errno
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import urllib3

from promotions_local.api_server import LOCAL_ACTOR
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.git_server import GitHttpBackendServer
from tests.e2e.test_local_up import LocalUp, post_push

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
if CHROMIUM is None:
    pytest.skip(
        "no chromium on PATH: install Debian's chromium (apt-get install chromium), as .ci/run does",
        allow_module_level=True,
    )

# Headless in containers: no sandbox (no user namespaces), no GPU, and /tmp instead of a small /dev/shm.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
# The page polls a running release every 2 s; everything it shows arrives within a few polls.
UI_TIMEOUT_MS = 60_000
RELEASE_SECONDS = 180
playwright_api.expect.set_options(timeout=UI_TIMEOUT_MS)


def approval_on_prod() -> str:
    """prod waits until the local token's holder approves (the release's own requester may not), who may do
    everything but roll back."""
    documents = [
        {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionPermissions",
            "metadata": {"name": "local-token-holder"},
            "spec": {
                "rules": [
                    {
                        "subjects": [{"tokenHolder": LOCAL_ACTOR}],
                        "verbs": ["trigger", "approve", "retry", "terminate"],
                    }
                ]
            },
        },
        {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionCheck",
            "metadata": {"name": "prod-approval"},
            "spec": {
                "approval": {
                    "approvers": {"users": [LOCAL_ACTOR]},
                    "minApprovals": 1,
                    "allowSelfApproval": False,
                    "channel": "C0DEPLOYS",
                }
            },
        },
        {
            "apiVersion": "codefresh.io/v1beta1",
            "kind": "PromotionPolicy",
            "metadata": {"name": "prod-approval"},
            "spec": {
                "priority": 1,
                "selector": {"targetEnvironment": {"names": ["prod"]}},
                "policy": {"preAction": "prod-approval"},
            },
        },
    ]
    return "---\n".join(json.dumps(document) + "\n" for document in documents)


@dataclass
class Stack:
    """`local up` serving the demo's configuration, with an approval on prod, over a GitOps repository."""

    local_up: LocalUp
    gitops_url: str

    @property
    def url(self) -> str:
        return self.local_up.announced["API"]

    @property
    def token(self) -> str:
        return self.local_up.announced["Token"]

    def api(self, method: str, path: str, payload: dict | None = None) -> dict:
        response = urllib3.request(
            method,
            f"{self.url}/api/v1/{path}",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            body=None if payload is None else json.dumps(payload).encode(),
            retries=False,
        )
        assert response.status < 300, response.data
        return response.json()

    def releases(self) -> list[dict]:
        return self.api("GET", "releases?product=guestbook")["releases"]

    def wait_for_release(self, known: set[str]) -> dict:
        deadline = time.monotonic() + RELEASE_SECONDS
        while time.monotonic() < deadline:
            new = [release for release in self.releases() if release["id"] not in known]
            if new:
                return new[0]
            time.sleep(0.2)
        raise AssertionError(f"no new release after {RELEASE_SECONDS}s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    workspace = tmp_path_factory.mktemp("dashboard")
    repos = workspace / "repos"
    repos.mkdir()
    create_demo_repository(repos / "gitops.git")
    with GitHttpBackendServer(repos) as git_server:
        gitops_url = git_server.url_for("gitops.git")
        config_dir = write_demo_configuration(workspace / "config", gitops_url)
        # This test's own rules, not the demo's (which let the token's holder do everything).
        for demo_rules in config_dir.glob("permissions.yaml"):
            demo_rules.unlink()
        (config_dir / "approvals.yaml").write_text(approval_on_prod())
        local_up = LocalUp(config_dir, workspace / "local-up.log")
        try:
            yield Stack(local_up, gitops_url)
        finally:
            local_up.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts(tmp_path, request) -> Path:
    chosen = os.environ.get("PROMOTIONS_TEST_ARTIFACTS")
    folder = (Path(chosen) if chosen else tmp_path) / "dashboard" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class ConsoleErrors:
    """The errors the page's console showed, and its uncaught exceptions."""

    seen: list[str] = field(default_factory=list)


@pytest.fixture
def console() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(browser, stack, artifacts, console) -> Iterator:
    # A laptop's width.
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    opened.on("console", lambda message: message.type == "error" and console.seen.append(message.text))
    opened.on("pageerror", lambda error: console.seen.append(f"uncaught: {error}"))
    yield opened
    opened.screenshot(path=artifacts / "last.png", full_page=True)
    context.close()


def open_signed_in(page, stack: Stack, route: str = "") -> None:
    """Open the URL `local up` printed (the token in its fragment), then go to `route`."""
    page.goto(stack.local_up.announced["Dashboard"])
    playwright_api.expect(page.get_by_role("heading", name="Products")).to_be_visible()
    if route:
        page.goto(f"{stack.url}/dashboard/{route}")


def test_the_grid_and_the_release_view_follow_a_push_until_approve_promotes_prod(
    page, console, stack, push_version, artifacts
):
    expect = playwright_api.expect
    open_signed_in(page, stack)
    # The token left the address bar for the tab's session storage.
    assert "token" not in page.url
    assert page.evaluate("Object.values(sessionStorage)") == [stack.token]
    expect(page.locator("tr[data-product=guestbook]")).to_be_visible()
    page.screenshot(path=artifacts / "grid-before.png", full_page=True)

    known = {release["id"] for release in stack.releases()}
    push = push_version(stack.gitops_url, "41.0.0")
    assert post_push(stack.url, push, stack.local_up.announced["Webhook secret"]).status == 202
    release = stack.wait_for_release(known)
    page.goto(f"{stack.url}/dashboard/#/releases/{release['id']}")

    prod = page.locator(".node[data-environment=prod]")
    expect(prod).to_be_visible()
    seen = [prod.locator(".node-status").text_content()]
    deadline = time.monotonic() + RELEASE_SECONDS
    while seen[-1] != "Suspended" and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        status = prod.locator(".node-status").text_content()
        if status != seen[-1]:
            seen.append(status)
    page.screenshot(path=artifacts / "release-suspended.png", full_page=True)
    assert seen[-1] == "Suspended", seen
    assert len(seen) >= 2, f"the page never showed prod change: {seen}"

    # The flow as a graph: dev first, qa and staging after it side by side, prod last; an edge per dependsOn.
    left = {
        name: page.locator(f".node[data-environment={name}]").bounding_box()["x"]
        for name in ("dev", "qa", "staging", "prod")
    }
    assert left["dev"] < left["qa"] == left["staging"] < left["prod"]
    edges = {
        (edge.get_attribute("data-from"), edge.get_attribute("data-to"))
        for edge in page.locator("path.edge").all()
    }
    assert edges == {("dev", "qa"), ("dev", "staging"), ("qa", "prod"), ("staging", "prod")}
    expect(page.locator(".node[data-environment=qa] .node-status")).to_have_text("Successful")
    expect(prod).to_have_class(re.compile(r"\bstatus-Suspended\b"))

    approve = page.locator("#environment-prod").get_by_role("button", name="Approve")
    approve.focus()
    page.keyboard.press("Enter")
    expect(prod.locator(".node-status")).to_have_text("Successful")
    expect(page.locator(".release-header .status")).to_have_text("Succeeded")
    expect(page.locator("#environment-prod").get_by_role("button", name="Approve")).to_have_count(0)
    # Final, and its environments Successful: a rollback's place, but the viewer may not roll back.
    expect(page.get_by_role("button", name="Rollback")).to_have_count(0)
    page.screenshot(path=artifacts / "release-succeeded.png", full_page=True)
    shown = stack.api("GET", f"releases/{release['id']}")
    assert {environment["name"]: environment["status"] for environment in shown["environments"]}[
        "prod"
    ] == "Successful"

    page.goto(f"{stack.url}/dashboard/#/")
    for environment in ("dev", "qa", "staging", "prod"):
        cell = page.locator(f"tr[data-product=guestbook] td[data-environment={environment}]")
        expect(cell.locator(".version")).to_have_text("41.0.0")
    page.screenshot(path=artifacts / "grid-after.png", full_page=True)

    assert console.seen == []
    assert stack.token not in stack.local_up.log.read_text()


def test_a_refusal_shows_its_reason_and_terminate_ends_the_release(
    page, console, stack, push_version, artifacts
):
    expect = playwright_api.expect
    known = {release["id"] for release in stack.releases()}
    push_version(stack.gitops_url, "42.0.0")  # committed to dev; the release is asked for through the API
    release = stack.api("POST", "releases", {"product": "guestbook"})
    assert release["id"] not in known
    open_signed_in(page, stack, f"#/releases/{release['id']}")
    prod = page.locator("#environment-prod")
    expect(prod.locator("h3 .status")).to_have_text("Suspended", timeout=RELEASE_SECONDS * 1000)

    prod.get_by_role("button", name="Approve").click()
    refusal = page.locator(".message .notice-error")
    expect(refusal).to_contain_text("Approve prod refused:")
    expect(refusal).to_contain_text(f"{LOCAL_ACTOR} may not approve")
    expect(prod.locator("h3 .status")).to_have_text("Suspended")
    page.screenshot(path=artifacts / "approve-refused.png", full_page=True)

    prod.get_by_role("button", name="Reject").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why").fill("the change freeze starts today")
    dialog.get_by_role("button", name="Reject").click()
    expect(refusal).to_contain_text("Reject prod refused:")
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name="Terminate").click()
    dialog.get_by_label("Reason (optional)").fill("the change freeze starts today")
    dialog.get_by_role("button", name="Terminate").click()
    expect(page.locator(".release-header .status")).to_have_text("Terminated")
    expect(prod.locator("h3 .status")).to_have_text("Terminated")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("the change freeze starts today")
    page.screenshot(path=artifacts / "terminated.png", full_page=True)

    # The only errors the console shows are the browser's own notes of the two refused requests.
    assert len(console.seen) == 2 and all("status of 403" in error for error in console.seen), console.seen
    assert stack.token not in stack.local_up.log.read_text()


def test_history_filters_by_status_and_searches_by_version(page, console, stack, artifacts):
    expect = playwright_api.expect
    releases = stack.releases()
    assert {release["status"] for release in releases} >= {"Succeeded", "Terminated"}, releases
    open_signed_in(page, stack, "#/history")
    rows = page.locator("table.releases tbody tr")
    expect(rows).to_have_count(len(releases))

    page.get_by_label("Status").select_option("Terminated")
    page.get_by_role("button", name="Filter").click()
    terminated = [release for release in releases if release["status"] == "Terminated"]
    expect(rows).to_have_count(len(terminated))
    expect(rows.first).to_contain_text("Terminated")

    page.get_by_label("Status").select_option("")
    page.get_by_label("Version or commit").fill("41.0")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("41.0.0")
    page.screenshot(path=artifacts / "history.png", full_page=True)
    assert console.seen == []


def test_the_product_page_shows_its_environments_delivery_figures_and_history(
    page, console, stack, artifacts
):
    expect = playwright_api.expect
    open_signed_in(page, stack)
    page.get_by_role("link", name="guestbook").click()
    expect(page.get_by_role("heading", name="guestbook", level=1)).to_be_visible()
    expect(page.locator("td[data-environment=prod] .version")).to_have_text("41.0.0")
    # qa took 42.0.0 before prod's approval was refused: prod drifts from it by what a promotion would write.
    expect(page.locator("td[data-environment=qa] .drift")).to_have_text("in sync with dev")
    drift = page.locator("td[data-environment=prod] .drifted")
    drift.locator("summary").click()
    expect(drift).to_contain_text("changes from qa")
    expect(drift.locator("li").first).to_contain_text("41.0.0 → 42.0.0")
    figures = page.locator(".metrics .figure")
    expect(figures).to_have_count(4)
    # One change reached prod (41.0.0); the release terminated at prod's approval deployed nothing there.
    expect(figures.filter(has_text="Deployment frequency").locator("strong")).to_have_text("1")
    expect(page.locator("table.releases tbody tr")).to_have_count(len(stack.releases()))
    page.screenshot(path=artifacts / "product.png", full_page=True)
    assert console.seen == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/dashboard.css", "text/css; charset=utf-8"),
        ("/dashboard/icon.svg", "image/svg+xml"),
    ],
)
def test_local_up_serves_the_dashboard_files_without_the_token(stack, path, content_type):
    response = urllib3.request("GET", f"{stack.url}{path}", retries=False)
    again = urllib3.request(
        "GET", f"{stack.url}{path}", headers={"If-None-Match": response.headers["ETag"]}, retries=False
    )

    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert again.status == 304 and again.data == b""


def test_the_demo_in_a_terminal_ends_with_the_dashboard_and_stays_up_until_ctrl_c(tmp_path):
    # A pseudo-terminal for stdin and stdout, as a person's shell gives it.
    controller, terminal = pty.openpty()
    demo = subprocess.Popen(
        [sys.executable, "-m", "promotions_local.cli", "demo"],
        stdin=terminal,
        stdout=terminal,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "400"},
    )
    os.close(terminal)
    received = output = b""
    try:
        deadline = time.monotonic() + RELEASE_SECONDS
        while not re.search(rb"Dashboard: \S+\r?\n", output):
            if time.monotonic() > deadline or demo.poll() is not None:
                raise AssertionError(f"no dashboard line:\n{output.decode(errors='replace')[-3000:]}")
            ready, _, _ = select.select([controller], [], [], 1)
            if ready:
                try:
                    received += os.read(controller, 65536)
                except OSError as closed:  # EIO: the demo closed its terminal, i.e. it ended; poll says how
                    if closed.errno != errno.EIO:
                        raise
                    demo.wait(timeout=30)
                output = re.sub(rb"\x1b\[[0-9;]*m", b"", received)  # without the terminal's colours
        url = re.search(rb"Dashboard: (\S+)", output).group(1).decode()
        base, _, fragment = url.partition("/dashboard/#token=")
        token = urllib.parse.unquote(fragment)
        page = urllib3.request("GET", f"{base}/dashboard/", retries=False)
        products = urllib3.request(
            "GET", f"{base}/api/v1/products", headers={"Authorization": f"Bearer {token}"}, retries=False
        )
        still_up = demo.poll() is None
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=120)
        os.close(controller)

    assert still_up
    assert page.status == 200 and b"app.js" in page.data
    assert products.status == 200
    [guestbook] = products.json()["products"]
    assert {state["environment"]: state["version"] for state in guestbook["environments"]}["prod"] == "1.5.0"
    assert code == 0
