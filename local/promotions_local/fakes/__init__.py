"""Fake Argo CD, GitHub, GitLab and Bitbucket Cloud APIs on 127.0.0.1, for the tests and the local demo.

Each fake is a context manager around a ThreadingHTTPServer on an ephemeral port. It answers only with the
JSON shapes, status codes and error bodies of the real API for the endpoints the engine calls, checks the
token the way the real one expects it, records every request, and can fail the next requests with a 5xx.
The Git host fakes serve what promotions.gitproviders calls: pull requests and commit statuses.
Objects are built from real examples: `FakeArgoCd` and `FakeGitHub` take a recorded Application / pull request
object as their shape (the shared fixtures argocd-application.json and github-pull-request-closed-merged.json)
and override only the fields that change; GitLab and Bitbucket objects carry the fields of their documented
REST answers.

One module per fake (`argocd`, `github`, `gitlab`, `bitbucket`), as `promotions.gitproviders` has one per
host; `server` is what they share.
"""

from .argocd import ArgoAppState, FakeArgoCd
from .bitbucket import FakeBitbucket
from .github import FakeGitHub
from .gitlab import FakeGitLab
from .server import RecordedRequest

__all__ = ["ArgoAppState", "FakeArgoCd", "FakeBitbucket", "FakeGitHub", "FakeGitLab", "RecordedRequest"]
