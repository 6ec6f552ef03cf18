"""Drift: per environment of a product's flows, the promoted properties that differ from the environment it is
promoted from (its step's first dependency), which is what the next promotion from there would change. Read at
both environments' branch tips now, with the planning `promotions evaluate`'s dry run uses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from promotions.config import Configuration
from promotions.release.manual import ProductNotFound
from promotions.release.promotion import previewed_files
from promotions.release.start import RemoteFactory


class PropertyDrift(BaseModel):
    model_config = ConfigDict(frozen=True)

    repo_url: str
    branch: str
    file: str
    # The normalized JSONPath of the value, or `*` for a file the template promotes whole (values: its text).
    property: str
    # None where the environment has no value there yet.
    current: Any
    next: Any


class EnvironmentDrift(BaseModel):
    model_config = ConfigDict(frozen=True)

    environment: str
    promoted_from: str
    # Empty: in sync with `promoted_from`.
    changes: tuple[PropertyDrift, ...]


class ProductDrift(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: str
    environments: tuple[EnvironmentDrift, ...]


def product_drift(configuration: Configuration, product: str, remotes: RemoteFactory) -> ProductDrift:
    """Each environment the product's flows promote into (each once, from the first flow that has it, as a
    promotion of one environment chooses its step), in flow order. A valid configuration gives the product
    applications in every environment of its flows."""
    if product not in configuration.products:
        raise ProductNotFound(f"there is no Product {product} in the configuration")
    environments: list[EnvironmentDrift] = []
    for ref in configuration.products[product].promotion_flows:
        for step in configuration.flow_order(ref.name):
            name = step.environment
            if any(seen.environment == name for seen in environments):
                continue
            environments.append(_drift(configuration, product, step.depends_on[0], name, remotes))
    return ProductDrift(product=product, environments=tuple(environments))


def _drift(
    configuration: Configuration, product: str, source: str, environment: str, remotes: RemoteFactory
) -> EnvironmentDrift:
    changes = tuple(
        PropertyDrift(
            repo_url=plan.repo_url,
            branch=plan.branch,
            file=promotion.path,
            property=change.property,
            current=change.current,
            next=change.next,
        )
        for plan, promotions in previewed_files(configuration, product, source, environment, remotes)
        for promotion in promotions
        for change in promotion.property_changes()
    )
    return EnvironmentDrift(environment=environment, promoted_from=source, changes=changes)
