"""The default branch, for Applications whose targetRevision is HEAD."""

from __future__ import annotations

import pytest

from promotions.git import GitRemote
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer, create_bare_repository


@pytest.mark.parametrize("server_class", [GitHttpBackendServer, GuardedDulwichServer])
@pytest.mark.parametrize("branch", ["main", "trunk"])
def test_the_default_branch_is_the_one_head_points_at(tmp_path, server_class, branch):
    create_bare_repository(tmp_path / "gitops.git", {"a.yaml": b"a: 1\n"}, branch=branch)
    with server_class(tmp_path) as server:
        assert GitRemote(server.url_for("gitops.git")).default_branch() == branch
    assert GitRemote(str(tmp_path / "gitops.git")).default_branch() == branch
