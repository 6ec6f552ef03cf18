"""`promotions local run` gives its --timeout to every wait, and says so plainly when time runs out."""

from __future__ import annotations

import json

import pytest
from promotions_local import session
from promotions_local.cli import app
from promotions_local.stack_event_sources import EventSourceDrainTimeout
from typer.testing import CliRunner


class RecordingLocalPromotions:
    """LocalPromotions without a stack: records the waits it is asked for."""

    waits: list[tuple[str, float]]
    drain_error: Exception | None = None

    def __init__(self, config_dir, parameters=None, *, slack=None) -> None:
        self.pushes: list[dict] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def submit_github_push(self, payload) -> None:
        self.pushes.append(payload)

    def process_events(self, timeout: float = 60) -> None:
        type(self).waits.append(("process_events", timeout))
        if type(self).drain_error is not None:
            raise type(self).drain_error

    def wait_until_settled(self, timeout: float = 300, on_progress=None) -> list:
        type(self).waits.append(("wait_until_settled", timeout))
        return []


@pytest.fixture
def local_run(monkeypatch, tmp_path, upstream_events):
    RecordingLocalPromotions.waits = []
    RecordingLocalPromotions.drain_error = None
    monkeypatch.setattr(session, "LocalPromotions", RecordingLocalPromotions)
    push = tmp_path / "push.json"
    push.write_text((upstream_events / "github-push.json").read_text())
    config = tmp_path / "config"
    config.mkdir()

    def run(*options: str):
        arguments = ["local", "run", "--config", str(config), "--json", *options]
        return CliRunner().invoke(app, [*arguments, *(["--github-push", str(push)] * 30)])

    return run


def test_the_timeout_bounds_the_ingestion_of_the_pushes_too(local_run):
    result = local_run("--timeout", "900")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"releases": []}
    [(first, drain_timeout), (then, settle_timeout)] = RecordingLocalPromotions.waits
    assert (first, then) == ("process_events", "wait_until_settled")
    assert drain_timeout == 900
    assert 0 < settle_timeout <= 900


def test_running_out_of_time_is_one_line_and_an_exit_code_not_a_traceback(local_run):
    RecordingLocalPromotions.drain_error = EventSourceDrainTimeout(
        "after 5 s these queues still hold messages"
    )

    result = local_run("--timeout", "5")

    assert result.exit_code == 3
    assert "timed out" in result.stderr and "after 5 s" in result.stderr
    assert "Traceback" not in result.output


def test_a_click_that_names_no_user_is_refused_before_anything_runs(local_run):
    result = local_run("--approve", "prod")
    assert result.exit_code == 2
    assert "--approve 'prod': write ENVIRONMENT=SLACK_USER_ID, as prod=U012AB3CD" in result.output
    assert RecordingLocalPromotions.waits == []
