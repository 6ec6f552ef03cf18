"""Promoting one environment: copy the template's properties from the pushed commit into each of the
product's applications in the environment, and commit the result to Git."""

from __future__ import annotations

import fnmatch
import posixpath
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from promotions.config import WHOLE_FILE, Application, Configuration
from promotions.config_repository import ConfigRepository
from promotions.edits import promote_properties
from promotions.git import Author, Snapshot, with_trailers
from promotions.release.model import Release
from promotions.release.start import RemoteFactory
from promotions.release.store import ReleaseStore

logger = Logger(child=True)

# Names the application plays in its product, the same in every environment (e.g. "api", "worker").
COMPONENT_ANNOTATION = "promotions.dev/component"


class PromotionError(RuntimeError):
    """The promotion cannot be done as configured; retrying will not help."""


@dataclass(frozen=True)
class PromotionResult:
    commit: str | None
    changed_files: tuple[str, ...]


class Promoter:
    def __init__(self, store: ReleaseStore, configs: ConfigRepository, remotes: RemoteFactory, author: Author) -> None:
        self._store = store
        self._configs = configs
        self._remotes = remotes
        self._author = author

    def promote(self, release_id: str, environment: str) -> PromotionResult:
        release = self._store.get(release_id)
        configuration = self._configs.at(release.config_revision)
        action = configuration.policy_for(release.product, environment, release.flow).action
        if action == "none":
            logger.info("policy action is none: nothing to write", extra={"release": release_id, "environment": environment})
            return PromotionResult(commit=None, changed_files=())
        if action != "commit":
            raise PromotionError(f"policy action {action!r} for {environment} is not supported yet; use commit or none")
        pairs = _pair_applications(configuration, release, environment)
        source_snapshots: dict[str, Snapshot] = {}
        commits, changed, message = [], [], None
        for (repo_url, branch), group in _by_branch(pairs).items():
            for source_app, _ in group:
                if source_app.repo_url not in source_snapshots:
                    source_snapshots[source_app.repo_url] = self._remotes(source_app.repo_url).snapshot(
                        release.source.commit, paths=[app.path for app, _ in pairs if app.repo_url == source_app.repo_url]
                    )
            files = configuration.template_for(release.product).promotion
            changed_in_branch: list[str] = []

            def edits(tip: Snapshot, group=group, files=files, changed_in_branch=changed_in_branch) -> dict[str, bytes]:
                changed_in_branch.clear()
                result: dict[str, bytes] = {}
                for source_app, target_app in group:
                    source = source_snapshots[source_app.repo_url]
                    for relative, json_paths in _template_files(files, source, source_app.path):
                        source_bytes = source.read(posixpath.join(source_app.path, relative))
                        target_path = posixpath.join(target_app.path, relative)
                        current = tip.read(target_path)
                        updated = promote_properties(source_bytes, current, json_paths, file=target_path)
                        if updated != current:
                            result[target_path] = updated
                changed_in_branch.extend(sorted(result))
                return result

            branch_message = _commit_message(release, environment, [t for _, t in group])
            outcome = self._remotes(repo_url).commit(branch, edits, branch_message, self._author)
            if outcome.commit_sha:
                commits.append(outcome.commit_sha)
                changed.extend(changed_in_branch)
                message = branch_message
        commit = commits[-1] if commits else None
        self._store.record_commit(release_id, environment, commit, message)
        logger.info(
            "environment promoted" if commit else "environment already at this version",
            extra={"release": release_id, "environment": environment, "commit": commit, "files": changed},
        )
        return PromotionResult(commit=commit, changed_files=tuple(changed))


def _pair_applications(
    configuration: Configuration, release: Release, environment: str
) -> list[tuple[Application, Application]]:
    """Match each of the product's applications in the target environment with its source application."""
    sources = configuration.applications_of(release.product, release.trigger_environment)
    targets = configuration.applications_of(release.product, environment)
    if not targets:
        raise PromotionError(f"product {release.product} has no application in environment {environment}")
    if len(sources) == 1 and len(targets) == 1:
        return [(sources[0], targets[0])]
    by_component = {_component(app, release.trigger_environment): app for app in sources}
    pairs = []
    for target in targets:
        source = by_component.get(_component(target, environment))
        if source is None:
            raise PromotionError(
                f"cannot tell which {release.trigger_environment} application feeds {target.name} in {environment}: "
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


def _by_branch(
    pairs: list[tuple[Application, Application]],
) -> Mapping[tuple[str, str], list[tuple[Application, Application]]]:
    """One commit per repository branch, however many of the product's applications live there."""
    groups: dict[tuple[str, str], list[tuple[Application, Application]]] = defaultdict(list)
    for source, target in pairs:
        groups[(target.repo_url, target.target_revision)].append((source, target))
    return groups


def _template_files(files, source: Snapshot, app_path: str) -> list[tuple[str, list[str]]]:
    """The template's files that exist in the source application: names may be glob patterns."""
    present = [posixpath.relpath(path, app_path) if app_path else path for path in source.list_files(app_path)]
    if not files:
        # Codefresh: a template that names no files promotes every file of the application.
        return [(path, [WHOLE_FILE]) for path in present]
    selected = []
    for pattern, spec in files.items():
        json_paths = list(spec.json_paths)
        matches = [path for path in present if fnmatch.fnmatchcase(path, pattern)]
        if not matches:
            logger.info("template file not in the source application; skipped", extra={"file": pattern})
        selected.extend((path, json_paths) for path in matches)
    return selected


def _commit_message(release: Release, environment: str, targets: list[Application]) -> str:
    subject = f"Promote {release.product} {release.version} to {environment}"
    body = "\n".join(f"- {app.name}: {app.path}" for app in targets)
    return with_trailers(
        f"{subject}\n\n{body}",
        {
            "Promotion-Release": release.id,
            "Promotion-Product": release.product,
            "Promotion-Environment": environment,
            "Promotion-Source": f"{release.source.repo_url}@{release.source.commit}",
        },
    )
