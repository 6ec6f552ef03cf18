"""The promote function: a Step Functions task in, the commit out, and the push retries as a metric."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from promotions.release.promotion import PromotionResult

REPO = Path(__file__).resolve().parents[2]


class Context:
    function_name = "promote-environment"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:promote-environment"
    memory_limit_in_mb = 1024
    aws_request_id = "req-1"
    log_group_name = log_stream_name = "promote-environment"

    def get_remaining_time_in_millis(self):
        return 300_000


class RecordingPromoter:
    def __init__(self, result: PromotionResult) -> None:
        self.result = result
        self.calls: list[tuple[str, str]] = []

    def promote(self, release_id: str, environment: str) -> PromotionResult:
        self.calls.append((release_id, environment))
        return self.result


@pytest.fixture
def promote_function(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Promotions")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "promotions")
    spec = importlib.util.spec_from_file_location(
        f"promote_app_{uuid.uuid4().hex}", REPO / "functions" / "promote_environment" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emitted_metrics(output: str) -> dict[str, object]:
    """The metric values of the CloudWatch embedded-metric-format document the function printed."""
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            names = [metric["Name"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
            return {name: document[name] for name in names}
    raise AssertionError(f"no metrics document in the output:\n{output}")


def test_the_promotion_s_push_retries_become_a_metric(promote_function, monkeypatch, capsys):
    promoter = RecordingPromoter(PromotionResult(commit="c" * 40, changed_files=("a.yaml",), push_retries=3))
    monkeypatch.setattr(promote_function, "services", lambda: SimpleNamespace(promoter=promoter))

    answer = promote_function.handler({"releaseId": "r-1", "environment": "prod"}, Context())

    assert answer == {"commit": "c" * 40, "changedFiles": ["a.yaml"], "supersededBy": None}
    assert promoter.calls == [("r-1", "prod")]
    assert emitted_metrics(capsys.readouterr().out) == {"PushRetries": [3.0]}
