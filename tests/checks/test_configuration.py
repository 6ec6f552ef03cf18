"""The PromotionCheck kind in a configuration: loading, each kind's validation as FILE:LINE problems, and the
names that policies and flows give their actions and hooks."""

from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from promotions.checks import CHECK_KINDS
from promotions.config import ConfigError, NotDefinedError, load_configuration, load_configuration_dir

CONFIG = Path(__file__).parent / "config"
CHECK_HEADER = """\
apiVersion: promotions.dev/v1alpha1
kind: PromotionCheck
metadata:
  name: gate
spec:
"""
KIND_LIST = ", ".join(sorted(CHECK_KINDS))


def files(changes: dict[str, str | None] | None = None) -> dict[str, bytes]:
    loaded = {path.name: path.read_bytes() for path in CONFIG.glob("*.yaml")}
    for name, text in (changes or {}).items():
        if text is None:
            del loaded[name]
        else:
            loaded[name] = dedent(text).encode()
    return loaded


def problems(changes: dict[str, str | None]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_configuration(files(changes))
    return [str(problem) for problem in raised.value.problems]


def test_every_kind_loads_and_actions_name_checks_in_order():
    configuration = load_configuration_dir(CONFIG)

    assert {name: check.kind for name, check in configuration.checks.items()} == {
        "e2e": "stateMachine",
        "notify": "lambda",
        "office-hours": "window",
        "open-ticket": "codebuild",
        "smoke-tests": "http",
        "soak": "soakTime",
        "source-ci": "commitStatus",
    }
    policy = configuration.policy_for("guestbook", "prod", "standard")
    assert [check.name for check in configuration.checks_named(policy.pre_action)] == ["soak", "office-hours"]
    assert [check.name for check in configuration.checks_named(policy.post_action)] == ["smoke-tests"]
    hooks = configuration.flows["standard"].hooks
    assert [check.name for check in configuration.checks_named(hooks.on_fail)] == ["open-ticket", "notify"]
    assert configuration.checks["smoke-tests"].timeout == timedelta(minutes=30)
    assert configuration.checks["soak"].config.duration == timedelta(hours=1)
    assert configuration.checks["source-ci"].config.token_secret.secret == "ci/github-token"


def test_a_policy_naming_an_undefined_check_is_reported_at_the_name():
    policies = (CONFIG / "policies.yaml").read_text().replace("      - office-hours", "      - office-hour")

    assert problems({"policies.yaml": policies}) == [
        "policies.yaml:14: PromotionPolicy prod-gates: preAction office-hour is not a defined PromotionCheck"
    ]


def test_flow_steps_and_hooks_are_checked_too():
    flow = """\
        apiVersion: codefresh.io/v1beta1
        kind: PromotionFlow
        metadata:
          name: standard
        spec:
          triggerEnvironment: staging
          steps:
            - environment: prod
              dependsOn: [staging]
              policy:
                postAction: [smoke-tests, e2e-tests]
              hooks:
                onSuccess: notiffy
          hooks:
            onStart: soak
        """

    assert problems({"flow.yaml": flow}) == [
        "flow.yaml:11: PromotionFlow standard step prod: postAction e2e-tests is not a defined PromotionCheck",
        "flow.yaml:13: PromotionFlow standard step prod: onSuccess notiffy is not a defined PromotionCheck",
        "flow.yaml:15: PromotionFlow standard: hook onStart runs PromotionCheck soak, a soakTime check; hooks run only "
        "codebuild, http, lambda, stateMachine checks",
    ]


def test_a_configuration_without_checks_is_codefreshs_and_loads_with_its_workflow_names():
    configuration = load_configuration(files({"checks.yaml": None}))

    policy = configuration.policy_for("guestbook", "prod", "standard")
    assert policy.pre_action == ("soak", "office-hours")
    with pytest.raises(NotDefinedError, match="PromotionCheck soak, office-hours is not defined"):
        configuration.checks_named(policy.pre_action)


def test_a_soak_time_naming_an_undefined_environment_is_reported():
    checks = (
        (CONFIG / "checks.yaml").read_text().replace("environments: [staging]", "environments: [stagign]")
    )

    assert problems({"checks.yaml": checks}) == [
        "checks.yaml:8: PromotionCheck soak: soakTime names environment stagign, which is not a defined Environment"
    ]


def test_a_check_in_another_api_version_is_reported():
    assert problems(
        {"bad.yaml": CHECK_HEADER.replace("v1alpha1", "v1") + "  lambda: {functionName: f}\n"}
    ) == [
        "bad.yaml:1: PromotionCheck gate: apiVersion promotions.dev/v1 is not supported (promotions.dev/v1alpha1)"
    ]


def test_a_check_defined_twice_is_reported():
    duplicate = CHECK_HEADER.replace("gate", "notify") + "  lambda: {functionName: f}\n"

    assert problems({"more-checks.yaml": duplicate}) == [
        "more-checks.yaml:4: PromotionCheck notify is defined twice (first at checks.yaml:55)"
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            "  htpp: {url: https://smoke.example}\n",
            [f"bad.yaml:6: PromotionCheck gate: spec.htpp: not a check kind (use one of {KIND_LIST})"],
            id="unknown-kind",
        ),
        pytest.param(
            "  timeout: 5\n",
            [f"bad.yaml:5: PromotionCheck gate: spec: give exactly one check kind ({KIND_LIST}); found none"],
            id="no-kind",
        ),
        pytest.param(
            "  http: {url: https://smoke.example}\n  lambda: {functionName: f}\n",
            [
                f"bad.yaml:5: PromotionCheck gate: spec: give exactly one check kind ({KIND_LIST}); found http and lambda"
            ],
            id="two-kinds",
        ),
        pytest.param(
            "  codebuild: {project: smoke}\n  timeout: 5\n",
            [
                "bad.yaml:7: PromotionCheck gate: spec.timeout: codebuild checks never wait, so a timeout does not "
                "apply: bound the codebuild run itself"
            ],
            id="timeout-on-integration",
        ),
        pytest.param(
            "  soakTime: {environments: [staging], duration: 90}\n  timeout: 0\n",
            ["bad.yaml:7: PromotionCheck gate: spec.timeout: Input should be greater than 0"],
            id="timeout-zero",
        ),
        pytest.param(
            "  soakTime:\n    environments: []\n    duration: 1x\n",
            [
                "bad.yaml:7: PromotionCheck gate: spec.soakTime.environments: Tuple should have at least 1 item after "
                "validation, not 0",
                "bad.yaml:8: PromotionCheck gate: spec.soakTime.duration: invalid duration '1x': write it as 30m, "
                "1h30m, 2d, an ISO 8601 duration such as PT1H, or a number of minutes",
            ],
            id="soak-time",
        ),
        pytest.param(
            "  soakTime: {environments: [staging], duration: 0m}\n",
            ["bad.yaml:6: PromotionCheck gate: spec.soakTime.duration: a duration must be longer than zero"],
            id="soak-time-zero",
        ),
        pytest.param(
            """\
  window:
    timezone: Mars/Olympus
    deny:
      - cron: 61 * * * *
        duration: 1h
      - rrule: FREQ=WEEKLY;BYDAY=FR
        duration: 1d
      - cron: 0 0 * * 5
        rrule: FREQ=DAILY
        duration: 1d
      - rrule: FREQ=WEEKLY;BYDAY=XX
        dtstart: 2025-01-03T00:00:00
        duration: 1d
      - rrule: "DTSTART:20250103T000000\\nRRULE:FREQ=WEEKLY"
        duration: 1d
""",
            [
                "bad.yaml:7: PromotionCheck gate: spec.window.timezone: unknown time zone 'Mars/Olympus' (use an IANA "
                "name such as Europe/Berlin)",
                "bad.yaml:9: PromotionCheck gate: spec.window.deny[0].cron: invalid cron expression '61 * * * *': "
                "[61 * * * *] is not acceptable, out of range",
                "bad.yaml:11: PromotionCheck gate: spec.window.deny[1]: an rrule needs dtstart, its first occurrence "
                "(e.g. 2025-01-03T00:00:00)",
                "bad.yaml:13: PromotionCheck gate: spec.window.deny[2]: give either cron or rrule",
                "bad.yaml:16: PromotionCheck gate: spec.window.deny[3].rrule: invalid RRULE 'FREQ=WEEKLY;BYDAY=XX': "
                "invalid 'BYDAY': XX",
                "bad.yaml:19: PromotionCheck gate: spec.window.deny[4].rrule: give the first occurrence as dtstart, "
                "not inside the rrule",
            ],
            id="window",
        ),
        pytest.param(
            "  window: {timezone: UTC}\n",
            ["bad.yaml:6: PromotionCheck gate: spec.window: give allow or deny rules (or both)"],
            id="window-without-rules",
        ),
        pytest.param(
            "  commitStatus:\n    provider: gitlab\n    checkRuns: [tests]\n",
            [
                "bad.yaml:6: PromotionCheck gate: spec.commitStatus: checkRuns are GitHub's; GitLab reports pipeline "
                "jobs as commit statuses: list them in contexts"
            ],
            id="commit-status-check-runs-on-gitlab",
        ),
        pytest.param(
            "  commitStatus:\n    provider: bitbucket\n    tokenSecret: {name: ci/token}\n    pollSeconds: 0\n",
            [
                "bad.yaml:7: PromotionCheck gate: spec.commitStatus.provider: Input should be 'github' or 'gitlab'",
                "bad.yaml:8: PromotionCheck gate: spec.commitStatus.tokenSecret.name is not a known field "
                "(known: key, secret)",
                "bad.yaml:8: PromotionCheck gate: spec.commitStatus.tokenSecret.secret is required",
                "bad.yaml:9: PromotionCheck gate: spec.commitStatus.pollSeconds: Input should be greater than 0",
            ],
            id="commit-status",
        ),
        pytest.param(
            """\
  http:
    url: ftp://smoke.example/run
    methd: GET
    method: FETCH
    headers: {Authorization: {secret: smoke/token, field: token}, X-Key: {key: k}}
    successWhen: {jsonPath: $status}
""",
            [
                "bad.yaml:7: PromotionCheck gate: spec.http.url: url must be an absolute http(s) URL, not "
                "'ftp://smoke.example/run'",
                "bad.yaml:8: PromotionCheck gate: spec.http.methd is not a known field (did you mean method?)",
                "bad.yaml:9: PromotionCheck gate: spec.http.method: Input should be 'GET', 'HEAD', 'POST', 'PUT', "
                "'PATCH' or 'DELETE'",
                "bad.yaml:10: PromotionCheck gate: spec.http.headers.Authorization.field is not a known field "
                "(known: key, secret, value)",
                "bad.yaml:10: PromotionCheck gate: spec.http.headers['X-Key']: give a value or a secret",
                "bad.yaml:11: PromotionCheck gate: spec.http.successWhen.jsonPath: invalid JSONPath '$status': "
                "expected '.', '..' or a bracketed selection, found 's'",
            ],
            id="http",
        ),
        pytest.param(
            "  lambda: {payload: {ticket: OPS-1}}\n",
            ["bad.yaml:6: PromotionCheck gate: spec.lambda.functionName is required"],
            id="lambda",
        ),
        pytest.param(
            "  codebuild:\n    project: smoke\n    environmentVariables: {1BAD: x}\n",
            [
                "bad.yaml:8: PromotionCheck gate: spec.codebuild.environmentVariables: 1BAD: environment variable "
                "names are letters, digits and _, not starting with a digit"
            ],
            id="codebuild",
        ),
        pytest.param(
            "  stateMachine: {input: {suite: full}}\n",
            ["bad.yaml:6: PromotionCheck gate: spec.stateMachine.stateMachineArn is required"],
            id="state-machine",
        ),
    ],
)
def test_each_kinds_configuration_is_validated_where_it_is_written(spec, expected):
    assert problems({"bad.yaml": CHECK_HEADER + spec}) == expected


@pytest.mark.parametrize(
    ("written", "minutes"),
    [("45", 45), (45, 45), ("1h30m", 90), ("2d", 2880), ("PT1H", 60), ("P1DT1H", 1500), ("90s", 1.5)],
)
def test_durations_are_units_iso_8601_or_minutes(make_check, written, minutes):
    soak = make_check("soak", soakTime={"environments": ["staging"], "duration": written})

    assert soak.config.duration == timedelta(minutes=minutes)
