"""Step Functions state transitions per environment step, counted on the real ASL (local stack).

    uv run --frozen python bench/transitions.py   (after ./dev test has installed the environment)

Runs one release of a one-step flow (dev → prod) twice in the same run: once with no checks (the
baseline), once with one preAction and one postAction check, and counts the states entered inside the
environment's Map iteration, Wait states excluded (Standard workflows bill per transition).
Target: at most 10 for a step with one pre- and one post-check.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from promotions.git import Author, Snapshot
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.git_server import serve_repositories
from promotions_local.github_payloads import push_and_describe
from promotions_local.session import LocalPromotions

TARGET = 10
DEV_VALUES = "apps/api/dev/values.yaml"
ONE_STEP_FLOW = """apiVersion: codefresh.io/v1beta1
kind: PromotionFlow
metadata:
  name: guestbook-release
spec:
  triggerEnvironment: dev
  steps:
    - environment: prod
      dependsOn: [dev]
"""


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def gates(check_url: str) -> str:
    documents = [
        {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionCheck",
            "metadata": {"name": name},
            "spec": {
                "http": {
                    "url": check_url,
                    "method": "POST",
                    "successWhen": {"jsonPath": "$.status", "equals": "ok"},
                }
            },
        }
        for name in ("smoke-before", "smoke-after")
    ]
    documents.append(
        {
            "apiVersion": "codefresh.io/v1beta1",
            "kind": "PromotionPolicy",
            "metadata": {"name": "prod-checks"},
            "spec": {
                "priority": 1,
                "selector": {"targetEnvironment": {"names": ["prod"]}},
                "policy": {"preAction": "smoke-before", "postAction": "smoke-after"},
            },
        }
    )
    return "---\n".join(json.dumps(document) + "\n" for document in documents)


def transitions_in_iteration(history: list[dict]) -> tuple[int, list[str]]:
    inside, names = False, []
    for event in history:
        kind = event["type"]
        if kind == "MapIterationStarted":
            inside = True
        elif kind in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
            inside = False
        elif inside and kind.endswith("StateEntered") and kind != "WaitStateEntered":
            names.append(event["stateEnteredEventDetails"]["name"])
    return len(names), names


def measure(workspace: Path, version: str, extra_config: str | None) -> tuple[int, list[str]]:
    repos = workspace / f"repos-{version}"
    repos.mkdir()
    create_demo_repository(repos / "gitops.git")
    with serve_repositories(repos) as server:
        url = server.url_for("gitops.git")
        config = write_demo_configuration(workspace / f"config-{version}", url)
        (config / "promotion-flow.yaml").write_text(ONE_STEP_FLOW)
        if extra_config:
            (config / "gates.yaml").write_text(extra_config)

        def bump_dev(tip: Snapshot) -> dict[str, bytes]:
            values = tip.read(DEV_VALUES)
            if values is None:
                raise RuntimeError(f"the demo repository has no {DEV_VALUES}")
            return {DEV_VALUES: values.replace(b'"1.4.0"', f'"{version}"'.encode())}

        push = push_and_describe(
            url,
            "main",
            bump_dev,
            "bump",
            Author("Bench", "bench@localhost"),
        )
        with LocalPromotions(config) as local:
            local.submit_github_push(push)
            local.process_events()
            [release] = local.wait_until_settled(timeout=120)
            if release.status.value != "Succeeded":
                raise SystemExit(f"release {release.id} ended {release.status.value}: {release.reason}")
            return transitions_in_iteration(local.execution_history(release.id))


def main() -> int:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as scratch, open(Path(scratch) / "engine.log", "w") as log:
            stdout, sys.stdout = sys.stdout, log  # the functions log to stdout, as on Lambda
            try:
                baseline, baseline_states = measure(Path(scratch), "1.4.1", None)
                gated, gated_states = measure(
                    Path(scratch), "1.4.2", gates(f"http://127.0.0.1:{httpd.server_address[1]}/")
                )
            finally:
                sys.stdout = stdout
    finally:
        httpd.shutdown()
    print(
        f"transitions per environment step, no checks (baseline): {baseline}  {' → '.join(baseline_states)}"
    )
    print(f"transitions per environment step, 1 pre + 1 post check: {gated}  {' → '.join(gated_states)}")
    print(
        f"ratio gated / baseline: {gated / baseline:.2f}; target ≤ {TARGET}: {'met' if gated <= TARGET else 'MISSED'}"
    )
    return 0 if gated <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
