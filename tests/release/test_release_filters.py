"""Release listings filtered by flow, creation time and a version or commit prefix, page by page: the time
bounds are the index's sort key, the rest DynamoDB's filter on what a page reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest

from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore, UnknownPageToken
from tests.functions.api_world import TABLE, promotions_table_from_template

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(aws) -> ReleaseStore:
    boto3.client("dynamodb").create_table(**promotions_table_from_template())
    return ReleaseStore(TABLE)


@pytest.fixture
def made(store) -> list[Release]:
    """Eight releases a minute apart, oldest first: flows alternating, versions 1.n.0 and 2.n.0."""
    releases = []
    for n in range(8):
        flow = ("release", "hotfix")[n % 2]
        source = SourceRevision(
            repo_url="https://git.example.com/app.git", branch="main", commit=f"{n:x}" * 40
        )
        release = Release(
            id=release_id_for("app", flow, source),
            product="app",
            flow=flow,
            version=f"{n % 2 + 1}.{n}.0",
            trigger_environment="dev",
            source=source,
            config_revision="r",
            created_at=T0 + timedelta(minutes=n),
            environments=[EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL)],
        )
        assert store.create(release)
        releases.append(release)
    return releases


def listed(store: ReleaseStore, limit: int = 2, **filters) -> tuple[list[str], int]:
    """Every page's releases, and how many pages it took."""
    seen, token, pages = [], None, 0
    while True:
        page = store.list_releases(limit=limit, next_token=token, **filters)
        pages += 1
        seen += [release.id for release in page.releases]
        token = page.next_token
        if token is None:
            return seen, pages


def ids(releases) -> list[str]:
    return [release.id for release in releases]


@pytest.mark.parametrize("product", [None, "app"])
def test_filters_select_the_same_releases_whichever_index_lists_them(store, made, product):
    newest_first = made[::-1]

    assert listed(store, product=product, flow="hotfix")[0] == ids(
        r for r in newest_first if r.flow == "hotfix"
    )
    assert listed(store, product=product, search="2.")[0] == ids(
        r for r in newest_first if r.version[0] == "2"
    )
    assert listed(store, product=product, search="5555")[0] == [made[5].id]
    assert listed(store, product=product, search="AAAA")[0] == []
    assert listed(store, product=product, since=made[5].created_at)[0] == ids(newest_first[:3])
    assert listed(store, product=product, until=made[2].created_at)[0] == ids(newest_first[-2:])
    assert listed(store, product=product, since=made[2].created_at, until=made[6].created_at, flow="release")[
        0
    ] == [made[4].id, made[2].id]


def test_a_page_is_one_read_so_a_filtered_one_may_be_short_and_still_lead_on(store, made):
    first = store.list_releases(limit=2, search="1.0.")

    assert first.releases == [] and first.next_token is not None
    seen, pages = listed(store, limit=2, search="1.0.")
    assert seen == [made[0].id] and pages >= 4


def test_times_with_another_offset_or_none_are_read_as_the_instants_they_name(store, made):
    paris = timezone(timedelta(hours=1))
    since = (made[6].created_at).astimezone(paris)

    assert listed(store, since=since)[0] == [made[7].id, made[6].id]
    assert listed(store, since=made[6].created_at.replace(tzinfo=None))[0] == [made[7].id, made[6].id]
    assert listed(store, since=made[6].created_at + timedelta(microseconds=1))[0] == [made[7].id]


def test_an_empty_time_range_lists_nothing_and_a_token_goes_on_only_in_its_own_range(store, made):
    assert store.list_releases(since=made[3].created_at, until=made[3].created_at).releases == []
    token = store.list_releases(limit=1, since=made[2].created_at).next_token

    assert store.list_releases(since=made[2].created_at, next_token=token).releases[0].id == made[6].id
    with pytest.raises(UnknownPageToken, match="since and until"):
        store.list_releases(next_token=token)
    with pytest.raises(UnknownPageToken, match="since and until"):
        store.list_releases(until=made[7].created_at, next_token=store.list_releases(limit=1).next_token)
