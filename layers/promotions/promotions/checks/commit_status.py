"""commitStatus: go on once CI reports success for the commit, on GitHub (statuses and check runs) or GitLab
(commit statuses, which include its pipeline jobs), read through the host's provider (promotions.gitproviders)."""

from __future__ import annotations

from typing import ClassVar, Literal, get_args

from pydantic import PositiveInt, model_validator

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckKind, Name, SecretRef
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait
from promotions.checks.services import CheckServices, SecretUnavailable
from promotions.gitproviders import (
    CommitState,
    CommitStatus,
    GitProviderConfigError,
    GitProviderError,
    StatusKind,
    provider_for,
    provider_name_for,
)
from promotions.http import HttpTransientError
from promotions.repo_url import canonical_repo

Provider = Literal["github", "gitlab"]

_CHECK_RUNS_ON_GITLAB = (
    "checkRuns are GitHub's; GitLab reports pipeline jobs as commit statuses: list them in contexts"
)


class CommitStatusCheck(CheckKind):
    """Passes when the listed status contexts and check runs (all of them when none are listed) report success
    for the commit: the promotion commit in post-actions, else the commit the release promotes. Pending or
    missing reports wait `pollSeconds`; a failure or error fails, naming it."""

    kind: ClassVar[str] = "commitStatus"

    # Default: github for github.com, gitlab for gitlab.com and hosts named gitlab.*.
    provider: Provider | None = None
    # Default: https://api.github.com (GitHub Enterprise: https://HOST/api/v3); GitLab: https://HOST/api/v4.
    api_url: str | None = None
    contexts: tuple[Name, ...] = ()
    check_runs: tuple[Name, ...] = ()
    # Where the API token is: a Secrets Manager secret ARN or name, or {secret, key}.
    token_secret: SecretRef | None = None
    poll_seconds: PositiveInt = 60

    @model_validator(mode="after")
    def _check_runs_need_github(self) -> CommitStatusCheck:
        if self.provider == "gitlab" and self.check_runs:
            raise ValueError(_CHECK_RUNS_ON_GITLAB)
        return self

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        if context.commit is not None and context.app is not None:
            repo_url, sha = context.app.repo_url, context.commit.sha
        elif context.source_commit and context.source_repo_url:
            repo_url, sha = context.source_repo_url, context.source_commit
        else:
            return Failed(
                reason="no commit to read statuses of: neither a promotion commit nor the release's source"
            )
        host, _, path = canonical_repo(repo_url).partition("/")
        provider_name = self.provider or provider_name_for(repo_url)
        if provider_name not in get_args(Provider):
            return Failed(reason=f"cannot tell whether {host} runs GitHub or GitLab: set provider and apiUrl")
        try:
            token = self.token_secret.read(services) if self.token_secret is not None else None
        except SecretUnavailable as error:
            return Failed(reason=str(error))
        try:
            # provider_for is typed for the concrete client; any client of its shape serves.
            provider = provider_for(
                repo_url,
                provider=provider_name,
                api_url=self.api_url,
                token=token,
                http=services.http,  # type: ignore[arg-type]
            )
            if self.check_runs and StatusKind.CHECK_RUN not in provider.status_kinds:
                return Failed(reason=_CHECK_RUNS_ON_GITLAB)
            reported = provider.commit_statuses(repo_url, sha, self._kinds)
        except HttpTransientError as error:
            # Rate limited, or the host briefly down: ask again at the next poll, within the check's timeout.
            return Wait(seconds=self.poll_seconds, reason=str(error))
        except (GitProviderError, GitProviderConfigError) as error:
            return Failed(reason=str(error))
        return self._verdict(f"commit {sha[:12]} of {path}", reported)

    @property
    def _kinds(self) -> frozenset[StatusKind]:
        if not (self.contexts or self.check_runs):
            return frozenset(StatusKind)
        return frozenset(
            [StatusKind.STATUS] * bool(self.contexts) + [StatusKind.CHECK_RUN] * bool(self.check_runs)
        )

    def _verdict(self, subject: str, reported: list[CommitStatus]) -> CheckOutcome:
        latest = {(status.kind, status.name): status for status in reported}
        if self.contexts or self.check_runs:
            required = [(StatusKind.STATUS, name) for name in self.contexts] + [
                (StatusKind.CHECK_RUN, name) for name in self.check_runs
            ]
        else:
            required = list(latest)
            if not required:
                return Wait(
                    seconds=self.poll_seconds, reason=f"{subject}: no statuses or check runs reported yet"
                )
        failed = [
            f"{kind} {name} ({latest[kind, name].detail})"
            for kind, name in required
            if (kind, name) in latest and latest[kind, name].state is CommitState.FAILURE
        ]
        if failed:
            return Failed(reason=f"{subject}: {'; '.join(failed)}")
        waiting = [
            f"{kind} {name} ({latest[kind, name].detail if (kind, name) in latest else 'not reported yet'})"
            for kind, name in required
            if (kind, name) not in latest or latest[kind, name].state is CommitState.PENDING
        ]
        if waiting:
            return Wait(seconds=self.poll_seconds, reason=f"{subject}: waiting for {'; '.join(waiting)}")
        return Passed()
