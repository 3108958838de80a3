"""The controller's check of systemd calendar expressions (dspace_deploy/inventory/calendar.py)
gives systemd's own verdict: pinned cases, and the same cases plus a seeded random corpus
compared with the real `systemd-analyze calendar` wherever it exists."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from dspace_deploy.inventory.calendar import problem

VALID = [
    "daily", "Daily", "minutely UTC", "weekly utc", "hourly", "monthly", "yearly", "annually",
    "quarterly", "semiannually", "semi-annually", "Mon-Fri", "Mon..Fri 10:00", "Mon,",
    "Sun *-*-* 04:00:00", "*-*-* 02:30:00", "*-*-* 00/8:00:00", "*-*-01 01:00:00",
    "Mon,Wed..Fri *-*-* 08:00", "Monday 10:00", "*-02~03", "*-*~07/1", "*-*~28",
    "2199-01-01", "12-01", "1..1:00", "0..23/1:00", "00/8:00:00", "@1700000000", "*:0/15",
    "*:*:0..30", "*:*:1.5", "*-*-* 1:2:3.1234567", "*-*-*", "2024-02-30", "1,2,3:00",
    "*-*-1,15 3:00", "Mon  10:00", "*-*-* 02:30:00 Europe/Rome", "daily CET",
    "*-*-* 02:30:00 America/Bogota", "*:*:59.999999", "1..3/2:00", "0..10/3:00",
    "Sat,Sun 23:59:59", "*-*-* *:*:*", "Sun,",
]
INVALID = [
    "", " ", "*", ":", "bogus", "dialy", " daily", "daily ", "*/2:00", "Fri..Mon",
    "*-*-* 25:00", "2200-01-01", "Mon..", "Mond", "*-*-* 02:30:00 Mars/Base", "*:00/60",
    "5..3:00", "*-*~29", "*:*:*:*", "1,,2:00", "hourly cet", "*:*:59.9/1", "*-*~01/1",
    "*:*:60", "02:30 every day", "Sun *-*-* 4", "0 2 * * *", "*-*-* 02:30:00 +0100",
    "*-13-01", "*-*-32", "24:00", "*:60", "1.5:00", "Mon-Fri-Sun", "Mon..Wed..Fri",
    "*:*:3.", "2024-01-01x", "@", "@abc", "*-*-* 02:30:00 UTC UTC",
]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions(expression: str) -> None:
    assert problem(expression) is None


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_expressions(expression: str) -> None:
    assert problem(expression)


def _systemd_accepts(expression: str) -> bool:
    assert SYSTEMD_ANALYZE is not None
    done = subprocess.run([SYSTEMD_ANALYZE, "calendar", expression], capture_output=True,
                          check=False, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
    return done.returncode == 0


def _random_expressions(count: int) -> list[str]:
    """Expressions built from the grammar's pieces in their order (weekdays, date, time,
    zone), each present or not, with numbers near the edges of each field's range: many
    valid, many just outside."""
    rng = random.Random(20261204)
    pick = rng.choice

    def field(low: int, high: int) -> str:
        numbers = [low, low + 1, (low + high) // 2, high - 1, high, high + 1]
        if pick([True, False, False]):
            return "*"
        value = str(pick(numbers))
        if pick([True, False, False]):
            value += ".." + str(pick(numbers))
        if pick([True, False, False]):
            value += "/" + pick(["0", "1", "2", "7", "30", "60"])
        if pick([True, False, False, False]):
            value += "," + str(pick(numbers))
        return value

    def expression() -> str:
        parts = []
        if pick([True, False]):
            parts.append(pick(["Mon", "sun", "Tue..Thu", "Fri..Mon", "Sat,Sun", "Wed-Fri",
                               "Monday,", "Thu.."]))
        if pick([True, True, False]):
            end = pick(["-", "-", "~"])
            date = f"{field(1, 12)}{end}{field(1, 31)}"
            parts.append(pick([date, f"{field(1970, 2199)}-{date}", f"{field(0, 99)}-{date}"]))
        if pick([True, True, False]):
            seconds = pick(["", f":{field(0, 59)}", ":1.5", ":59.9", ":0.25/0.5"])
            parts.append(f"{field(0, 23)}:{field(0, 59)}{seconds}")
        if pick([True, False, False, False]):
            parts.append(pick(["UTC", "Europe/Rome", "Nowhere/City"]))
        return " ".join(parts)

    return [expression() for _ in range(count)]


CROSS_CHECKED = VALID + INVALID + _random_expressions(400)


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed here")
def test_the_same_verdict_as_systemd_analyze() -> None:
    different = [(e, _systemd_accepts(e)) for e in CROSS_CHECKED
                 if (problem(e) is None) != _systemd_accepts(e)]
    assert not different, f"systemd-analyze disagrees (expression, systemd accepts): {different}"
    accepted = sum(problem(e) is None for e in CROSS_CHECKED)
    assert 50 < accepted < len(CROSS_CHECKED) - 50  # the corpus has both kinds
