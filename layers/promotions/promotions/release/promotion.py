"""Promoting one environment: copy the template's properties from the pushed commit into each of the
product's applications in the environment, and commit the result to Git: to the environment's branch
(`commit` action), or to a branch of the promotion's own with a pull request into the environment's branch
(`pr` action; the post-action phase then waits for the merge, promotions.checks.pull_request_merged)."""

from __future__ import annotations

import difflib
import fnmatch
import posixpath
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from promotions.config import WHOLE_FILE, Application, Configuration, PolicyAction
from promotions.config.repository import ConfigRepository
from promotions.edits import PropertyChange, promote_properties, property_changes
from promotions.git import Author, CommitSigner, GitRemote, Snapshot, with_trailers
from promotions.gitproviders.apis import PullRequestApis
from promotions.gitproviders.rest import RestProvider
from promotions.release.concurrency import holding_environment
from promotions.release.leases import ReleaseLeases
from promotions.release.model import PullRequestRecord, Release
from promotions.release.start import RemoteFactory
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore
from promotions.release.supersession import (
    ENVIRONMENT_TRAILER,
    PRODUCT_TRAILER,
    RELEASE_TRAILER,
    ROLLBACK_TRAILER,
    SOURCE_TRAILER,
    PromotionRecord,
    SourceOrder,
    Superseded,
    last_promotion,
    source_trailer,
)

logger = Logger(child=True)

# Names the application plays in its product, the same in every environment (e.g. "api", "worker").
COMPONENT_ANNOTATION = "promotions.dev/component"


class PromotionError(RuntimeError):
    """The promotion cannot be done as configured; retrying will not help."""


@dataclass(frozen=True)
class PromotionResult:
    commit: str | None
    changed_files: tuple[str, ...]
    # The `pr` action's pull requests, one per repository it changed; `commit` stays None until they merge.
    pull_requests: tuple[PullRequestRecord, ...] = ()
    # Pushes made again because another writer had moved the branch first, over every repository written.
    push_retries: int = 0
    # The newer release whose promotion of the environment made this one write nothing (status Superseded).
    superseded_by: str | None = None


# One per person who approved the promotion (promotions.release.approvals).
APPROVED_BY_TRAILER = "Promotion-Approved-By"


def promotion_branch(release_id: str, environment: str) -> str:
    """The branch a `pr` promotion pushes its edits to: the same on every retry, so one pull request."""
    return f"promotions/{release_id}/{environment}"


class Promoter:
    def __init__(
        self,
        store: ReleaseStore,
        configs: ConfigRepository,
        remotes: RemoteFactory,
        author: Author,
        pull_requests: PullRequestApis,
        signer: CommitSigner | None = None,
        leases: ReleaseLeases | None = None,
        approved_by: Callable[[str, str], Sequence[str]] = lambda release_id, environment: (),
    ) -> None:
        self._store = store
        self._configs = configs
        self._remotes = remotes
        self._author = author
        self._pull_requests = pull_requests
        self._signer = signer
        # Where the environment's lock is held while the promotion writes; None writes without one.
        self._leases = leases
        # Who approved the release's promotion into an environment (promotions.release.approvals): its trailers.
        self._approved_by = approved_by

    def promote(self, release_id: str, environment: str, *, forward_only: bool = True) -> PromotionResult:
        """Promote the release into `environment`. With `forward_only`, a branch whose last promotion of the
        product into the environment came from a newer source than the release's is left alone, checked again
        on every attempt to push; the environment is then recorded Superseded. A rollback (a release with
        `rollback_of`) goes past that check, as does a caller passing False. A promotion that finds its edits on
        the branch already takes the commit of this release's that landed there (an earlier attempt whose
        answer was lost). No two releases of the product write to the environment at once."""
        release = self._store.get(release_id)
        forward_only = forward_only and release.rollback_of is None
        if self._leases is None:
            return self._promote(release, environment, forward_only=forward_only)
        with holding_environment(self._leases, self._store, release, environment):
            return self._promote(release, environment, forward_only=forward_only)

    def _promote(self, release: Release, environment: str, *, forward_only: bool) -> PromotionResult:
        release_id = release.id
        configuration = self._configs.at(release.config_revision)
        action = release.action or configuration.policy_for(release.product, environment, release.flow).action
        if action == "none":
            logger.info(
                "policy action is none: nothing to write",
                extra={"release": release_id, "environment": environment},
            )
            return PromotionResult(commit=None, changed_files=())
        plans = plan_promotion(
            configuration, release.product, release.trigger_environment, environment, self._remotes
        )
        pr_branch = None
        if action is PolicyAction.PR:
            _one_branch_per_repository(plans, environment)
            pr_branch = promotion_branch(release_id, environment)
        files = configuration.template_for(release.product).promotion
        sources = source_snapshots(plans, self._remotes, lambda app: release.source.commit)
        order = SourceOrder(self._remotes, release.source) if forward_only else None
        commits, pull_requests, message = [], [], None
        changed: list[str] = []
        push_retries = 0
        superseded: list[Superseded] = []
        approvers = self._approved_by(release_id, environment)
        for plan in plans:
            targets = [target for _, target in plan.pairs]
            branch_message = _commit_message(release, environment, targets, approvers)
            # Chosen before anything is pushed: a provider that cannot be used leaves no stray branch behind.
            provider = self._provider(configuration, plan.repo_url) if pr_branch else None
            remote = self._remotes(plan.repo_url)
            edits = _EditsInOrder(plan, files, sources, remote, release, environment, order)
            try:
                outcome = remote.commit(
                    plan.branch,
                    edits,
                    branch_message,
                    self._author,
                    push_to=pr_branch,
                    prefetch=plan.target_files(files, sources),
                    signer=self._signer,
                )
            except Superseded as newer:
                logger.info(
                    "a newer release promoted the environment first: nothing written",
                    extra={"release": release_id, "environment": environment, "reason": str(newer)},
                )
                superseded.append(newer)
                continue
            push_retries += outcome.attempts - 1
            landed = edits.landed_earlier
            if not outcome.commit_sha and not pr_branch and landed is not None:
                # An earlier attempt's push landed though its answer was lost.
                commits.append(landed.commit)
                message = landed.message
                continue
            if not outcome.commit_sha:
                continue
            changed.extend(outcome.changed_paths)
            message = branch_message
            if provider and pr_branch:
                pull_request = _open_pull_request(provider, plan, pr_branch, release, environment, targets)
                pull_requests.append(pull_request)
            else:
                commits.append(outcome.commit_sha)
        if superseded:
            return self._record_superseded(
                release_id, environment, superseded[0], commits, message, tuple(changed), push_retries
            )
        if pull_requests:
            self._store.record_pull_requests(release_id, environment, pull_requests, message)
            logger.info(
                "environment waits for its pull requests to be merged",
                extra={
                    "release": release_id,
                    "environment": environment,
                    "pullRequests": [pull_request.url for pull_request in pull_requests],
                },
            )
            return PromotionResult(
                commit=None,
                changed_files=tuple(changed),
                pull_requests=tuple(pull_requests),
                push_retries=push_retries,
            )
        if not commits:
            # Nothing left to write: the environment holds this version already, perhaps from an earlier
            # attempt of this release whose commit is on record and stays there.
            logger.info(
                "environment already at this version",
                extra={"release": release_id, "environment": environment},
            )
            return PromotionResult(
                commit=release.environment(environment).commit, changed_files=(), push_retries=push_retries
            )
        commit = commits[-1]
        self._store.record_commit(release_id, environment, commit, message)
        logger.info(
            "environment promoted",
            extra={"release": release_id, "environment": environment, "commit": commit, "files": changed},
        )
        return PromotionResult(commit=commit, changed_files=tuple(changed), push_retries=push_retries)

    def _record_superseded(
        self,
        release_id: str,
        environment: str,
        newer: Superseded,
        commits: list[str],
        message: str | None,
        changed: tuple[str, ...],
        push_retries: int,
    ) -> PromotionResult:
        """The environment is left to the newer release; branches of it this release did write keep their
        commit on record."""
        if commits:
            self._store.record_commit(release_id, environment, commits[-1], message)
        self._store.set_environment_status(
            release_id,
            environment,
            EnvironmentStatus.SUPERSEDED,
            reason=str(newer),
            only_from=(EnvironmentStatus.PENDING, EnvironmentStatus.RUNNING),
        )
        return PromotionResult(
            commit=commits[-1] if commits else None,
            changed_files=changed,
            push_retries=push_retries,
            superseded_by=newer.record.release_id,
        )

    def _provider(self, configuration: Configuration, repo_url: str) -> RestProvider:
        choice = configuration.provider_choice_for(repo_url)
        return self._pull_requests.provider(repo_url, choice)


def preview_promotion(
    configuration: Configuration,
    product: str,
    trigger_environment: str,
    environment: str,
    remotes: RemoteFactory,
) -> list[FileChange]:
    """The file edits a promotion into `environment` would make now, from the trigger environment's branch
    tips: a dry run that writes nothing."""
    changes = []
    for plan, promotions in previewed_files(
        configuration, product, trigger_environment, environment, remotes
    ):
        edited = [(promotion.path, promotion.current, promotion.updated()) for promotion in promotions]
        changes += [
            FileChange(plan.repo_url, plan.branch, path, before=current, after=updated)
            for path, current, updated in sorted(edited, key=lambda edit: edit[0])
            if updated != current
        ]
    return changes


def previewed_files(
    configuration: Configuration,
    product: str,
    source_environment: str,
    environment: str,
    remotes: RemoteFactory,
) -> list[tuple[BranchPlan, list[FilePromotion]]]:
    """Per branch a promotion into `environment` writes, each target file the template promotes into it, read
    at the branch tips of both environments now."""
    plans = plan_promotion(configuration, product, source_environment, environment, remotes)
    files = configuration.template_for(product).promotion
    sources = source_snapshots(plans, remotes, lambda app: branch_of(app, remotes))
    previewed = []
    for plan in plans:
        tip = remotes(plan.repo_url).snapshot(plan.branch, paths=[target.path for _, target in plan.pairs])
        previewed.append((plan, plan.file_promotions(files, sources, tip)))
    return previewed


def source_snapshots(
    plans: list[BranchPlan], remotes: RemoteFactory, revision_of: Callable[[Application], str]
) -> dict[str, Snapshot]:
    """One fetch per source repository, of the paths every plan reads there."""
    paths: dict[tuple[str, str], set[str]] = defaultdict(set)
    for plan in plans:
        for source, _ in plan.pairs:
            paths[(source.repo_url, revision_of(source))].add(source.path)
    return {
        repo_url: remotes(repo_url).snapshot(revision, paths=sorted(app_paths))
        for (repo_url, revision), app_paths in paths.items()
    }


@dataclass(frozen=True)
class FileChange:
    repo_url: str
    branch: str
    path: str
    before: bytes | None
    after: bytes

    def diff(self) -> str:
        """The change as a unified diff, as `git diff` shows it."""
        before = (self.before or b"").decode().splitlines(keepends=True)
        after = self.after.decode().splitlines(keepends=True)
        return "".join(difflib.unified_diff(before, after, f"a/{self.path}", f"b/{self.path}"))


@dataclass(frozen=True)
class BranchPlan:
    """The applications one commit updates: those whose target lives on the same repository branch."""

    repo_url: str
    branch: str
    pairs: tuple[tuple[Application, Application], ...]

    def target_files(self, files, sources: Mapping[str, Snapshot]) -> list[str]:
        """Every target file the template may change: fetched in one round trip before the edits read them."""
        return [
            posixpath.join(target_app.path, relative)
            for source_app, target_app in self.pairs
            for relative, _ in _template_files(files, sources[source_app.repo_url], source_app.path)
        ]

    def edits(self, files, sources: Mapping[str, Snapshot], tip: Snapshot) -> dict[str, bytes]:
        """New contents of every target file the template changes, read against the branch tip."""
        result: dict[str, bytes] = {}
        for promotion in self.file_promotions(files, sources, tip):
            updated = promotion.updated()
            if updated != promotion.current:
                result[promotion.path] = updated
        return result

    def file_promotions(self, files, sources: Mapping[str, Snapshot], tip: Snapshot) -> list[FilePromotion]:
        """Every target file the template promotes into, with its source file and what the branch tip holds."""
        promotions = []
        for source_app, target_app in self.pairs:
            source = sources[source_app.repo_url]
            for relative, json_paths in _template_files(files, source, source_app.path):
                target_path = posixpath.join(target_app.path, relative)
                promoted = source.read(posixpath.join(source_app.path, relative))
                # _template_files names only files the source application has.
                assert promoted is not None
                promotions.append(
                    FilePromotion(target_path, tuple(json_paths), promoted, tip.read(target_path))
                )
        return promotions


@dataclass(frozen=True)
class FilePromotion:
    """One target file and the source file whose properties (`json_paths`) it is to take."""

    path: str
    json_paths: tuple[str, ...]
    promoted: bytes
    current: bytes | None

    def updated(self) -> bytes:
        return promote_properties(self.promoted, self.current, self.json_paths, file=self.path)

    def property_changes(self) -> list[PropertyChange]:
        """What `updated` changes, property by property."""
        return property_changes(self.promoted, self.current, self.json_paths, file=self.path)


class _EditsInOrder:
    """A plan's edits on a branch tip, after a look at the environment's last promotion on the branch: on every
    attempt, so that a push that lost a race to a newer release checks against the tip that release pushed.
    Raises Superseded when that promotion came from a newer source (with a SourceOrder to tell)."""

    def __init__(
        self,
        plan: BranchPlan,
        files,
        sources: Mapping[str, Snapshot],
        remote: GitRemote,
        release: Release,
        environment: str,
        order: SourceOrder | None,
    ) -> None:
        self._plan = plan
        self._files = files
        self._sources = sources
        self._remote = remote
        self._release = release
        self._environment = environment
        self._order = order
        self._last: PromotionRecord | None = None

    @property
    def landed_earlier(self) -> PromotionRecord | None:
        """This release's own promotion, when it is the last one on the branch."""
        return self._last if self._last is not None and self._last.release_id == self._release.id else None

    def __call__(self, tip: Snapshot) -> dict[str, bytes]:
        self._last = last_promotion(self._remote, self._plan.branch, self._release.product, self._environment)
        if self._order is not None and self._last is not None and self._order.is_newer(self._last):
            raise Superseded(self._last, f"{self._remote.url} {self._plan.branch}", self._release.source)
        return self._plan.edits(self._files, self._sources, tip)


def plan_promotion(
    configuration: Configuration,
    product: str,
    trigger_environment: str,
    environment: str,
    remotes: RemoteFactory,
) -> list[BranchPlan]:
    """One commit per repository branch, however many of the product's applications live there."""
    groups: dict[tuple[str, str], list[tuple[Application, Application]]] = defaultdict(list)
    for source, target in _pair_applications(configuration, product, trigger_environment, environment):
        groups[(target.repo_url, branch_of(target, remotes))].append((source, target))
    return [BranchPlan(repo_url, branch, tuple(pairs)) for (repo_url, branch), pairs in groups.items()]


def branch_of(app: Application, remotes: RemoteFactory) -> str:
    """The branch an Application deploys from; HEAD (or nothing) is the repository's default branch."""
    if app.target_revision in ("", "HEAD"):
        return remotes(app.repo_url).default_branch()
    return app.target_revision


def _pair_applications(
    configuration: Configuration, product: str, trigger_environment: str, environment: str
) -> list[tuple[Application, Application]]:
    """Match each of the product's applications in the target environment with its source application."""
    sources = configuration.applications_of(product, trigger_environment)
    targets = configuration.applications_of(product, environment)
    if not targets:
        raise PromotionError(f"product {product} has no application in environment {environment}")
    if len(sources) == 1 and len(targets) == 1:
        return [(sources[0], targets[0])]
    by_component = {_component(app, trigger_environment): app for app in sources}
    pairs = []
    for target in targets:
        source = by_component.get(_component(target, environment))
        if source is None:
            raise PromotionError(
                f"cannot tell which {trigger_environment} application feeds {target.name} in {environment}: "
                f"give both the same {COMPONENT_ANNOTATION} annotation"
            )
        pairs.append((source, target))
    return pairs


def _component(app: Application, environment: str) -> str:
    """The application's role in its product: its annotation, else its name without the environment's name."""
    explicit = app.annotations.get(COMPONENT_ANNOTATION)
    if explicit:
        return explicit
    parts = [part for part in app.name.split("-") if part != environment]
    return "-".join(parts)


def _template_files(files, source: Snapshot, app_path: str) -> list[tuple[str, list[str]]]:
    """The template's files that exist in the source application: names may be glob patterns."""
    present = [
        posixpath.relpath(path, app_path) if app_path else path for path in source.list_files(app_path)
    ]
    if not files:
        # Codefresh: a template that names no files promotes every file of the application.
        return [(path, [WHOLE_FILE]) for path in present]
    selected: list[tuple[str, list[str]]] = []
    for pattern, spec in files.items():
        json_paths = list(spec.json_paths)
        matches = [path for path in present if fnmatch.fnmatchcase(path, pattern)]
        if not matches:
            logger.info("template file not in the source application; skipped", extra={"file": pattern})
        selected.extend((path, json_paths) for path in matches)
    return selected


def _one_branch_per_repository(plans: list[BranchPlan], environment: str) -> None:
    """A `pr` promotion pushes one branch per repository, so it can target one branch of each."""
    targets: dict[str, list[str]] = defaultdict(list)
    for plan in plans:
        targets[plan.repo_url].append(plan.branch)
    for repo_url, branches in targets.items():
        if len(branches) > 1:
            raise PromotionError(
                f"the pr action opens one pull request per repository, but {environment}'s applications "
                f"track branches {' and '.join(sorted(branches))} of {repo_url}: use one branch, or the "
                "commit action"
            )


def _open_pull_request(
    provider: RestProvider,
    plan: BranchPlan,
    branch: str,
    release: Release,
    environment: str,
    targets: list[Application],
) -> PullRequestRecord:
    """Open the pull request of `branch` into the plan's branch, or find the one a previous attempt opened."""
    pull = provider.find_open(plan.repo_url, branch, plan.branch) or provider.open(
        plan.repo_url,
        branch,
        plan.branch,
        _subject(release, environment),
        _pull_request_body(release, environment, targets),
    )
    return PullRequestRecord(
        provider=provider.name,
        repo_url=plan.repo_url,
        number=pull.number,
        url=pull.url,
        branch=branch,
        target_branch=plan.branch,
    )


def _subject(release: Release, environment: str) -> str:
    return f"Promote {release.product} {release.version} to {environment}"


def _pull_request_body(release: Release, environment: str, targets: list[Application]) -> str:
    applications = "\n".join(f"- {app.name}: `{app.path or '.'}`" for app in targets)
    return (
        f"Promotes **{release.product}** {release.version} to **{environment}**: release `{release.id}` "
        f"of flow `{release.flow}`, from {release.source.repo_url} at {release.source.commit}.\n\n"
        f"{applications}\n\n"
        f"Merging this pull request completes the promotion of {environment}; closing it without merging "
        f"fails {environment}."
    )


def _commit_message(
    release: Release, environment: str, targets: list[Application], approvers: Sequence[str] = ()
) -> str:
    subject = _subject(release, environment)
    body = "\n".join(f"- {app.name}: {app.path}" for app in targets)
    return with_trailers(
        f"{subject}\n\n{body}",
        [
            *{
                RELEASE_TRAILER: release.id,
                PRODUCT_TRAILER: release.product,
                ENVIRONMENT_TRAILER: environment,
                SOURCE_TRAILER: source_trailer(release.source),
                **({ROLLBACK_TRAILER: release.rollback_of} if release.rollback_of else {}),
            }.items(),
            *((APPROVED_BY_TRAILER, approver) for approver in approvers),
        ],
    )
