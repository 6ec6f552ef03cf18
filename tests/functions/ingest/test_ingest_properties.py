"""Thousands of mutated deliveries through the ingest function, in process on moto: real push payloads of
GitHub, GitLab and Bitbucket Cloud (as published, and aimed at the demo's GitOps repository), their fields
replaced, retyped, dropped, stretched. Every one must start a release, be logged as ignored with why, or be
dead-lettered with its reason; nothing may escape as an exception, and no release may be one the event does
not describe."""

from __future__ import annotations

import builtins
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotions import runtime
from promotions.repo_url import canonical_repo

BATCHES = 210
BATCH_SIZE = 10  # SQS hands Lambda up to ten messages a batch
VERSIONS = ("2.0.0", "2.1.0", "2.2.0")

# CI runs the same examples every time, so a red build can be reproduced and is not a roll of the dice.
settings.register_profile("ingest-ci", derandomize=True)
PROFILE = settings.get_profile("ingest-ci") if os.environ.get("CI") == "true" else settings.default

PAYLOAD_FILES = {
    "github": [
        "github-push.json",
        "github-push-merge-to-master.json",
        "github-push-tag-created.json",
        "github-push-tag-deleted.json",
    ],
    "gitlab": ["gitlab-push.json", "gitlab-push-docs-example.json", "gitlab-tag-push-docs-example.json"],
    "bitbucket": ["bitbucket-cloud-repo-push.json"],
}
BUILTIN_ERRORS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}
DEV_PATHS = [f"apps/{app}/dev/{name}" for app in ("api", "web") for name in ("Chart.yaml", "values.yaml")]


@dataclass(frozen=True)
class Commit:
    sha: str
    version: str
    before: str


def aimed_at(provider: str, payload: dict, url: str, commit: Commit) -> dict:
    """A published payload describing a push of `commit` to the world's main branch, as `provider` would."""
    payload = json.loads(json.dumps(payload))
    if provider == "github":
        payload.update(ref="refs/heads/main", before=commit.before, after=commit.sha, deleted=False)
        payload["repository"]["clone_url"] = url
        for listed in payload.get("commits", []):
            listed.update(id=commit.sha, added=[], removed=[], modified=DEV_PATHS)
    elif provider == "gitlab":
        payload.update(
            object_kind="push",
            ref="refs/heads/main",
            before=commit.before,
            after=commit.sha,
            checkout_sha=commit.sha,
        )
        payload["project"]["git_http_url"] = url
        payload["commits"] = [{"id": commit.sha, "message": "Release", "modified": DEV_PATHS}]
        payload["total_commits_count"] = 1
    else:
        payload["repository"]["links"]["html"]["href"] = url.removesuffix(".git")
        [change] = payload["push"]["changes"]
        change["new"].update(type="branch", name="main")
        change["new"]["target"]["hash"] = commit.sha
    return payload


ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "refs/heads/", "refs/tags/main", "main", "0" * 40, "\u0000", "\ud7ff\ue000", "é" * 50]
    ),
    st.integers(1, 200_000).map(lambda size: "x" * size),
    st.text(alphabet="0123456789abcdef", min_size=7, max_size=64),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ODD_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def mutate(draw, document, commits: list[Commit]) -> None:
    """Replace, retype or drop one value of `document`, at any depth (or none, if it is empty)."""
    parent, key, node = None, None, document
    while isinstance(node, (dict, list)) and node and (parent is None or draw(st.integers(0, 2))):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        parent, node = node, node[key]
    if parent is None:
        return
    action = draw(st.sampled_from(["replace", "drop", "commit"]))
    if action == "drop" and isinstance(parent, dict):
        del parent[key]
    elif action == "commit":
        known = st.sampled_from([commit.sha for commit in commits])
        parent[key] = draw(known | st.text("0123456789abcdef", min_size=40, max_size=40))
    else:
        parent[key] = draw(JSON_VALUES)


@st.composite
def records(draw, ingest, payloads: dict[str, list[dict]], commits: list[Commit]):
    """One SQS record: a webhook delivery on its EventBridge envelope, mutated anywhere."""
    provider = draw(st.sampled_from(sorted(payloads)))
    payload = draw(st.sampled_from(payloads[provider]))
    if draw(st.booleans()):
        payload = aimed_at(provider, payload, ingest.gitops_url, draw(st.sampled_from(commits)))
    detail = {"provider": provider, "event": "push", "delivery": draw(st.uuids()).hex, "payload": payload}
    envelope = json.loads(json.dumps(ingest.envelope(detail)))
    # Mostly the payload, the provider's part; sometimes what the webhook function or EventBridge wrote.
    for _ in range(draw(st.integers(0, 3))):
        detail = envelope.get("detail")
        payload = detail.get("payload") if isinstance(detail, dict) else None
        parts = [part for part in (payload, detail) if isinstance(part, (dict, list))]
        mutate(draw, draw(st.sampled_from([*parts[:1] * 5, *parts, envelope])), commits)
    body = json.dumps(envelope)
    if draw(st.integers(0, 19)) == 0:
        body = body[: draw(st.integers(0, len(body)))]
    return ingest.record(body)


def test_every_mutated_delivery_starts_a_release_is_ignored_or_is_dead_lettered_with_a_reason(
    ingest, upstream_events, capsys
):
    payloads = {
        provider: [json.loads((upstream_events / name).read_text()) for name in names]
        for provider, names in PAYLOAD_FILES.items()
    }
    commits = []
    for version in VERSIONS:
        push = ingest.push_version(version)
        commits.append(Commit(sha=push["after"], version=version, before=push["before"]))
    version_at = {commit.sha: commit.version for commit in commits}
    store = runtime.services().store
    figures: Counter[str] = Counter()
    dead_letter_reasons: Counter[str] = Counter()
    claims: defaultdict[str, list[dict]] = defaultdict(list)  # release id -> the outcomes that name it

    @settings(
        PROFILE,
        max_examples=BATCHES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(st.lists(records(ingest, payloads, commits), min_size=BATCH_SIZE, max_size=BATCH_SIZE))
    def deliver(batch: list[dict]) -> None:
        delivered = ingest.deliver(*batch)
        for record in batch:
            message_id = record["messageId"]
            outcomes = delivered.outcomes[message_id]
            figures["events"] += 1
            assert outcomes, f"a silent outcome: {record['body'][:500]}"
            assert message_id not in delivered.failed, f"retried, yet nothing here is transient: {outcomes}"
            assert all(outcome["outcome"] in {"started", "ignored", "dead-lettered"} for outcome in outcomes)
            assert all(outcome.get("reason") or outcome.get("releases") for outcome in outcomes), outcomes
            if message_id in delivered.dead_letters:
                reason = delivered.dead_letters[message_id]
                error = reason.partition(":")[0]
                assert error not in BUILTIN_ERRORS, f"an unhandled exception, dead-lettered: {reason}"
                figures["dead-lettered with its reason"] += 1
                dead_letter_reasons[error] += 1
            else:
                assert "dead-lettered" not in {outcome["outcome"] for outcome in outcomes}
                started = [outcome for outcome in outcomes if outcome["outcome"] == "started"]
                figures["started a release" if started else "ignored with a logged reason"] += 1
            for outcome in outcomes:
                for release in outcome.get("releases", []):
                    claims[release].append(outcome)

    deliver()

    # Every release (started, or queued behind the demo product's active one) came from an event that describes
    # it: its repository, branch, commit and version.
    queued = {waiting.release_id for waiting in runtime.services().leases.queued("guestbook")}
    assert set(ingest.started_executions()) | queued == set(claims)
    for release_id, outcomes in claims.items():
        release = store.get(release_id)
        assert (release.source.branch, release.version) == ("main", version_at[release.source.commit])
        assert canonical_repo(release.source.repo_url) == canonical_repo(ingest.gitops_url)
        for outcome in outcomes:
            assert (outcome["ref"], outcome["after"]) == ("refs/heads/main", release.source.commit)
            assert canonical_repo(outcome["repo"]) == canonical_repo(ingest.gitops_url)

    with capsys.disabled():
        print(f"\ningest under mutation: {dict(figures)}; dead-lettered for {dict(dead_letter_reasons)}")
    assert figures["events"] >= 2000
    assert figures["started a release"] and figures["ignored with a logged reason"]
    assert figures["dead-lettered with its reason"]
