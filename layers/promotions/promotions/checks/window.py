"""window: promote only inside allowed times and never inside denied ones (office hours, change freezes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from dateutil.rrule import rrulestr
from pydantic import AfterValidator, field_validator, model_validator

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckConfig, CheckKind, Duration, describe_duration
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait, wait_seconds
from promotions.checks.services import CheckServices

# One wait at most, then the window is evaluated afresh (a configuration fix or a long freeze then shows).
MAX_WAIT = timedelta(days=1)
# Wall-clock durations can span one more real hour than they say on the day clocks go back.
_DST_SLACK = timedelta(hours=2)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


class WindowRule(CheckConfig):
    """Stretches of time that start at each occurrence of a cron expression or of an RFC 5545 RRULE and last
    `duration` of wall-clock time in the window's time zone: 09:00 for 8h ends at 17:00 on the days clocks
    change too."""

    cron: str | None = None
    rrule: str | None = None
    # The RRULE's first occurrence (its DTSTART): local to the window's time zone unless it has an offset.
    dtstart: datetime | None = None
    duration: Duration

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, expression: str) -> str:
        try:
            croniter(expression)
        except CroniterError as error:
            raise ValueError(f"invalid cron expression {expression!r}: {error}") from None
        return expression

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, text: str) -> str:
        if re.search(r"^\s*DTSTART", text, re.IGNORECASE | re.MULTILINE):
            raise ValueError("give the first occurrence as dtstart, not inside the rrule")
        try:
            rrulestr(text, dtstart=datetime(2000, 1, 1))
        except ValueError as error:
            raise ValueError(f"invalid RRULE {text!r}: {error}") from None
        return text

    @model_validator(mode="after")
    def _one_schedule(self) -> WindowRule:
        if (self.cron is None) == (self.rrule is None):
            raise ValueError("give either cron or rrule")
        if self.rrule is not None and self.dtstart is None:
            raise ValueError("an rrule needs dtstart, its first occurrence (e.g. 2025-01-03T00:00:00)")
        if self.cron is not None and self.dtstart is not None:
            raise ValueError("dtstart belongs to an rrule; a cron expression has none")
        return self

    def __str__(self) -> str:
        schedule = f"cron {self.cron!r}" if self.cron is not None else f"rrule {self.rrule!r}"
        return f"{schedule} for {describe_duration(self.duration)}"

    def _starts(self, after: datetime) -> Iterator[datetime]:
        """Occurrence starts strictly after `after`, an aware time in the window's zone, in that zone."""
        if self.rrule is not None and self.dtstart is not None:
            dtstart = self.dtstart if self.dtstart.tzinfo else self.dtstart.replace(tzinfo=after.tzinfo)
            yield from rrulestr(self.rrule, dtstart=dtstart).xafter(after)
        else:
            schedule = croniter(self.cron, after)
            while True:
                yield schedule.get_next(datetime)

    def covering_end(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """The latest end (UTC) of this rule's stretches that contain `moment` (UTC), or None."""
        latest = None
        for start in self._starts(moment.astimezone(zone) - self.duration - _DST_SLACK):
            if start.astimezone(UTC) > moment:
                return latest
            # Aware arithmetic in one zone is wall-clock arithmetic: the duration is local time.
            end = (start + self.duration).astimezone(UTC)
            if end > moment:
                latest = max(latest or end, end)
        return latest

    def next_start(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """The first start (UTC) after `moment` (UTC), or None when the rule has no more occurrences."""
        return next(
            (start.astimezone(UTC) for start in self._starts(moment.astimezone(zone))),
            None,
        )


class WindowCheck(CheckKind):
    """Passes when now is inside some `allow` rule (or there are none) and inside no `deny` rule; otherwise
    waits until the next moment that is, at most a day at a time."""

    kind: ClassVar[str] = "window"

    timezone: TimeZoneName = "UTC"
    allow: tuple[WindowRule, ...] = ()
    deny: tuple[WindowRule, ...] = ()

    @model_validator(mode="after")
    def _has_rules(self) -> WindowCheck:
        if not (self.allow or self.deny):
            raise ValueError("give allow or deny rules (or both)")
        return self

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        zone = ZoneInfo(self.timezone)
        now = services.now().astimezone(UTC)
        horizon = now + MAX_WAIT
        moment = now
        blocked_by: str | None = None
        # Each step moves to the end of a deny stretch or the start of an allow one, so it always advances.
        while moment < horizon:
            denied = [
                (end, f"deny[{index}] ({rule}) applies")
                for index, rule in enumerate(self.deny)
                if (end := rule.covering_end(moment, zone)) is not None
            ]
            if denied:
                moment, why = max(denied, key=lambda pair: pair[0])
            elif self.allow and not any(rule.covering_end(moment, zone) for rule in self.allow):
                openings = [start for rule in self.allow if (start := rule.next_start(moment, zone))]
                if not openings:
                    return Failed(reason="no allow rule of this window occurs again")
                moment, why = min(openings), "outside every allow rule"
            else:
                break
            blocked_by = blocked_by or why
        if blocked_by is None:
            return Passed()
        if moment < horizon:
            until = f"allowed from {moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"
        else:
            until = f"not allowed within {describe_duration(MAX_WAIT)}, evaluating again then"
        return Wait(
            seconds=wait_seconds(min(moment, horizon) - now),
            reason=f"{blocked_by} in {self.timezone}; {until}",
        )
