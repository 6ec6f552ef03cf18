"""An Environment's `verification` block: validated where it is written, and turned into the argoCdHealth
check the engine appends to the environment's post-action phase."""

from datetime import timedelta
from pathlib import Path
from textwrap import dedent, indent

import pytest
from promotions.checks.argocd_health import ArgoCdApplication, ArgoCdHealthCheck
from promotions.release.builtin_checks import verification_check
from promotions.config import ConfigError, load_configuration

CONFIG = Path(__file__).parent / "config"
TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:argocd-token"
ENVIRONMENTS = """\
apiVersion: promotions.dev/v1alpha1
kind: Environment
metadata:
  name: staging
spec:
  kind: non-prod
  clusters:
    - name: staging-eu
  verification: none
---
apiVersion: promotions.dev/v1alpha1
kind: Environment
metadata:
  name: prod
spec:
  kind: prod
  clusters:
    - name: prod-eu
  verification:
"""
# guestbook-prod lives in Argo CD's team-a namespace; guestbook-staging in the control plane's.
APPLICATIONS = (CONFIG / "applications.yaml").read_text() + dedent(
    """\
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata:
      name: guestbook-api-prod
      namespace: team-a
      annotations:
        codefresh.io/product: guestbook
    spec:
      destination: {name: prod-eu, namespace: guestbook-api}
      source: {repoURL: "https://github.com/example/guestbook-deploy.git", path: envs/prod/api}
    """
)


def files(verification: str | None) -> dict[str, bytes]:
    """The checks' sample configuration with prod's verification block (None: the sample's own environments,
    which say nothing of verification)."""
    loaded = {path.name: path.read_bytes() for path in CONFIG.glob("*.yaml")}
    if verification is not None:
        loaded["environments.yaml"] = (ENVIRONMENTS + indent(dedent(verification), "    ")).encode()
    loaded["applications.yaml"] = APPLICATIONS.encode()
    return loaded


def problems(verification: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_configuration(files(verification))
    return [str(problem) for problem in raised.value.problems]


def test_an_argocd_block_becomes_the_environments_verification_check():
    configuration = load_configuration(
        files(
            f"""\
                argocd:
                  server: https://argocd.example.com
                  token: {TOKEN_ARN}
                  timeout: 20
                  pollSeconds: 30
            """
        )
    )

    check = verification_check(
        configuration.environments["prod"], configuration.applications_of("guestbook", "prod")
    )

    assert check is not None
    assert (check.name, check.kind, check.timeout) == ("argocd:prod", "argoCdHealth", timedelta(minutes=20))
    assert isinstance(check.config, ArgoCdHealthCheck)
    assert str(check.config.server) == "https://argocd.example.com/"
    assert (check.config.token.secret, check.config.token.key) == (TOKEN_ARN, None)
    assert check.config.poll_seconds == 30
    assert sorted(check.config.applications, key=lambda app: app.name) == [
        ArgoCdApplication(name="guestbook-api-prod", namespace="team-a"),
        ArgoCdApplication(name="guestbook-prod"),
    ]


def test_a_json_secret_key_and_the_defaults():
    configuration = load_configuration(
        files(
            """\
                argocd:
                  server: https://argocd.example.com/argo-cd
                  token: {secret: platform/argocd, key: apiToken}
            """
        )
    )

    check = verification_check(
        configuration.environments["prod"], configuration.applications_of("guestbook", "prod")
    )

    assert check is not None
    assert check.timeout == timedelta(minutes=15)
    assert check.config.poll_seconds == 15
    assert str(check.config.server) == "https://argocd.example.com/argo-cd"
    assert (check.config.token.secret, check.config.token.key) == ("platform/argocd", "apiToken")


@pytest.mark.parametrize("verification", [None, "none"], ids=["absent", "none"])
def test_no_verification_builds_no_check(verification):
    configuration = load_configuration(files(verification))

    for name, environment in configuration.environments.items():
        assert environment.verification is None
        assert verification_check(environment, configuration.applications_of("guestbook", name)) is None


def test_an_environment_with_verification_needs_applications_to_verify():
    configuration = load_configuration(
        files(f"argocd: {{server: https://argocd.example.com, token: {TOKEN_ARN}}}")
    )

    with pytest.raises(ValueError, match="environment prod: no Argo CD applications to verify"):
        verification_check(configuration.environments["prod"], [])


@pytest.mark.parametrize(
    ("verification", "expected"),
    [
        pytest.param(
            f"""\
                argocd:
                  server: https://argocd.example.com
                  token: {TOKEN_ARN}
                  insecure: true
            """,
            [
                "environments.yaml:23: Environment prod: spec.verification.argocd.insecure is not a known field "
                "(known: pollSeconds, server, timeout, token)",
            ],
            id="unknown-field",
        ),
        pytest.param(
            """\
                argocd:
                  server: argocd.example.com
                  timeout: 0
                  pollSeconds: soon
            """,
            [
                "environments.yaml:20: Environment prod: spec.verification.argocd.token is required",
                "environments.yaml:21: Environment prod: spec.verification.argocd.server: Input should be a "
                "valid URL, relative URL without a base",
                "environments.yaml:22: Environment prod: spec.verification.argocd.timeout: Input should be "
                "greater than 0",
                "environments.yaml:23: Environment prod: spec.verification.argocd.pollSeconds: Input should be "
                "a valid integer, unable to parse string as an integer",
            ],
            id="bad-values",
        ),
        pytest.param(
            f"""\
                argoCD:
                  server: https://argocd.example.com
                  token: {TOKEN_ARN}
            """,
            [
                "environments.yaml:20: Environment prod: spec.verification.argoCD is not a known field "
                "(did you mean argocd?)",
            ],
            id="misspelt-verifier",
        ),
        pytest.param(
            "always",
            [
                "environments.yaml:19: Environment prod: spec.verification: give `none` or an argocd block, "
                "not 'always'",
            ],
            id="neither-none-nor-a-block",
        ),
    ],
)
def test_a_bad_verification_block_is_reported_where_it_is_written(verification, expected):
    assert problems(verification) == expected


def test_a_flow_hook_cannot_run_an_argo_cd_health_check():
    checks = (CONFIG / "checks.yaml").read_text() + dedent(
        f"""\
        ---
        apiVersion: promotions.dev/v1alpha1
        kind: PromotionCheck
        metadata:
          name: deployed
        spec:
          argoCdHealth:
            server: https://argocd.example.com
            token: {TOKEN_ARN}
            applications: [{{name: guestbook-prod}}]
          timeout: 15
        """
    )
    flow = (CONFIG / "flow.yaml").read_text().replace("onStart: notify", "onStart: deployed")

    with pytest.raises(ConfigError) as raised:
        load_configuration({**files(None), "checks.yaml": checks.encode(), "flow.yaml": flow.encode()})

    assert [str(problem) for problem in raised.value.problems] == [
        "flow.yaml:11: PromotionFlow standard step prod: hook onStart runs PromotionCheck deployed, a "
        "argoCdHealth check; hooks run only codebuild, http, lambda, stateMachine checks"
    ]
