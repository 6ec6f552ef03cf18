"""What runs where: per environment of a product, the version its releases put there last."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from promotions.config import Configuration
from promotions.release.manual import PROMOTE, ProductNotFound
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore

# How many of the product's latest releases are read to find each environment's current version: an
# environment no release changed among them shows no version.
RELEASES_READ = 100
_PAGE = 25
# The audit actions of releases that promote one environment (promotions.release.rollback records "rollback").
_ONE_ENVIRONMENT = {PROMOTE, "rollback"}


class EnvironmentVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    environment: str
    # All None when none of the product's latest releases changed the environment.
    version: str | None = None
    commit: str | None = None
    since: datetime | None = None
    release: str | None = None


class ProductState(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: str
    environments: tuple[EnvironmentVersion, ...]


def product_state(configuration: Configuration, store: ReleaseStore, product: str) -> ProductState:
    """Each environment holding the product's applications, in the order of the product's flows (the rest by
    name): the version, commit, time and release of the newest release that completed it."""
    if product not in configuration.products:
        raise ProductNotFound(f"there is no Product {product} in the configuration")
    wanted = _environments_in_flow_order(configuration, product)
    found: dict[str, EnvironmentVersion] = {}
    token, read = None, 0
    while read < RELEASES_READ and len(found) < len(wanted):
        page = store.list_releases(product=product, limit=_PAGE, next_token=token)
        for summary in page.releases:
            release = store.get(summary.id)
            # A promotion or rollback of one environment names its source environment's commit, or an earlier
            # release's source, which it did not put there and which may be there no longer.
            one_environment = any(entry.action in _ONE_ENVIRONMENT for entry in release.audit)
            runs = release.promoted_environments if one_environment else release.environments
            for run in runs:
                if (
                    run.name in wanted
                    and run.name not in found
                    and run.status is EnvironmentStatus.SUCCESSFUL
                ):
                    found[run.name] = EnvironmentVersion(
                        environment=run.name,
                        version=release.version,
                        commit=run.commit,
                        since=run.committed_at or run.finished_at or release.created_at,
                        release=release.id,
                    )
        read += len(page.releases)
        token = page.next_token
        if token is None:
            break
    return ProductState(
        product=product,
        environments=tuple(found.get(name, EnvironmentVersion(environment=name)) for name in wanted),
    )


def _environments_in_flow_order(configuration: Configuration, product: str) -> list[str]:
    ordered: list[str] = []
    for ref in configuration.products[product].promotion_flows:
        flow = configuration.flows[ref.name]
        for name in (
            flow.trigger_environment,
            *(step.environment for step in configuration.flow_order(flow.name)),
        ):
            if name not in ordered:
                ordered.append(name)
    ordered += sorted(set(configuration.environments) - set(ordered))
    return [name for name in ordered if configuration.applications_of(product, name)]
