"""soakTime against the engine's clock, fast-forwarded the way the local runtime's Wait states move it."""

from datetime import timedelta

import pytest
from promotions import clock
from promotions.checks import CheckServices, Failed, Passed, Wait


@pytest.fixture
def engine_clock_services(services) -> CheckServices:
    return CheckServices(
        http=services.http, secrets=services.secrets, lambda_client=services.lambda_client, now=clock.now
    )


def test_waits_out_the_rest_of_the_soak_then_passes(make_check, context, engine_clock_services):
    soak = make_check("soak", soakTime={"environments": ["staging"], "duration": "1h"})
    soaking = context.model_copy(
        update={"environment_success_times": {"staging": clock.now() - timedelta(minutes=20)}}
    )

    waiting = soak.config.evaluate(soaking, engine_clock_services)
    clock.fast_forward(waiting.seconds)
    after_the_wait = soak.config.evaluate(soaking, engine_clock_services)

    assert isinstance(waiting, Wait)
    assert 40 * 60 - 1 <= waiting.seconds <= 40 * 60
    assert waiting.reason == "staging has soaked 20m of 1h"
    assert after_the_wait == Passed()


def test_the_environment_that_soaked_least_sets_the_wait(make_check, context, clock, services):
    soak = make_check("soak", soakTime={"environments": ["qa", "staging"], "duration": 90})
    soaking = context.model_copy(
        update={
            "environment_success_times": {
                "qa": clock() - timedelta(hours=2),
                "staging": clock() - timedelta(minutes=30),
            }
        }
    )

    outcome = soak.config.evaluate(soaking, services)

    assert outcome == Wait(seconds=3600, reason="staging has soaked 30m of 1h30m")


def test_an_environment_that_has_not_succeeded_fails_the_check(make_check, context, clock, services):
    soak = make_check("soak", soakTime={"environments": ["staging"], "duration": "PT1H"})

    outcome = soak.config.evaluate(context, services)

    assert outcome == Failed(
        reason="staging has not succeeded in this release, so it cannot have soaked (make this environment depend on it)"
    )


def test_exactly_the_duration_is_enough(make_check, context, clock, services):
    soak = make_check("soak", soakTime={"environments": ["staging"], "duration": "2d"})
    soaked = context.model_copy(
        update={"environment_success_times": {"staging": clock() - timedelta(days=2)}}
    )

    assert soak.config.evaluate(soaked, services) == Passed()
