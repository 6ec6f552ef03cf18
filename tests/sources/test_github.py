import json

import pytest

from promotions.push import ZERO_SHA
from promotions.sources import EventError, parse_github_push, verify_github_signature


def test_a_branch_push_lists_the_files_its_commits_touched(upstream_events):
    push = parse_github_push((upstream_events / "github-push.json").read_bytes(), delivery_id="d-1")

    assert push.provider == "github"
    assert push.repo_url == "https://github.com/binkkatal/sample_app.git"
    assert (push.ref, push.branch, push.tag) == ("refs/heads/master", "master", None)
    assert push.before == "737d38c599c1b2991664dfc6155d6bf516fcce36"
    assert push.after == "fd489864e7642b48eaad6e3f155c10e46810ec72"
    assert push.changed_paths == {".razorops.yaml", "app/controllers/application_controller.rb"}
    assert push.commit_message == "test a push event"
    assert (push.author_name, push.author_email) == ("binkkatal", "binkkatal.r@gmail.com")
    assert push.default_branch == "master"
    assert push.delivery_id == "d-1"
    assert not push.deletes_ref


def test_a_merge_push_unites_the_paths_of_all_its_commits(upstream_events):
    recorded = (upstream_events / "github-push-merge-to-master.headers.txt").read_text().splitlines()
    headers = {name.strip(): value.strip() for name, value in (line.split("\t", 1) for line in recorded)}
    delivery_id = headers["x-github-delivery"]

    push = parse_github_push(
        (upstream_events / "github-push-merge-to-master.json").read_text(), delivery_id=delivery_id
    )

    assert push.repo_url == "https://github.com/ailisp/gcbapp-buildconfig-example.git"
    assert push.before == "8357af6fef17bd180014e419f049944cb491238f"
    assert push.after == "a21683865c088b5fe1906cf6552d15a285a4986d"
    assert push.changed_paths == {"README.md"}
    assert push.commit_message == "Merge pull request #3 from byao1276/byao1276-patch-1\n\nByao1276 patch 1"
    assert (push.author_name, push.author_email) == ("Bo Yao", "icerove@gmail.com")
    assert push.delivery_id == "88f41318-101a-11ea-99ad-ec7586fcd78e"


def test_a_tag_creation_has_no_known_paths(upstream_events):
    push = parse_github_push((upstream_events / "github-push-tag-created.json").read_bytes())

    assert (push.tag, push.branch) == ("v0.0.1", None)
    assert push.before == ZERO_SHA
    assert push.after == "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd"
    assert push.changed_paths == frozenset()
    assert push.commit_message == "Update .drone.yml"
    assert push.author_email == "brad.rydzewski@gmail.com"
    assert push.delivery_id is None


def test_a_tag_deletion_has_no_head_commit(upstream_events):
    push = parse_github_push((upstream_events / "github-push-tag-deleted.json").read_bytes())

    assert push.repo_url == "https://github.com/Codertocat/Hello-World.git"
    assert push.tag == "simple-tag"
    assert push.before == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert push.deletes_ref
    assert (push.commit_message, push.author_name, push.author_email) == ("", "", "")
    assert push.changed_paths == frozenset()


def test_decoded_and_raw_payloads_parse_alike(upstream_events, load_event):
    raw = (upstream_events / "github-push.json").read_bytes()

    assert (
        parse_github_push(load_event("github-push.json"))
        == parse_github_push(raw)
        == parse_github_push(raw.decode())
    )


def test_payloads_naming_only_the_old_default_branch_field_still_give_it(load_event):
    payload = load_event("github-push.json")
    del payload["repository"]["default_branch"]
    payload["repository"]["master_branch"] = "trunk"

    assert parse_github_push(payload).default_branch == "trunk"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda p: p["repository"].pop("clone_url"), "github push: repository.clone_url: field required"),
        (lambda p: p.pop("ref"), "github push: ref: field required"),
        (
            lambda p: p.update(ref="master"),
            "github push: ref: expected a full Git ref such as refs/heads/main",
        ),
        (
            lambda p: p.update(after="fd48986"),
            "github push: after: expected a full commit SHA (40 or 64 lowercase hex digits)",
        ),
        (
            lambda p: p["commits"][0].update(added=".razorops.yaml"),
            "github push: commits[0].added: input should be a valid array",
        ),
        (
            lambda p: p.update(head_commit={"message": 42}),
            "github push: head_commit.message: input should be a valid string",
        ),
        (
            lambda p: p.update(repository="binkkatal/sample_app"),
            "github push: repository: input should be an object",
        ),
    ],
)
def test_a_broken_payload_names_the_faulty_field(load_event, breakage, expected):
    payload = load_event("github-push.json")
    breakage(payload)

    with pytest.raises(EventError) as caught:
        parse_github_push(json.dumps(payload))

    assert str(caught.value) == expected


def test_several_faults_are_counted(load_event):
    payload = load_event("github-push.json")
    del payload["ref"], payload["before"], payload["after"]

    with pytest.raises(EventError, match=r"^github push: ref: field required \(and 2 more problems\)$"):
        parse_github_push(payload)


def test_a_body_that_is_not_json_is_an_event_error():
    with pytest.raises(EventError) as caught:
        parse_github_push(b"payload=%7B%7D")

    assert caught.value.field == ""
    assert str(caught.value).startswith("github push: invalid JSON")


def test_the_documented_signature_vector_verifies(upstream_events, load_event):
    vector = load_event("github-webhook-signature-example.json")
    secret, body = vector["secret"].encode(), vector["payload"].encode()
    header = vector["headers"]["X-Hub-Signature-256"]

    assert header == "sha256=" + vector["signature"]
    assert verify_github_signature(secret, body, header)
    assert not verify_github_signature(secret, body + b"!", header)
    assert not verify_github_signature(b"another secret", body, header)
    assert not verify_github_signature(secret, body, vector["signature"])  # no sha256= prefix
    assert not verify_github_signature(secret, body, "sha1=" + vector["signature"])
    assert not verify_github_signature(secret, body, None)


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="secret is empty"):
        verify_github_signature(b"", b"{}", "sha256=00")
