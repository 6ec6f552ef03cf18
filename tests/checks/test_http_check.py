"""http checks against a local server: templating, secrets, success conditions, polling."""

import dataclasses
import json
import socket

from promotions.checks import Failed, Passed, Wait, evaluate_checks


def test_a_templated_json_call_with_a_secret_header_passes_when_the_answer_matches(
    make_check, context, services, secrets, api
):
    secrets.secrets["smoke/token"] = "s3cr3t"
    api.route("POST", "/runs/guestbook-prod/envs%2Fprod", {"status": "ok", "checks": 12})
    smoke = make_check(
        "smoke",
        http={
            "url": api.url + "/runs/${APP_NAME}/${PATH}",
            "method": "post",
            "headers": {"Authorization": {"secret": "smoke/token"}, "X-Release": "${RELEASE_ID}"},
            "body": {"version": "${VERSION}", "targets": ["${ENVIRONMENT}"], "retries": 2},
            "successWhen": {"status": [200], "jsonPath": "$.status", "equals": "ok"},
        },
    )

    outcome = smoke.config.evaluate(context, services)

    assert outcome == Passed()
    [request] = api.requests
    assert request.headers["Authorization"] == "s3cr3t"
    assert request.headers["X-Release"] == "guestbook-4f2a9c1d7e3b-0a1b2c3d4e"
    assert json.loads(request.body) == {"version": "1.4.2", "targets": ["prod"], "retries": 2}


def test_secret_headers_do_not_follow_a_redirect_to_another_origin(
    make_check, context, services, secrets, api, other_api
):
    secrets.secrets["smoke/token"] = "s3cr3t"
    api.respond("GET", "/smoke", lambda request: (302, b"", {"Location": other_api.url + "/smoke"}))
    other_api.route("GET", "/smoke", {"status": "ok"})
    smoke = make_check(
        "smoke",
        http={
            "url": api.url + "/smoke",
            "headers": {
                "X-Smoke-Token": {"secret": "smoke/token"},
                "Authorization": {"secret": "smoke/token"},
            },
            "successWhen": {"jsonPath": "$.status", "equals": "ok"},
        },
    )

    assert smoke.config.evaluate(context, services) == Passed()

    [asked] = api.requests
    assert asked.headers["X-Smoke-Token"] == asked.headers["Authorization"] == "s3cr3t"
    [redirected] = other_api.requests
    assert "s3cr3t" not in redirected.headers.values()


def test_a_text_body_keeps_dollars_and_escaped_placeholders(make_check, context, services, api):
    api.route("PUT", "/notes", {})
    note = make_check(
        "note",
        http={
            "url": api.url + "/notes",
            "method": "PUT",
            "headers": {"Content-Type": "text/plain"},
            "body": "costs $5 for ${PRODUCT_NAME}; literally $${VERSION}",
        },
    )

    assert note.config.evaluate(context, services) == Passed()
    assert api.requests[0].body == b"costs $5 for guestbook; literally ${VERSION}"


def test_an_unexpected_status_fails_at_once_without_polling(make_check, context, services, api):
    api.route("GET", "/health", {"error": "nope"}, status=409)
    probe = make_check("probe", http={"url": api.url + "/health"})

    outcome = probe.config.evaluate(context, services)

    assert outcome == Failed(reason=f"GET {api.url}/health answered HTTP 409, expected 2xx")


def test_an_unmet_json_condition_waits_when_polling(make_check, context, services, api):
    api.route("GET", "/deployments/1", {"state": "progressing"})
    probe = make_check(
        "probe",
        http={
            "url": api.url + "/deployments/1",
            "successWhen": {"jsonPath": "$.state", "equals": "healthy"},
            "pollSeconds": 30,
        },
    )

    outcome = probe.config.evaluate(context, services)

    assert outcome == Wait(
        seconds=30, reason=f'GET {api.url}/deployments/1 answered $.state = "progressing", expected "healthy"'
    )


def test_a_json_path_that_selects_nothing_or_an_answer_without_json_fails(make_check, context, services, api):
    api.route("GET", "/empty", {"other": 1})
    api.route("GET", "/text", b"<html>ok</html>", headers={"Content-Type": "text/html"})

    def probe(path):
        return make_check("probe", http={"url": api.url + path, "successWhen": {"jsonPath": "$.ready"}})

    assert probe("/empty").config.evaluate(context, services) == Failed(
        reason=f"GET {api.url}/empty answered without $.ready"
    )
    assert probe("/text").config.evaluate(context, services) == Failed(
        reason=f"GET {api.url}/text answered HTTP 200 without JSON, so $.ready cannot be read"
    )


def test_an_unreachable_endpoint_fails_without_polling_and_waits_with_it(make_check, context, services):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/smoke"

    once = make_check("smoke", http={"url": url}).config.evaluate(context, services)
    polled = make_check("smoke", http={"url": url, "pollSeconds": 15}).config.evaluate(context, services)

    assert once == Failed(reason=f"GET {url}: NewConnectionError")
    assert polled == Wait(seconds=15, reason=f"GET {url}: NewConnectionError")


def test_a_placeholder_no_variable_fills_fails(make_check, context, services, api):
    check = make_check("smoke", http={"url": api.url + "/run?ticket=${JIRA_TICKET}"})

    outcome = check.config.evaluate(context, services)

    assert outcome == Failed(reason="${JIRA_TICKET} is not a variable of this promotion")
    assert api.requests == []


def test_promotion_context_values_fill_placeholders(make_check, context, services, api):
    api.route("GET", "/browse/OPS-7", {})
    check = make_check("jira", http={"url": api.url + "/browse/${JIRA_TICKET}"})

    outcome = check.config.evaluate(context.with_promotion_context({"JIRA_TICKET": "OPS-7"}), services)

    assert outcome == Passed()


def test_polling_repeats_the_call_until_the_condition_holds(make_check, context, services, clock, api):
    answers = iter([(503, {}, {}), (200, {"ready": False}, {}), (200, {"ready": True}, {})])
    api.respond("GET", "/ready", lambda request: next(answers))
    check = make_check(
        "ready",
        http={
            "url": api.url + "/ready",
            "successWhen": {"jsonPath": "$.ready", "equals": True},
            "pollSeconds": 10,
        },
        timeout=5,
    )

    outcomes = []
    result = evaluate_checks([check], context, services)
    while isinstance(result.outcome, Wait):
        outcomes.append(result.outcome.reason)
        clock.advance(seconds=result.outcome.seconds)
        result = evaluate_checks([check], context, services, progress=result.progress)

    assert result.outcome == Passed()
    assert outcomes == [
        f"GET {api.url}/ready: HTTP 503",
        f"GET {api.url}/ready answered $.ready = false, expected true",
    ]


def test_an_answer_with_promotion_context_exports_it(make_check, context, services, api):
    api.route("POST", "/announce", {"PROMOTION_CONTEXT": {"ticket": "OPS-7"}, "ok": True})
    api.route("POST", "/broken", {"PROMOTION_CONTEXT": ["not", "an", "object"]})
    announce = make_check("announce", http={"url": api.url + "/announce", "method": "POST"})
    broken = make_check("broken", http={"url": api.url + "/broken", "method": "POST"})

    assert announce.config.evaluate(context, services) == Passed(context_update={"ticket": "OPS-7"})
    outcome = broken.config.evaluate(context, services)
    assert isinstance(outcome, Failed) and "PROMOTION_CONTEXT must be a JSON object" in outcome.reason


def test_a_secret_outside_the_check_prefix_is_never_read_nor_sent(make_check, context, services, secrets, api):
    """The gate function may read the Git credentials (for pullRequestMerged): a check naming them in a header
    would send the bot's token to any URL, so checks read only the secrets under CheckResourcePrefix."""
    git_credentials = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:promotions-git-credentials-AbCdEf"
    secrets.secrets[git_credentials] = "ghp_bot_token"
    smoke_token = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:promotions-check-smoke-AbCdEf"
    secrets.secrets[smoke_token] = "s3cr3t"
    api.route("POST", "/collect", {"status": "ok"})
    limited = dataclasses.replace(services, secret_prefix="promotions-check-")

    def check(secret: str):
        return make_check(
            "smoke",
            http={
                "url": api.url + "/collect",
                "method": "post",
                "headers": {"Authorization": {"secret": secret}},
                "successWhen": {"status": [200]},
            },
        )

    refused = check(git_credentials).config.evaluate(context, limited)

    assert isinstance(refused, Failed)
    assert "out of the checks' reach" in refused.reason and "promotions-check-*" in refused.reason
    assert api.requests == []
    assert check(smoke_token).config.evaluate(context, limited) == Passed()
    assert api.requests[0].headers["Authorization"] == "s3cr3t"
