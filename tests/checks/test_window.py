"""Deployment windows: allow and deny rules as cron expressions or RRULEs, in a time zone, across DST."""

from datetime import UTC, datetime

import pytest
from promotions.checks import Failed, Passed, Wait

BERLIN = "Europe/Berlin"
NO_FRIDAYS_CRON = {"cron": "0 0 * * 5", "duration": "24h"}
NO_FRIDAYS_RRULE = {"rrule": "FREQ=WEEKLY;BYDAY=FR", "dtstart": "2025-01-03T00:00:00", "duration": "1d"}


def evaluate_at(make_check, context, services, clock, moment, **window):
    clock.moment = moment
    return make_check("window", window=window).config.evaluate(context, services)


@pytest.mark.parametrize("friday", [NO_FRIDAYS_CRON, NO_FRIDAYS_RRULE], ids=["cron", "rrule"])
def test_a_friday_deny_waits_until_saturday_midnight_in_berlin(make_check, context, services, clock, friday):
    # Friday 15:00 in Berlin (CET, UTC+1).
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 3, 28, 14, 0, tzinfo=UTC),
        timezone=BERLIN,
        deny=[friday],
    )

    assert isinstance(outcome, Wait)
    assert outcome.seconds == 9 * 3600
    assert outcome.reason.startswith("deny[0] (")
    assert outcome.reason.endswith(" for 1d) applies in Europe/Berlin; allowed from 2025-03-29 00:00 CET")


def test_the_deny_follows_the_windows_time_zone_not_utc(make_check, context, services, clock):
    # Thursday 23:30 UTC is already Friday 00:30 in Berlin.
    thursday_utc = datetime(2025, 3, 27, 23, 30, tzinfo=UTC)

    in_berlin = evaluate_at(
        make_check, context, services, clock, thursday_utc, timezone=BERLIN, deny=[NO_FRIDAYS_CRON]
    )
    in_utc = evaluate_at(make_check, context, services, clock, thursday_utc, deny=[NO_FRIDAYS_CRON])

    assert isinstance(in_berlin, Wait)
    assert in_utc == Passed()


def test_outside_office_hours_waits_for_the_next_opening_across_the_spring_dst_change(
    make_check, context, services, clock
):
    # Saturday 18:00 CET; Sunday 09:00 is CEST (UTC+2): 14 real hours later, though 15 on the wall clock.
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 3, 29, 17, 0, tzinfo=UTC),
        timezone=BERLIN,
        allow=[{"cron": "0 9 * * *", "duration": "8h"}],
    )

    assert outcome == Wait(
        seconds=14 * 3600,
        reason="outside every allow rule in Europe/Berlin; allowed from 2025-03-30 09:00 CEST",
    )


def test_the_autumn_dst_change_makes_the_night_an_hour_longer(make_check, context, services, clock):
    # Saturday 18:00 CEST; Sunday 09:00 is CET (UTC+1): 16 real hours later.
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 10, 25, 16, 0, tzinfo=UTC),
        timezone=BERLIN,
        allow=[{"rrule": "FREQ=DAILY", "dtstart": "2025-10-01T09:00:00", "duration": "8h"}],
    )

    assert isinstance(outcome, Wait)
    assert outcome.seconds == 16 * 3600


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        # 04:30 CEST: inside 01:00-05:00 local, which on this day is only three real hours long.
        (datetime(2025, 3, 30, 2, 30, tzinfo=UTC), True),
        # 05:10 CEST: past the local end, though less than four real hours after 01:00 CET.
        (datetime(2025, 3, 30, 3, 10, tzinfo=UTC), False),
    ],
)
def test_durations_are_wall_clock_time_on_the_day_clocks_change(
    make_check, context, services, clock, moment, allowed
):
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        moment,
        timezone=BERLIN,
        allow=[{"cron": "0 1 * * *", "duration": "4h"}],
    )

    assert (outcome == Passed()) is allowed


def test_inside_an_allow_rule_and_outside_every_deny_rule_passes(make_check, context, services, clock):
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 3, 26, 10, 0, tzinfo=UTC),
        timezone=BERLIN,
        allow=[{"cron": "0 9 * * 1-5", "duration": "8h"}],
        deny=[NO_FRIDAYS_CRON],
    )

    assert outcome == Passed()


def test_an_opening_inside_a_deny_rule_waits_for_the_deny_to_end(make_check, context, services, clock):
    # 08:00 UTC: office hours open at 09:00, but maintenance runs 08:30-09:30.
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 3, 26, 8, 0, tzinfo=UTC),
        allow=[{"cron": "0 9 * * *", "duration": "8h"}],
        deny=[{"cron": "30 8 * * *", "duration": "1h"}],
    )

    assert outcome == Wait(
        seconds=90 * 60,
        reason="outside every allow rule in UTC; allowed from 2025-03-26 09:30 UTC",
    )


def test_a_long_freeze_waits_one_day_at_a_time(make_check, context, services, clock):
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 12, 5, 12, 0, tzinfo=UTC),
        deny=[{"cron": "0 0 1 12 *", "duration": "31d"}],
    )

    assert outcome == Wait(
        seconds=86400,
        reason="deny[0] (cron '0 0 1 12 *' for 31d) applies in UTC; not allowed within 1d, evaluating again then",
    )


def test_an_allow_rule_that_never_occurs_again_fails(make_check, context, services, clock):
    outcome = evaluate_at(
        make_check,
        context,
        services,
        clock,
        datetime(2025, 3, 26, 12, 0, tzinfo=UTC),
        allow=[{"rrule": "FREQ=DAILY;COUNT=2", "dtstart": "2025-01-01T09:00:00", "duration": "1h"}],
    )

    assert outcome == Failed(reason="no allow rule of this window occurs again")
