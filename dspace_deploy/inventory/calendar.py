"""systemd calendar expressions (OnCalendar=, `man systemd.time`), checked on the controller.

The timers of the dspace_tasks and dspace_backup roles take their schedules from the
inventory. A schedule systemd cannot parse fails the role's precheck on the host (it runs
`systemd-analyze calendar` there); this module finds it earlier, while the inventory is
validated and before any host is contacted.

Why a parser of our own rather than `systemd-analyze calendar` on the controller: the
controller may have no systemd (macOS, containers), or another systemd than the hosts, and
validation must give the same answer everywhere and run in microseconds for fleets. The
grammar follows systemd's src/shared/calendarspec.c (v252, the systemd of Debian 12, the
oldest supported host), and tests/unit/test_calendar.py checks it against the real
`systemd-analyze calendar` on a corpus of valid and invalid expressions wherever that
command exists.

    [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]

Each number may be `*`, a value, a list `a,b`, a range `a..b` and a repetition `/n`;
`~` counts days from the end of the month; seconds take up to six decimals. Shorthands:
minutely, hourly, daily, weekly, monthly, yearly/annually, quarterly, semiannually.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dspace_deploy.i18n import _

_SHORTHANDS = frozenset({
    "minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "anually",
    "quarterly", "semiannually", "semi-annually", "biannually", "bi-annually",
})
# Longest first, so that "Monday" is read whole and "Mon" only when it stands alone.
_WEEKDAYS = (("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2),
             ("wed", 2), ("thursday", 3), ("thu", 3), ("friday", 4), ("fri", 4),
             ("saturday", 5), ("sat", 5), ("sunday", 6), ("sun", 6))
_USEC = 1_000_000
_INT_MAX = 2**31 - 1
_MAX_COMPONENTS = 240
# Field ranges systemd accepts (years are 1970-2199; two-digit years are 19xx/20xx).
_RANGES = {"year": (1970, 2199), "month": (1, 12), "day": (1, 31), "hour": (0, 23),
           "minute": (0, 59), "second": (0, 60 * _USEC - 1)}


class CalendarError(ValueError):
    """Not a calendar expression systemd accepts; the message says where it goes wrong."""


@dataclass
class _Component:
    start: int
    stop: int = -1  # -1: no range
    repeat: int = 0


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def fail(self, what: str) -> CalendarError:
        return CalendarError(_("{what} at position {position}").format(what=what,
                                                                       position=self.pos + 1))

    # --- weekdays ---------------------------------------------------------------------

    def weekdays(self) -> None:
        first, range_start = True, -1
        while True:
            rest = self.text[self.pos:].lower()
            match = next(((name, nr) for name, nr in _WEEKDAYS if rest.startswith(name)), None)
            if match is None:
                if first:
                    return  # no weekday part
                raise self.fail(_("a weekday is expected"))
            name, nr = match
            self.pos += len(name)
            if self.peek() not in ("", "-", ".", ",", " "):
                raise self.fail(_("a weekday name runs on"))
            if range_start > nr:
                raise self.fail(_("a weekday range runs backwards"))
            if self.peek() in ("", " "):
                self.skip_spaces()
                return
            if self.peek() == ".":
                if range_start >= 0 or self.peek(1) != ".":
                    raise self.fail(_("`..` between two weekdays is expected"))
                range_start, self.pos = nr, self.pos + 2
            elif self.peek() == "-":  # old range syntax, still accepted
                if range_start >= 0:
                    raise self.fail(_("a weekday range is already open"))
                range_start, self.pos = nr, self.pos + 1
            else:  # ","
                range_start, self.pos = -1, self.pos + 1
            if self.peek() in ("", " "):  # a trailing comma is fine, an open range is not
                if range_start >= 0:
                    raise self.fail(_("a weekday range has no end"))
                self.skip_spaces()
                return
            first = False

    # --- numbers ----------------------------------------------------------------------

    def number(self, usec: bool) -> int:
        digits = re.match(r"\d+", self.text[self.pos:])
        if digits is None:
            raise self.fail(_("a number is expected"))
        self.pos += len(digits.group())
        value = int(digits.group())
        if usec:
            value *= _USEC
            if self.peek() == "." and self.peek(1) != ".":
                self.pos += 1
                fraction = re.match(r"\d+", self.text[self.pos:])
                if fraction is None:
                    raise self.fail(_("decimals are expected after the point"))
                self.pos += len(fraction.group())
                value += int(fraction.group()[:6].ljust(6, "0"))
        if value > _INT_MAX:
            raise self.fail(_("a number is too large"))
        return value

    def chain(self, usec: bool) -> list[_Component] | None:
        """A field: None for `*` (any value), else its components."""
        if self.peek() == "*":
            self.pos += 1
            return [_Component(0, -1, _USEC)] if usec else None
        components: list[_Component] = []
        while True:
            if len(components) > _MAX_COMPONENTS:
                raise self.fail(_("the list is too long"))
            component = _Component(self.number(usec))
            if self.peek() == "." and self.peek(1) == ".":
                self.pos += 2
                component.stop = self.number(usec)
                component.repeat = _USEC if usec else 1
            if self.peek() == "/":
                self.pos += 1
                component.repeat = self.number(usec)
                if component.repeat == 0:
                    raise self.fail(_("a repetition of 0"))
            if self.peek() not in ("", " ", ",", "-", "~", ":"):
                raise self.fail(_("{char} is not expected").format(char=repr(self.peek())))
            components.append(component)
            if self.peek() != ",":
                return components
            self.pos += 1


@dataclass
class _Spec:
    fields: dict[str, list[_Component] | None]
    end_of_month: bool = False


def _date(parser: _Parser, spec: _Spec) -> bool:
    """The date part; True when the expression ends with it (@EPOCH)."""
    if parser.peek() == "":
        return False
    if parser.peek() == "@":
        parser.pos += 1
        parser.number(False)
        return True
    start = parser.pos
    first = parser.chain(False)
    if parser.peek() in ("", ":"):  # it was the time
        parser.pos = start
        return False
    spec.end_of_month = parser.peek() == "~"
    if parser.peek() not in ("-", "~"):
        raise parser.fail(_("`-` between date fields is expected"))
    parser.pos += 1
    second = parser.chain(False)
    if parser.peek() in ("", " "):
        parser.skip_spaces()
        spec.fields.update(month=first, day=second)
        return False
    if spec.end_of_month:
        raise parser.fail(_("`~` belongs before the day"))
    spec.end_of_month = parser.peek() == "~"
    if parser.peek() not in ("-", "~"):
        raise parser.fail(_("`-` between date fields is expected"))
    parser.pos += 1
    third = parser.chain(False)
    if parser.peek() not in ("", " "):
        raise parser.fail(_("a space after the date is expected"))
    parser.skip_spaces()
    spec.fields.update(year=first, month=second, day=third)
    return False


def _time(parser: _Parser, spec: _Spec) -> None:
    if parser.peek() == "":
        return  # no time: midnight
    spec.fields["hour"] = parser.chain(False)
    if parser.peek() != ":":
        raise parser.fail(_("`:` between hour and minute is expected"))
    parser.pos += 1
    spec.fields["minute"] = parser.chain(False)
    if parser.peek() == "":
        return
    if parser.peek() != ":":
        raise parser.fail(_("`:` between minute and second is expected"))
    parser.pos += 1
    spec.fields["second"] = parser.chain(True)
    if parser.peek() != "":
        raise parser.fail(_("the expression should end after the seconds"))


def _normalize(components: list[_Component]) -> None:
    for c in components:
        if c.stop > c.start and c.repeat > 0:
            c.stop -= (c.stop - c.start) % c.repeat
        # A range that cannot repeat even once, or a range of one value, is that value.
        if (c.stop > c.start and c.start + c.repeat > c.stop) or c.start == c.stop:
            c.repeat, c.stop = 0, -1


def _field_valid(components: list[_Component], low: int, high: int, from_end: bool) -> bool:
    if from_end:
        high -= 3  # at most 28 days before the end of the month
    for c in components:
        if not low <= c.start <= high or c.repeat > high - low:
            return False
        if c.stop >= 0:
            if not low <= c.stop <= high or c.start + c.repeat > c.stop:
                return False
            continue
        # A repetition must fit at least once before the end (or, from the end, the start).
        last = c.start - c.repeat if from_end else c.start + c.repeat
        if not low <= last <= high:
            return False
    return True


def _strip_timezone(text: str) -> str:
    if text.lower().endswith(" utc"):
        return text[:-4]
    head, _, last = text.rpartition(" ")
    if head and _is_timezone(last):
        return head
    return text


def _is_timezone(name: str) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", name):
        return False
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(name)
    except Exception:  # any failure means "not a time zone systemd knows"
        return False
    return True


def check(expression: str) -> None:
    """Raise CalendarError when systemd would refuse `expression` as OnCalendar=."""
    text = _strip_timezone(expression)
    if not text:
        raise CalendarError(_("it is empty"))
    if text.lower() in _SHORTHANDS:
        return
    parser = _Parser(text)
    spec = _Spec(fields={})
    parser.weekdays()
    if not _date(parser, spec):
        _time(parser, spec)
    if parser.peek() != "":
        raise parser.fail(_("{char} is not expected").format(char=repr(parser.peek())))
    year = spec.fields.get("year")
    for component in year or []:  # 12 -> 2012, 89 -> 1989
        for attr in ("start", "stop"):
            value = getattr(component, attr)
            if 0 <= value < 70:
                setattr(component, attr, value + 2000)
            elif 70 <= value < 100:
                setattr(component, attr, value + 1900)
    for name, (low, high) in _RANGES.items():
        components = spec.fields.get(name)
        if components is None:
            continue
        _normalize(components)
        from_end = name == "day" and spec.end_of_month
        if not _field_valid(components, low, high, from_end):
            shown = {"year": _("a year"), "month": _("a month"), "day": _("a day"),
                     "hour": _("an hour"), "minute": _("a minute"),
                     "second": _("a second")}[name]
            raise CalendarError(_("{field} is out of range (or repeats past its end)").format(
                field=shown))


def problem(expression: str) -> str | None:
    """Why `expression` is not a systemd calendar expression (None when it is one)."""
    try:
        check(expression)
    except CalendarError as error:
        return str(error)
    return None
