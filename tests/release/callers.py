"""The callers of the release tests, and the permissions the tests' configuration gives them
(tests/release/conftest.py writes them beside the demo's)."""

from __future__ import annotations

import json
from pathlib import Path

from promotions.config import Configuration, PromotionPermissions, load_configuration_dir
from promotions.release.permissions import Identity

DEMO = load_configuration_dir(Path(__file__).resolve().parents[2] / "examples" / "demo" / "config")

# Everything, everywhere.
OPERATORS = "release-operators"
# Trigger, promote and retry, in non-prod environments alone.
NON_PROD_ONLY = "non-prod-testers"

PERMISSIONS = {
    "apiVersion": "promotions.dev/v1alpha1",
    "kind": "PromotionPermissions",
    "metadata": {"name": "release-tests"},
    "spec": {
        "rules": [
            {
                "subjects": [{"jwtGroup": OPERATORS}],
                "verbs": ["trigger", "promote", "rollback", "approve", "retry", "terminate"],
            },
            {
                "subjects": [{"jwtGroup": NON_PROD_ONLY}],
                "verbs": ["trigger", "promote", "retry"],
                "environments": {"kinds": ["non-prod"]},
            },
        ]
    },
}
PERMISSIONS_YAML = json.dumps(PERMISSIONS)


def operator(name: str) -> Identity:
    """Someone the tests' permissions let do everything."""
    return Identity(actor=name, jwt_subject=name, jwt_groups=frozenset({OPERATORS}))


def non_prod_tester(name: str) -> Identity:
    return Identity(actor=name, jwt_subject=name, jwt_groups=frozenset({NON_PROD_ONLY}))


def configured(*rules: dict) -> Configuration:
    """The demo's configuration with one PromotionPermissions document of `rules` instead of its own (built
    directly: the loader's own tests are in tests/config)."""
    document = {"metadata": {"name": "under-test"}, "spec": {"rules": list(rules)}}
    return Configuration(
        products=DEMO.products,
        templates=DEMO.templates,
        policies=DEMO.policies,
        flows=DEMO.flows,
        environments=DEMO.environments,
        applications=DEMO.applications,
        application_environments={name: DEMO.environment_of(name) for name in DEMO.applications},
        checks=DEMO.checks,
        permissions={"under-test": PromotionPermissions.model_validate(document)} if rules else {},
    )


class LatestConfiguration:
    """A configuration repository whose latest configuration is `configuration`, as the permissions read it."""

    def __init__(self, configuration: Configuration) -> None:
        self._configuration = configuration

    def latest(self) -> tuple[str, Configuration]:
        return "latest", self._configuration
