import pytest

from promotions.push import ZERO_SHA
from promotions.sources import EventError, parse_gitlab_push, verify_gitlab_token


def test_a_recorded_push_lists_the_files_its_commits_touched(upstream_events):
    push = parse_gitlab_push((upstream_events / "gitlab-push.json").read_bytes(), delivery_id="uuid-1")

    assert push.provider == "gitlab"
    assert push.repo_url == "https://gitlab.com/gitlab-org/hello-world.git"
    assert push.branch == "master"
    assert push.before == "9217710ce8c7e1eae7a5d1c45f6e43e1c769f866"
    assert push.after == "2adc9465c4edfc33834e173fe89436a7cb899a1d"
    assert push.changed_paths == {"README.md"}
    assert push.commit_message == "added readme\n"
    assert (push.author_name, push.author_email) == ("Sid Sijbrandij", "noreply@gitlab.com")
    assert push.default_branch == "master"
    assert push.delivery_id == "uuid-1"


def test_a_push_listing_fewer_commits_than_it_counts_has_unknown_paths(upstream_events, load_event):
    # The documented example counts 4 commits and lists 2: the files of the other two are unknown.
    push = parse_gitlab_push((upstream_events / "gitlab-push-docs-example.json").read_bytes())

    assert push.repo_url == "http://example.com/mike/diaspora.git"
    assert push.before == "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert push.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert push.changed_paths == frozenset()
    assert push.commit_message == "fixed readme"
    assert (push.author_name, push.author_email) == ("GitLab dev user", "gitlabdev@dv6700.(none)")

    complete = load_event("gitlab-push-docs-example.json")
    complete["total_commits_count"] = 2
    assert parse_gitlab_push(complete).changed_paths == {"CHANGELOG", "app/controller/application.rb"}


def test_a_tag_push(upstream_events):
    push = parse_gitlab_push((upstream_events / "gitlab-tag-push-docs-example.json").read_bytes())

    assert (push.tag, push.branch) == ("v1.0.0", None)
    assert push.repo_url == "http://example.com/jsmith/example.git"
    assert push.before == ZERO_SHA
    assert push.after == "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"
    assert (push.changed_paths, push.commit_message) == (frozenset(), "")


def test_checkout_sha_stands_in_for_a_missing_after(load_event):
    payload = load_event("gitlab-push.json")
    del payload["after"]

    assert parse_gitlab_push(payload).after == "2adc9465c4edfc33834e173fe89436a7cb899a1d"


def test_a_branch_deletion(load_event):
    payload = load_event("gitlab-push.json")
    payload.update(after=ZERO_SHA, checkout_sha=None, commits=[], total_commits_count=0)

    push = parse_gitlab_push(payload)

    assert push.deletes_ref
    assert (push.commit_message, push.changed_paths) == ("", frozenset())


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda p: p["project"].pop("git_http_url"), "gitlab push: project.git_http_url: field required"),
        (
            lambda p: p.update(object_kind="merge_request"),
            "gitlab push: object_kind: input should be 'push' or 'tag_push'",
        ),
        (
            lambda p: p.pop("after") and p.update(checkout_sha=None),
            "gitlab push: after: field required (neither after nor checkout_sha is set)",
        ),
        (
            lambda p: p["commits"][0].update(id="2adc946"),
            "gitlab push: commits[0].id: expected a full commit SHA (40 or 64 lowercase hex digits)",
        ),
        (
            lambda p: p["commits"][0].update(added=[1]),
            "gitlab push: commits[0].added[0]: input should be a valid string",
        ),
        (
            lambda p: p.update(total_commits_count="many"),
            "gitlab push: total_commits_count: "
            "input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_a_broken_payload_names_the_faulty_field(load_event, breakage, expected):
    payload = load_event("gitlab-push.json")
    breakage(payload)

    with pytest.raises(EventError) as caught:
        parse_gitlab_push(payload)

    assert str(caught.value) == expected


def test_the_secret_token_is_compared():
    assert verify_gitlab_token("s3cret", "s3cret")
    assert not verify_gitlab_token("s3cret", "s3cret ")
    assert not verify_gitlab_token("s3cret", None)
    with pytest.raises(ValueError, match="token is empty"):
        verify_gitlab_token("", "")
