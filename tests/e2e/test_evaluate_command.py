"""`promotions evaluate`: merged policy with its sources, and the edits a promotion would make, writing nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from promotions.git import GitRemote
from promotions_local.cli import app
from promotions_local.git_server import GitHttpBackendServer


def test_evaluate_shows_the_merged_policy_and_a_dry_run_diff(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        config = gitops_world.write_config(url)
        (config / "extra-policies.yaml").write_text(
            "---\n".join(
                json.dumps(doc) + "\n"
                for doc in [
                    {
                        "apiVersion": "promotions.dev/v1alpha1",
                        "kind": "PromotionCheck",
                        "metadata": {"name": "soak"},
                        "spec": {"soakTime": {"environments": ["staging"], "duration": "1h"}},
                    },
                    {
                        "apiVersion": "codefresh.io/v1beta1",
                        "kind": "PromotionPolicy",
                        "metadata": {"name": "prod-soak"},
                        "spec": {
                            "priority": 5,
                            "selector": {"targetEnvironment": {"names": ["prod"]}},
                            "policy": {"preAction": "soak"},
                        },
                    },
                ]
            )
        )
        push_version(url, "12.0.0")
        tip_before = GitRemote(url).snapshot("main").commit_sha
        result = CliRunner().invoke(
            app,
            ["evaluate", "--config", str(config), "--product", "guestbook", "--environment", "prod"],
            env={"COLUMNS": "200"},
        )
        tip_after = GitRemote(url).snapshot("main").commit_sha

    assert result.exit_code == 0, result.output
    output = result.output
    assert "guestbook → prod" in output
    assert "production-commits" in output  # the action came from the prod-type policy (priority 10)
    assert "prod-soak" in output and "soak" in output
    assert '-  tag: "1.4.0"  # promoted' in output and '+  tag: "12.0.0"  # promoted' in output
    assert "apps/api/prod/values.yaml" in output and "apps/web/prod/Chart.yaml" in output
    changed_lines = [
        line for line in output.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed_lines and not any("replicaCount" in line or "host:" in line for line in changed_lines)
    assert tip_after == tip_before  # a dry run: nothing was pushed
