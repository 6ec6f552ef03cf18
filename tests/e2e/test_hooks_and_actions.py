"""Hooks and the `none` action through the real ASL on the local stack (issue: paths no test executes).

Every hook is an http check calling a loopback recorder, which notes which hook ran, for which environment,
with which context, and what the environment's files on the GitOps branch held at that moment: enough to
tell a hook that ran before its promotion from one that ran after it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotions.git import GitRemote
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

# Where the deployment says a release's page is (ReleaseLinkPrefix): hooks get it as RELEASE_URL.
RELEASE_PAGES = "https://promotions.example/releases/"
PROMOTED = ("qa", "staging", "prod")
DEMO_VERSION = "1.4.0"
IMAGE_TAG = re.compile(rb'^\s*tag:\s*"([^"]*)"', re.MULTILINE)
STEP_HOOKS = {"onStart": "step-started", "onSuccess": "step-succeeded", "onFail": "step-failed"}
FLOW_HOOKS = {"onSuccess": "release-succeeded", "onFail": "release-failed"}


@dataclass(frozen=True)
class HookCall:
    hook: str
    environment: str
    release: str
    commit: str
    error: str
    failed: list[str]
    link: str
    # The image tag apps/api/<environment>/values.yaml held on the branch when the hook ran.
    tag_then: str | None


class HookRecorder:
    """Answers every hook at POST /hooks/<name>: 200, or the status `refuse` set for that hook."""

    def __init__(self, api, remote: GitRemote) -> None:
        self.url = api.url
        self.calls: list[HookCall] = []
        self._remote = remote
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()
        for name in {*STEP_HOOKS.values(), *FLOW_HOOKS.values()}:
            api.respond("POST", f"/hooks/{name}", self._answer)

    def refuse(self, hook: str, status: int) -> None:
        self._refused[hook] = status

    def _answer(self, request) -> tuple[int, dict, dict]:
        sent = json.loads(request.body)
        tag = None
        if sent["environment"]:
            values = self._remote.snapshot("main").read(f"apps/api/{sent['environment']}/values.yaml")
            tag = IMAGE_TAG.search(values).group(1).decode()
        call = HookCall(
            hook=sent["hook"],
            environment=sent["environment"],
            release=sent["release"],
            commit=sent["commit"],
            error=sent["error"],
            failed=json.loads(sent["failed"]),
            link=sent["link"],
            tag_then=tag,
        )
        with self._lock:
            self.calls.append(call)
        status = self._refused.get(call.hook, 200)
        return status, {"refused": call.hook} if status >= 400 else {}, {}

    def of(self, environment: str) -> list[str]:
        """The hooks that ran for `environment` ("" for the flow's own), in the order they ran."""
        return [call.hook for call in self.calls if call.environment == environment]

    def one(self, hook: str, environment: str = "") -> HookCall:
        [call] = [c for c in self.calls if c.hook == hook and c.environment == environment]
        return call

    def position(self, hook: str, environment: str = "") -> int:
        return self.calls.index(self.one(hook, environment))


def document(api_version: str, kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


def hook_check(recorder: HookRecorder, name: str) -> dict:
    return document(
        "promotions.dev/v1alpha1",
        "PromotionCheck",
        name,
        {
            "http": {
                "url": f"{recorder.url}/hooks/{name}",
                "method": "POST",
                "body": {
                    "hook": name,
                    "environment": "${ENVIRONMENT}",
                    "release": "${RELEASE_ID}",
                    "commit": "${COMMIT_SHA}",
                    "error": "${ERROR_MESSAGE}",
                    "failed": "${FAILED_ENVIRONMENTS}",
                    "link": "${RELEASE_URL}",
                },
            }
        },
    )


def policy(name: str, priority: int, settings: dict, environments: list[str] | None = None) -> dict:
    spec: dict = {"priority": priority, "policy": settings}
    if environments:
        spec["selector"] = {"targetEnvironment": {"names": environments}}
    return document("codefresh.io/v1beta1", "PromotionPolicy", name, spec)


def write_documents(config_dir: Path, filename: str, documents: list[dict]) -> None:
    (config_dir / filename).write_text("---\n".join(json.dumps(d) + "\n" for d in documents))


def hooked_flow(config_dir: Path) -> None:
    """The demo's flow with STEP_HOOKS on every step and FLOW_HOOKS on the flow."""
    needs = {"qa": ["dev"], "staging": ["dev"], "prod": ["qa", "staging"]}
    steps = [{"environment": env, "dependsOn": needs[env], "hooks": STEP_HOOKS} for env in PROMOTED]
    spec = {"triggerEnvironment": "dev", "steps": steps, "hooks": FLOW_HOOKS}
    write_documents(
        config_dir,
        "promotion-flow.yaml",
        [document("codefresh.io/v1beta1", "PromotionFlow", "guestbook-release", spec)],
    )


@dataclass
class World:
    config_dir: Path
    url: str
    remote: GitRemote
    recorder: HookRecorder
    push_version: Callable[[str, str], dict]

    def configure(self, *extra: dict) -> None:
        """Hooks on every step and on the flow; `extra` documents (policies, checks) beside them."""
        hooked_flow(self.config_dir)
        names = [*STEP_HOOKS.values(), *FLOW_HOOKS.values()]
        write_documents(
            self.config_dir, "hooks.yaml", [hook_check(self.recorder, name) for name in names] + list(extra)
        )

    def release(self, version: str) -> tuple[Release, dict]:
        pushed = self.push_version(self.url, version)
        with LocalPromotions(self.config_dir, parameters={"ReleaseLinkPrefix": RELEASE_PAGES}) as local:
            local.submit_github_push(pushed)
            local.process_events()
            [release] = local.wait_until_settled(timeout=120)
        return release, pushed


@pytest.fixture
def world(gitops_world, push_version, api) -> Iterator[World]:
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        remote = GitRemote(url)
        yield World(gitops_world.write_config(url), url, remote, HookRecorder(api, remote), push_version)


def test_step_hooks_run_around_each_promotion_and_the_flows_on_success_after_every_step(world):
    world.configure()

    release, pushed = world.release("20.0.0")

    hooks = world.recorder
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    for env in PROMOTED:
        run = release.environment(env)
        assert run.status is EnvironmentStatus.SUCCESSFUL and run.commit
        assert hooks.of(env) == ["step-started", "step-succeeded"]
        started, succeeded = hooks.one("step-started", env), hooks.one("step-succeeded", env)
        # onStart ran before the promotion wrote the environment, with the pushed commit; onSuccess after it,
        # with the environment's own commit
        assert (started.tag_then, started.commit) == (DEMO_VERSION, pushed["after"])
        assert (succeeded.tag_then, succeeded.commit) == ("20.0.0", run.commit)
        assert {started.release, succeeded.release} == {release.id}
        assert started.link == succeeded.link == f"{RELEASE_PAGES}{release.id}"
    # prod starts once both of its dependencies succeeded, hooks included
    prod_started = hooks.position("step-started", "prod")
    assert prod_started > max(hooks.position("step-succeeded", env) for env in ("qa", "staging"))
    # the flow's onSuccess ran once, last, and nothing ran an onFail hook
    assert hooks.of("") == ["release-succeeded"]
    assert hooks.calls[-1] == hooks.one("release-succeeded")
    assert hooks.one("release-succeeded").release == release.id


def test_a_failing_step_runs_its_on_fail_hook_never_its_on_success_and_then_the_flows_on_fail(world, api):
    api.route("POST", "/smoke", {"status": "broken"})
    smoke = document(
        "promotions.dev/v1alpha1",
        "PromotionCheck",
        "smoke",
        {
            "http": {
                "url": f"{api.url}/smoke",
                "method": "POST",
                "successWhen": {"jsonPath": "$.status", "equals": "ok"},
            }
        },
    )
    world.configure(smoke, policy("staging-smoke", 1, {"postAction": "smoke"}, ["staging"]))

    release, _ = world.release("21.0.0")

    hooks = world.recorder
    staging = release.environment("staging")
    assert release.status is ReleaseStatus.FAILED
    assert staging.status is EnvironmentStatus.FAILED and staging.commit
    assert hooks.of("qa") == ["step-started", "step-succeeded"]
    # staging's promotion landed, then its postAction said no: onFail instead of onSuccess, told why
    assert hooks.of("staging") == ["step-started", "step-failed"]
    failed = hooks.one("step-failed", "staging")
    assert failed.commit == staging.commit and failed.tag_then == "21.0.0"
    assert "smoke" in failed.error and failed.error == staging.reason
    assert failed.failed == ["staging"]
    # prod never started, so none of its hooks ran; the flow ran onFail, not onSuccess
    assert release.environment("prod").status is EnvironmentStatus.TERMINATED
    assert hooks.of("prod") == []
    assert hooks.of("") == ["release-failed"]
    assert "staging" in hooks.one("release-failed").error


def test_a_failing_step_on_start_hook_fails_its_environment_before_anything_is_written(world):
    world.configure()
    world.recorder.refuse("step-started", 409)

    release, pushed = world.release("24.0.0")

    hooks = world.recorder
    assert release.status is ReleaseStatus.FAILED
    assert world.remote.snapshot("main").commit_sha == pushed["after"]
    for env in ("qa", "staging"):
        run = release.environment(env)
        assert run.status is EnvironmentStatus.FAILED and run.commit is None
        assert "step-started" in run.reason and "409" in run.reason
        assert hooks.of(env) == ["step-started", "step-failed"]
        failed = hooks.one("step-failed", env)
        assert failed.error == run.reason and env in failed.failed
        assert (failed.tag_then, failed.commit) == (DEMO_VERSION, pushed["after"])
    assert hooks.of("prod") == []
    assert hooks.of("") == ["release-failed"]


def test_action_none_succeeds_every_environment_and_writes_nothing_to_git(world):
    world.configure(policy("hands-off", 1, {"action": "none"}))

    release, pushed = world.release("22.0.0")

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert world.remote.snapshot("main").commit_sha == pushed["after"]  # the push, and nothing on top of it
    for env in PROMOTED:
        run = release.environment(env)
        assert run.status is EnvironmentStatus.SUCCESSFUL and run.commit is None
        # the step's hooks still run around a promotion that writes nothing
        assert world.recorder.of(env) == ["step-started", "step-succeeded"]
    assert world.recorder.of("") == ["release-succeeded"]


def test_a_failing_flow_on_success_hook_fails_the_release_and_runs_the_flows_on_fail(world):
    world.configure()
    world.recorder.refuse("release-succeeded", 409)

    release, _ = world.release("23.0.0")

    hooks = world.recorder
    assert release.status is ReleaseStatus.FAILED
    assert "release-succeeded" in release.reason and "409" in release.reason
    # every environment was promoted; the release failed on its last hook
    assert {release.environment(env).status for env in PROMOTED} == {EnvironmentStatus.SUCCESSFUL}
    assert hooks.of("") == ["release-succeeded", "release-failed"]
    told = hooks.one("release-failed")
    assert told.error == release.reason and told.failed == []
