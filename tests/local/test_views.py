"""The release graph as the client verbs draw it from GET /releases/{id}: levels of dependsOn left to right, and
each environment's checks, approvals and failure when the answer has them."""

from __future__ import annotations

from rich.console import Console

from promotions_local.views import release_graph


def environment(name: str, status: str, *depends_on: str, **fields) -> dict:
    return {
        "name": name,
        "dependsOn": list(depends_on),
        "status": status,
        "commit": None,
        "reason": None,
        **fields,
    }


def release(*environments: dict) -> dict:
    return {
        "id": "shop-0123456789ab-c0ffee",
        "product": "shop",
        "version": "2.0.0",
        "flow": "shop-release",
        "triggerEnvironment": "dev",
        "status": "Failed",
        "reason": None,
        "source": {"repoUrl": "https://git.example/gitops.git", "branch": "main", "commit": "ab" * 20},
        "environments": list(environments),
        "audit": [{"at": "2026-03-01T10:00:00Z", "actor": "alice", "action": "trigger", "detail": ""}],
    }


def drawn(document: dict) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(release_graph(document))
    return console.export_text()


def column_of(text: str, title: str) -> int:
    return next(line.index(title) for line in text.splitlines() if title in line)


def test_environments_stand_in_columns_by_their_level_of_dependencies():
    text = drawn(
        release(
            environment("prod", "Pending", "qa", "staging"),
            environment("dev", "Successful", commit="12" * 20),
            environment("staging", "Running", "dev"),
            environment("qa", "Successful", "dev", commit="34" * 20),
        )
    )

    dev, qa, staging, prod = (column_of(text, f"╭─ {name} ") for name in ("dev", "qa", "staging", "prod"))
    assert dev < qa == staging < prod
    assert text.count("──▶") == 2
    assert "source 121212121212" in text and "commit 343434343434" in text
    assert "after qa, staging" in text and "○ Pending" in text and "▶ Running" in text
    assert "shop 2.0.0 · shop-release · ✘ Failed" in text and "main@abababababab" in text
    assert "2026-03-01 10:00:00Z alice: trigger" in text


def test_checks_approvals_and_the_failure_are_drawn_with_their_outcomes_when_the_answer_has_them():
    prod = environment(
        "prod",
        "Failed",
        "dev",
        reason="rejected: not today",
        checks=[
            {"name": "smoke", "kind": "http", "outcome": "passed", "reason": None},
            {"name": "cab", "kind": "approval", "outcome": "failed", "reason": "rejected"},
        ],
        approvals=[
            {"approver": "alice", "decision": "approved", "at": "2026-03-01T10:05:00Z", "reason": None},
            {
                "approver": "bob",
                "decision": "rejected",
                "at": "2026-03-01T10:06:00Z",
                "reason": "not today",
            },
        ],
        failure={
            "kind": "approval",
            "check": "cab",
            "message": "rejected: not today",
            "logsUrl": "https://logs.example/prod",
        },
    )

    text = drawn(release(environment("dev", "Successful"), prod))

    assert "✔ smoke (http) passed" in text and "✘ cab (approval) failed: rejected" in text
    assert "✔ approved by alice 2026-03-01 10:05:00Z" in text
    # A box is at most 44 characters wide: a longer line folds.
    assert "✘ rejected by bob 2026-03-01 10:06:00Z:" in text
    assert "✘ approval cab: rejected: not today" in text
    assert "logs: https://logs.example/prod" in text
    # The failure says what the reason would: it is not printed twice.
    assert text.count("rejected: not today") == 1
