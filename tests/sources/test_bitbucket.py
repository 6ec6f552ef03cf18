import copy

import pytest

from promotions.push import ZERO_SHA
from promotions.sources import EventError, parse_bitbucket_push, parse_bitbucket_pushes


def test_a_branch_push(upstream_events):
    push = parse_bitbucket_push(
        (upstream_events / "bitbucket-cloud-repo-push.json").read_bytes(), delivery_id="h-1"
    )

    assert push.provider == "bitbucket"
    assert push.repo_url == "https://bitbucket.org/brydzewski/foo.git"
    assert push.branch == "master"
    assert push.before == "40e7580cf11311d84a6e5e97e2cbba6df1675750"
    assert push.after == "141977fedf5cf35aa290ac87d4b5177ac4cd9de1"
    assert push.changed_paths == frozenset()  # Bitbucket lists no files: unknown
    assert push.commit_message == "Update README\n"
    assert (push.author_name, push.author_email) == ("Brad Rydzewski", "brad.rydzewski@gmail.com")
    assert push.default_branch is None
    assert push.delivery_id == "h-1"


def test_a_created_tag_and_a_deleted_branch_in_one_push(load_event):
    payload = load_event("bitbucket-cloud-repo-push.json")
    branch_update = payload["push"]["changes"][0]
    tag = copy.deepcopy(branch_update["new"]) | {"type": "tag", "name": "v1.2.0"}
    deleted_branch = copy.deepcopy(branch_update["old"]) | {"name": "feature/x"}
    payload["push"]["changes"] += [{"old": None, "new": tag}, {"old": deleted_branch, "new": None}]

    update, created, deleted = parse_bitbucket_pushes(payload)

    assert update.branch == "master"
    assert (created.tag, created.before, created.after) == (
        "v1.2.0",
        ZERO_SHA,
        "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
    )
    assert (deleted.branch, deleted.before) == ("feature/x", "40e7580cf11311d84a6e5e97e2cbba6df1675750")
    assert deleted.deletes_ref and deleted.commit_message == ""
    with pytest.raises(
        EventError, match=r"^bitbucket push: push\.changes: changes 3 refs; expected exactly one"
    ):
        parse_bitbucket_push(payload)


def test_the_author_name_falls_back_to_the_user_display_name(load_event):
    payload = load_event("bitbucket-cloud-repo-push.json")
    payload["push"]["changes"][0]["new"]["target"]["author"]["raw"] = "<brad.rydzewski@gmail.com>"

    push = parse_bitbucket_push(payload)

    assert (push.author_name, push.author_email) == ("Brad Rydzewski", "brad.rydzewski@gmail.com")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda p: p["repository"]["links"].pop("html"),
            "bitbucket push: repository.links.html: field required",
        ),
        (
            lambda p: p["push"]["changes"][0].update(old=None, new=None),
            "bitbucket push: push.changes[0]: neither old nor new is set",
        ),
        (
            lambda p: p["push"]["changes"][0]["new"].update(type="bookmark"),
            "bitbucket push: push.changes[0].new.type: input should be 'branch' or 'tag'",
        ),
        (
            lambda p: p["push"]["changes"][0]["old"]["target"].update(hash="not-a-sha"),
            "bitbucket push: push.changes[0].old.target.hash: "
            "expected a commit SHA (7 to 64 lowercase hex digits)",
        ),
        (
            lambda p: p["push"].update(changes={}),
            "bitbucket push: push.changes: input should be a valid list",
        ),
        (
            lambda p: p["push"]["changes"][0]["new"].update(name=""),
            "bitbucket push: push.changes[0].new.name: string should have at least 1 character",
        ),
    ],
)
def test_a_broken_payload_names_the_faulty_field(load_event, breakage, expected):
    payload = load_event("bitbucket-cloud-repo-push.json")
    breakage(payload)

    with pytest.raises(EventError) as caught:
        parse_bitbucket_pushes(payload)

    assert str(caught.value) == expected
