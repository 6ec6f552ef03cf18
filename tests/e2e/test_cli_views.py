"""The CLI's views of a real release: a push runs through the local stack's state machine while `promotions
release show --watch` follows it through the local API server, then `release show`, `release list` and `product
show` draw what the API answers, and `--json` prints the answer itself."""

from __future__ import annotations

import functools
import json
import threading

import pytest
import urllib3
from typer.testing import CliRunner

from promotions_local.api_server import ApiServer
from promotions_local.cli import app
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

from .conftest import before_qa_and_staging, board_check, wait_for, write_documents

pytestmark = pytest.mark.slow

TOKEN = "local-token"
# Wide enough that no status, commit or id is folded over two lines.
WIDE = {"COLUMNS": "220"}
# How long the approval board keeps the release waiting once a watch has started.
BOARD_DELAY = 1.5


class Cli:
    def __init__(self, api_url: str) -> None:
        self._options = ["--api", api_url, "--token", TOKEN]

    def run(self, *arguments: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, [*arguments, *self._options], env=WIDE)
        assert result.exit_code == code, result.output
        return result.output

    def json(self, *arguments: str, code: int = 0):
        # The functions behind the API server run in this process and log to its stdout, which the runner
        # captures while a watch waits: the answer is the last line.
        return json.loads(self.run(*arguments, "--json", code=code).splitlines()[-1])


@pytest.fixture
def waiting_world(gitops_world, api):
    """The demo's world where qa and staging wait for an approval board (the fake `api`) answering pending,
    asked every second. The stack keeps real time: moving the clock through the polls would soon take the
    release past its flow's promotionTimeoutLimit, which terminates it."""
    api.route("POST", "/board", {"status": "pending"})
    board = board_check(api, "approval-board", {})
    board["spec"]["http"]["pollSeconds"] = 1
    with GitHttpBackendServer(gitops_world.repos) as git_server:
        url = git_server.url_for("gitops.git")
        config_dir = gitops_world.write_config(url)
        write_documents(config_dir, "board.yaml", [board, before_qa_and_staging("approval-board")])
        yield url, config_dir


def board_calls(api) -> int:
    return sum(1 for request in api.requests if request.path == "/board")


def waiting_release(local: LocalPromotions, api, push: dict) -> str:
    local.submit_github_push(push)
    local.process_events()
    [release_id] = [rid for rid in local.release_ids() if push["after"][:12] in rid]
    calls = board_calls(api)
    wait_for(lambda: board_calls(api) > calls + 1, "polling the board", 120, 0.05)
    return release_id


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_release_show_watches_a_release_to_its_end_and_the_views_draw_what_the_api_answers(
    waiting_world, api, push_version
):
    url, config_dir = waiting_world
    push = push_version(url, "36.0.0")
    with LocalPromotions(config_dir, fast_forward=False) as local:
        release_id = waiting_release(local, api, push)
        with ApiServer(functools.partial(local.stack.invoke, "ApiFunction"), TOKEN) as api_server:
            cli = Cli(api_server.base_url)
            running = cli.run("release", "show", release_id)
            before_watch = cli.json("release", "show", release_id)
            calls_before_watch = board_calls(api)
            board = later(BOARD_DELAY, lambda: api.route("POST", "/board", {"status": "ok"}))
            watched = cli.run("release", "show", release_id, "--watch", "--interval", "0.2")
            board.join()
            shown = cli.json("release", "show", release_id)
            drawn = cli.run("release", "show", release_id)
            listed = cli.json("release", "list")
            list_table = cli.run("release", "list")
            product = cli.json("product", "show", "guestbook")
            grid = cli.run("product", "show", "guestbook")
            metrics = cli.json("product", "show", "guestbook", "--metrics", "--days", "7")
            with_metrics = cli.run("product", "show", "guestbook", "--metrics")

    statuses = {env["name"]: env["status"] for env in before_watch["environments"]}
    assert before_watch["status"] == "Running"
    assert statuses == {"dev": "Successful", "qa": "Running", "staging": "Running", "prod": "Pending"}
    # The graph: one box per environment, levels left to right, each status in words; prod waits for both.
    assert "▶ Running" in running and "○ Pending" in running and "after qa, staging" in running
    assert running.index("dev") < running.index("──▶")
    # The watch began while the board held the release, and ended with it, exit code 0.
    assert board_calls(api) > calls_before_watch
    assert shown["status"] == "Succeeded"
    for output in (watched, drawn):
        assert "✔ Succeeded" in output and output.count("✔ Successful") == 4
        for env in shown["environments"]:
            assert env["commit"][:12] in output, env["name"]
    assert shown["source"]["commit"] == push["after"] and f"main@{push['after'][:12]}" in drawn
    assert [release["id"] for release in listed["releases"]] == [release_id]
    assert release_id in list_table and "✔ Succeeded" in list_table and "36.0.0" in list_table
    rows = {env["environment"]: env for env in product["environments"]}
    assert {name: row["version"] for name, row in rows.items()} == dict.fromkeys(rows, "36.0.0")
    assert rows["prod"]["release"] == release_id
    for name, row in rows.items():
        line = next(line for line in grid.splitlines() if f" {name} " in line)
        assert row["commit"][:12] in line and release_id in line and "36.0.0" in line
    assert metrics["days"] == 7 and metrics["deploymentFrequency"]["deployments"] == 1
    assert metrics["changeFailureRate"] == {"failed": 0, "total": 1, "rate": 0.0}
    assert "deployment frequency" in with_metrics and "0 of 1 changes" in with_metrics
    assert rows["prod"]["commit"][:12] in with_metrics


def test_a_watch_of_a_release_that_ends_terminated_exits_non_zero_with_its_json(
    waiting_world, api, push_version
):
    url, config_dir = waiting_world
    push = push_version(url, "37.0.0")
    with LocalPromotions(config_dir, fast_forward=False) as local:
        release_id = waiting_release(local, api, push)
        with ApiServer(functools.partial(local.stack.invoke, "ApiFunction"), TOKEN) as api_server:
            cli = Cli(api_server.base_url)
            terminate = later(
                BOARD_DELAY,
                lambda: urllib3.request(
                    "POST",
                    f"{api_server.base_url}/api/v1/releases/{release_id}/terminate",
                    json={"reason": "wrong build"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ),
            )
            watched = cli.json("release", "show", release_id, "--watch", "--interval", "0.2", code=1)
            terminate.join()
            drawn = cli.run("release", "show", release_id, "--watch", code=1)

    assert watched["status"] == "Terminated" and "wrong build" in watched["reason"]
    assert {env["name"]: env["status"] for env in watched["environments"]} == {
        "dev": "Successful",
        "qa": "Terminated",
        "staging": "Terminated",
        "prod": "Terminated",
    }
    assert "■ Terminated" in drawn and "wrong build" in drawn
