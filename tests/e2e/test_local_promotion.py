"""Whole releases on the local stack: the real ASL on moto, the real handlers, real Git servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from dulwich.repo import Repo
from promotions.git import GitRemote, SshCommitSigner
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer, GitServerResponse, GuardedDulwichServer
from promotions_local.session import EventRejected, LocalPromotions

pytestmark = pytest.mark.slow

PROMOTED = ("qa", "staging", "prod")


def staging_in_its_own_repository(text: str, filename: str, url: str, staging_url: str) -> str:
    """Point staging's Applications at a second repository, so a test can tell staging's pushes apart."""
    if filename != "applications.yaml":
        return text
    return "---".join(
        doc.replace(url, staging_url) if "-staging\n" in doc else doc for doc in text.split("---")
    )


def ancestors(bare_repo, commit: str) -> set[str]:
    with Repo(str(bare_repo)) as repo:
        return {entry.commit.id.decode() for entry in repo.get_walker(include=[commit.encode()])}


def run_release(config_dir, *pushes, timeout=180):
    with LocalPromotions(config_dir) as local:
        for push in pushes:
            local.submit_github_push(push)
        local.process_events()
        return local.wait_until_settled(timeout=timeout)


@pytest.mark.parametrize(
    "server_class", [GitHttpBackendServer, GuardedDulwichServer], ids=["git-http-backend", "guarded-dulwich"]
)
def test_a_push_to_dev_is_promoted_through_the_whole_flow(gitops_world, server_class, push_version):
    with server_class(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        before = GitRemote(url).snapshot("main")
        push = push_version(url, "2.0.0")
        [release] = run_release(gitops_world.write_config(url), push)
        after = GitRemote(url).snapshot("main")

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert (release.product, release.flow, release.version) == ("guestbook", "guestbook-release", "2.0.0")
    runs = {run.name: run for run in release.environments}
    assert runs["dev"].commit == push["after"]
    for name in PROMOTED:
        assert runs[name].status is EnvironmentStatus.SUCCESSFUL
        assert runs[name].commit and len(runs[name].commit) == 40

    for app in ("api", "web"):
        for env in PROMOTED:
            old_values = before.read(f"apps/{app}/{env}/values.yaml").decode()
            # exactly the promoted property changed; comments, sizing and per-environment hosts stayed
            assert after.read(f"apps/{app}/{env}/values.yaml").decode() == old_values.replace(
                'tag: "1.4.0"', 'tag: "2.0.0"'
            )
            old_chart = before.read(f"apps/{app}/{env}/Chart.yaml").decode()
            assert after.read(f"apps/{app}/{env}/Chart.yaml").decode() == old_chart.replace(
                'appVersion: "1.4.0"', 'appVersion: "2.0.0"'
            )

    # dependency order: prod was written on top of both of its dependencies' commits
    prod_history = ancestors(gitops_world.repos / "gitops.git", runs["prod"].commit)
    assert {runs["qa"].commit, runs["staging"].commit, push["after"]} <= prod_history
    assert runs["prod"].commit not in ancestors(gitops_world.repos / "gitops.git", runs["qa"].commit)

    with Repo(str(gitops_world.repos / "gitops.git")) as repo:
        message = repo[runs["prod"].commit.encode()].message.decode()
    assert message.startswith("Promote guestbook 2.0.0 to prod")
    assert f"Promotion-Release: {release.id}" in message
    assert "Promotion-Environment: prod" in message
    assert f"Promotion-Source: {url}@{push['after']}" in message


def test_the_same_push_twice_makes_one_release(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        push = push_version(url, "2.1.0")
        releases = run_release(gitops_world.write_config(url), push, push)
    assert len(releases) == 1
    with Repo(str(gitops_world.repos / "gitops.git")) as repo:
        messages = [entry.commit.message.decode() for entry in repo.get_walker()]
    assert sum(m.startswith("Promote guestbook 2.1.0") for m in messages) == 3


def test_a_failed_environment_stops_its_dependents_and_fails_the_release(
    gitops_world, push_version, developer
):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        remote = GitRemote(url)
        # staging's image is a plain string: there is no image.tag to write, so its promotion must fail
        remote.commit(
            "main",
            lambda tip: {
                f"apps/{app}/staging/values.yaml": tip.read(f"apps/{app}/staging/values.yaml").replace(
                    b"image:\n  repository:",
                    b"image: registry.example.invalid/pinned\nimageDetails:\n  repository:",
                )
                for app in ("api", "web")
            },
            "Pin staging's image",
            developer,
        )
        before = remote.snapshot("main")
        push = push_version(url, "3.0.0")
        [release] = run_release(gitops_world.write_config(url), push)
        after = remote.snapshot("main")

    runs = {run.name: run for run in release.environments}
    assert release.status is ReleaseStatus.FAILED
    assert runs["staging"].status is EnvironmentStatus.FAILED
    assert "image" in runs["staging"].reason
    assert runs["qa"].status is EnvironmentStatus.SUCCESSFUL
    assert runs["prod"].status is EnvironmentStatus.TERMINATED and runs["prod"].commit is None
    assert "staging" in release.reason
    for app in ("api", "web"):
        assert after.read(f"apps/{app}/prod/values.yaml") == before.read(f"apps/{app}/prod/values.yaml")
        assert after.read(f"apps/{app}/staging/values.yaml") == before.read(f"apps/{app}/staging/values.yaml")


def test_an_environment_starts_as_soon_as_its_own_dependencies_succeed(gitops_world, push_version):
    """qa → prod must not wait for staging: staging's push is held until prod has finished."""
    shutil.copytree(gitops_world.repos / "gitops.git", gitops_world.repos / "gitops-staging.git")
    staging_may_push = threading.Event()
    with GitHttpBackendServer(gitops_world.repos) as server:
        url, staging_url = server.url_for("gitops.git"), server.url_for("gitops-staging.git")
        serve = server.respond

        def hold_staging_pushes(request):
            if request.path.startswith("/gitops-staging.git/git-receive-pack"):
                staging_may_push.wait(timeout=120)
            return serve(request)

        server.respond = hold_staging_pushes

        def rewire(text, filename):
            if filename == "promotion-flow.yaml":
                return text.replace("dependsOn: [qa, staging]", "dependsOn: [qa]")
            return staging_in_its_own_repository(text, filename, url, staging_url)

        config = gitops_world.write_config(url, edit=rewire)
        push = push_version(url, "4.0.0")
        with LocalPromotions(config) as local:
            local.submit_github_push(push)
            local.process_events()
            deadline = time.monotonic() + 120
            while True:
                [release] = local.releases() or [None]
                if release and release.environment("prod").status.is_final:
                    break
                assert time.monotonic() < deadline, "prod never finished while staging was held"
                time.sleep(0.1)
            staging_while_prod_done = release.environment("staging").status
            staging_may_push.set()
            [release] = local.wait_until_settled(timeout=120)

    assert release.environment("prod").status is EnvironmentStatus.SUCCESSFUL
    assert staging_while_prod_done is EnvironmentStatus.RUNNING
    assert release.status is ReleaseStatus.SUCCEEDED
    assert release.environment("staging").commit is not None


def local_run_json(config, push_file) -> subprocess.CompletedProcess:
    """`promotions local run --config DIR --github-push FILE --json`, as a user runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "promotions_local.cli",
            "local",
            "run",
            "--config",
            str(config),
            "--github-push",
            str(push_file),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_local_run_prints_one_json_document(gitops_world, tmp_path, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        push_file = tmp_path / "push.json"
        push_file.write_text(json.dumps(push_version(url, "5.0.0")))
        config = gitops_world.write_config(url)
        result = local_run_json(config, push_file)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    [release] = document["releases"]
    assert release["status"] == "Succeeded" and release["version"] == "5.0.0"
    assert [env["name"] for env in release["environments"]] == ["dev", "qa", "staging", "prod"]
    assert all(env["status"] == "Successful" and len(env["commit"]) == 40 for env in release["environments"])
    assert set(release) == {"id", "product", "flow", "version", "status", "environments"}


def test_local_run_refuses_a_broken_configuration_with_file_and_line(gitops_world, tmp_path):
    config = gitops_world.write_config("https://git.example.invalid/x.git")
    (config / "promotion-flow.yaml").write_text(
        (config / "promotion-flow.yaml").read_text().replace("dependsOn: [dev]", "dependsOn: [nowhere]", 1)
    )
    push_file = tmp_path / "push.json"
    push_file.write_text("{}")
    result = local_run_json(config, push_file)
    assert result.returncode == 1
    assert "promotion-flow.yaml:" in result.stderr and "nowhere" in result.stderr
    assert result.stdout == ""


def test_local_run_refuses_an_invalid_push_naming_the_field(gitops_world, tmp_path):
    config = gitops_world.write_config("https://git.example.invalid/x.git")
    push_file = tmp_path / "push.json"
    push_file.write_text(json.dumps({"ref": "refs/heads/main", "after": "a" * 40}))
    result = local_run_json(config, push_file)
    assert result.returncode == 2
    assert f"{push_file}: github push: before: field required" in result.stderr


def failing_pushes(server, times: int):
    """Make the git server answer the next `times` pushes with 503, as a server in trouble would."""
    serve, failures = server.respond, {"left": times}
    lock = threading.Lock()

    def respond(request):
        if request.path.endswith("/git-receive-pack"):
            with lock:
                if failures["left"] > 0:
                    failures["left"] -= 1
                    return GitServerResponse(503, [("Content-Type", "text/plain")], b"unavailable")
        return serve(request)

    server.respond = respond
    return failures


def test_a_git_server_that_fails_for_a_while_is_retried_without_duplicate_commits(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        push = push_version(url, "13.0.0")
        failures = failing_pushes(server, times=3)
        [release] = run_release(gitops_world.write_config(url), push)
    assert failures["left"] == 0, "the failing pushes were never tried"
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    with Repo(str(gitops_world.repos / "gitops.git")) as repo:
        messages = [entry.commit.message.decode() for entry in repo.get_walker()]
    assert sorted(m.splitlines()[0] for m in messages if m.startswith("Promote")) == [
        "Promote guestbook 13.0.0 to prod",
        "Promote guestbook 13.0.0 to qa",
        "Promote guestbook 13.0.0 to staging",
    ]


def test_when_git_retries_run_out_the_environment_fails_with_the_reason(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        push = push_version(url, "14.0.0")
        failing_pushes(server, times=10_000)
        [release] = run_release(gitops_world.write_config(url), push)
    assert release.status is ReleaseStatus.FAILED
    for name in ("qa", "staging"):
        run = release.environment(name)
        assert run.status is EnvironmentStatus.FAILED and run.commit is None
        assert run.reason.startswith("TransientError: GitTransientError") and "503" in run.reason
    assert release.environment("prod").status is EnvironmentStatus.TERMINATED


def test_a_malformed_event_on_the_bus_is_parked_in_the_dead_letter_queue_with_its_reason(gitops_world):
    config = gitops_world.write_config("https://git.example.invalid/gitops.git")
    detail = {"provider": "github", "event": "push", "delivery": "d-1", "payload": {"ref": "refs/heads/main"}}
    with LocalPromotions(config) as local:
        local.stack.put_events(
            [
                {
                    "EventBusName": local.stack.resources["EventBus"].physical_id,
                    "Source": "promotions.webhooks",
                    "DetailType": "github push",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        with pytest.raises(EventRejected) as rejected:
            local.process_events()
        assert local.release_ids() == []
    assert str(rejected.value).startswith("EventError: github push: ")
    assert "before: field required" in str(rejected.value)


def wait_for_execution(local, name: str, timeout: float = 180) -> None:
    sfn = local.stack.client("stepfunctions")
    arn = local.stack.resources["ReleaseStateMachine"].physical_id.replace(":stateMachine:", ":execution:")
    deadline = time.monotonic() + timeout
    while sfn.describe_execution(executionArn=f"{arn}:{name}")["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"execution {name} still running"
        time.sleep(0.1)


def test_a_failed_release_retried_later_resumes_without_duplicate_commits(gitops_world, push_version):
    """qa lands, staging's pushes keep failing: the release fails. Once the server recovers, a retry runs
    staging and prod only; qa keeps its commit and nothing is committed twice."""
    shutil.copytree(gitops_world.repos / "gitops.git", gitops_world.repos / "gitops-staging.git")
    with GitHttpBackendServer(gitops_world.repos) as server:
        url, staging_url = server.url_for("gitops.git"), server.url_for("gitops-staging.git")
        push = push_version(url, "17.0.0")
        serve, staging_down = server.respond, threading.Event()
        staging_down.set()

        def refuse_staging_pushes(request):
            if staging_down.is_set() and request.path == "/gitops-staging.git/git-receive-pack":
                return GitServerResponse(503, [("Content-Type", "text/plain")], b"unavailable")
            return serve(request)

        server.respond = refuse_staging_pushes
        config = gitops_world.write_config(
            url, edit=lambda text, name: staging_in_its_own_repository(text, name, url, staging_url)
        )
        with LocalPromotions(config) as local:
            local.submit_github_push(push)
            local.process_events()
            [failed] = local.wait_until_settled(timeout=180)
            staging_down.clear()
            local.retry_release(failed.id)
            wait_for_execution(local, f"{failed.id}-retry-1")
            [retried] = local.wait_until_settled(timeout=180)

    assert failed.status is ReleaseStatus.FAILED
    assert failed.environment("staging").status is EnvironmentStatus.FAILED
    assert failed.environment("prod").status is EnvironmentStatus.TERMINATED
    assert retried.status is ReleaseStatus.SUCCEEDED, retried.reason
    assert retried.reason is None
    assert retried.environment("qa").commit == failed.environment("qa").commit
    subjects = []
    for name in ("gitops.git", "gitops-staging.git"):
        with Repo(str(gitops_world.repos / name)) as repo:
            subjects += [entry.commit.message.decode().splitlines()[0] for entry in repo.get_walker()]
    assert sorted(s for s in subjects if s.startswith("Promote")) == [
        "Promote guestbook 17.0.0 to prod",
        "Promote guestbook 17.0.0 to qa",
        "Promote guestbook 17.0.0 to staging",
    ]


def test_applications_tracking_head_are_promoted_on_the_default_branch(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        config = gitops_world.write_config(
            url, edit=lambda text, name: text.replace("targetRevision: main", "targetRevision: HEAD")
        )
        push = push_version(url, "18.0.0")
        [release] = run_release(config, push)
        after = GitRemote(url).snapshot("main")
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert b'tag: "18.0.0"' in after.read("apps/web/prod/values.yaml")


@pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("ssh-keygen") is None,
    reason="git and ssh-keygen check the signatures",
)
def test_promotion_commits_are_signed_with_the_key_held_in_secrets_manager(gitops_world, push_version, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    secret_name = "promotions-commit-signing-key"
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        push = push_version(url, "2.0.0")
        parameters = {"CommitSigningKeySecretArn": secret_name}
        with LocalPromotions(gitops_world.write_config(url), parameters=parameters) as local:
            boto3.client("secretsmanager").create_secret(Name=secret_name, SecretString=key.decode())
            local.submit_github_push(push)
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    allowed_signers = tmp_path / "allowed_signers"
    allowed_signers.write_text(f"promotions@noreply.local {SshCommitSigner(key).public_key}\n")
    for run in release.environments:
        if run.name == "dev":
            continue  # the developer's own, unsigned push
        shown = subprocess.run(
            ["git", "-C", str(gitops_world.repos / "gitops.git"),
             "-c", f"gpg.ssh.allowedSignersFile={allowed_signers}",
             "log", "-1", "--format=%G? %GS", run.commit],  # fmt: skip
            capture_output=True,
            check=True,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"},
        )
        assert shown.stdout.decode().strip() == "G promotions@noreply.local", run.name


def test_a_push_too_large_for_an_event_is_promoted_all_the_same(gitops_world, push_version):
    """Over EventBridge's 256 KB, the payload goes by way of the stack's payload bucket, and ingest reads it."""
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        push = push_version(url, "2.1.0")
        push["head_commit"]["message"] += "\n" + "A very long release note.\n" * 12_000
        assert len(json.dumps(push)) > 256 * 1024
        with LocalPromotions(gitops_world.write_config(url)) as local:
            local.submit_github_push(push)
            bucket = local.stack.resources["WebhookPayloadsBucket"].physical_id
            [stored] = local.stack.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)

    assert stored["Size"] == len(json.dumps(push).encode())
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert release.version == "2.1.0"
