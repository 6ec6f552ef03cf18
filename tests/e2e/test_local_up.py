"""`promotions local up` as a person runs it: a process serving the API and the webhook routes on loopback until
Ctrl-C. A push signed as GitHub signs it goes through the webhook function, the bus and the queue to a release
the real state machine runs, and the CLI's client verbs follow it through the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import urllib3
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from typer.testing import CliRunner

from promotions.release.status import ReleaseStatus
from promotions_local import moto_seams
from promotions_local.cli import app
from promotions_local.git_server import GitHttpBackendServer

pytestmark = pytest.mark.slow

SETTLE_SECONDS = 180
FINAL = {status.value for status in ReleaseStatus if status.is_final}


class LocalUp:
    """The `local up` process, its announced lines read from its stdout; the functions' logs go to a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "promotions_local.cli",
                "local",
                "up",
                "--config",
                str(config),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
        )
        assert self.process.stdout is not None
        self.announced: dict[str, str] = {}
        for line in self.process.stdout:
            if line.startswith("Serving until Ctrl-C"):
                break
            name, _, value = line.rstrip("\n").partition(": ")
            self.announced[name] = value
        else:
            self.process.wait()
            raise AssertionError(
                f"local up exited with {self.process.returncode}:\n{log.read_text()[-3000:]}"
            )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=120)
        self._log_file.close()
        return code


def post_push(url: str, payload: dict, secret: str) -> urllib3.BaseHTTPResponse:
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return urllib3.request(
        "POST",
        f"{url}/webhooks/github",
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
            "User-Agent": "GitHub-Hookshot/87e258b",
        },
        retries=False,
    )


def cli_json(api: str, token: str, *arguments: str):
    result = CliRunner().invoke(app, [*arguments, "--api", api, "--token", token, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def settled_releases(api: str, token: str) -> list[dict]:
    """`release list` until it shows a release and every one is final."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        releases = cli_json(api, token, "release", "list")["releases"]
        if releases and all(release["status"] in FINAL for release in releases):
            return releases
        if time.monotonic() > deadline:
            raise TimeoutError(f"releases not settled after {SETTLE_SECONDS}s: {releases}")
        time.sleep(0.5)


def test_a_signed_push_to_the_webhook_route_starts_a_release_the_cli_follows_through_the_api(
    gitops_world, push_version, tmp_path
):
    with GitHttpBackendServer(gitops_world.repos) as git_server:
        gitops_url = git_server.url_for("gitops.git")
        local_up = LocalUp(gitops_world.write_config(gitops_url), tmp_path / "local-up.log")
        try:
            url, token = local_up.announced["API"], local_up.announced["Token"]
            secret = local_up.announced["Webhook secret"]
            push = push_version(gitops_url, "36.0.0")

            forged = post_push(url, push, "not-the-secret")
            accepted = post_push(url, push, secret)
            releases = settled_releases(url, token)
            shown = cli_json(url, token, "release", "show", releases[0]["id"])
            anonymous = urllib3.request("GET", f"{url}/api/v1/releases", retries=False)
        finally:
            exit_code = local_up.stop()

    assert set(local_up.announced) == {"API", "Dashboard", "Token", "Webhook secret", "Slack signing secret"}
    assert url.startswith("http://127.0.0.1:")
    assert forged.status == 401, forged.data
    assert accepted.status == 202, accepted.data
    [release] = releases
    assert release["status"] == "Succeeded" and release["version"] == "36.0.0"
    assert shown["source"]["commit"] == push["after"]
    assert {environment["name"]: environment["status"] for environment in shown["environments"]} == {
        "dev": "Successful",
        "qa": "Successful",
        "staging": "Successful",
        "prod": "Successful",
    }
    assert anonymous.status == 401
    assert exit_code == 0
    assert token not in local_up.log.read_text()


def test_local_up_keeps_real_time_leaving_waits_and_retry_intervals_to_moto():
    motos_own = (WaitFunction._wait_interval, retrier_decl.time)

    with moto_seams.applied(moto_seams.HandlerRegistry(), fast_forward=False):
        in_real_time = (WaitFunction._wait_interval, retrier_decl.time)
    with moto_seams.applied(moto_seams.HandlerRegistry()):
        fast_forwarded = (WaitFunction._wait_interval, retrier_decl.time)

    assert in_real_time == motos_own
    assert fast_forwarded[0] is not motos_own[0] and fast_forwarded[1] is not motos_own[1]
