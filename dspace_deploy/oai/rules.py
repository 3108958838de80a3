"""The rules a network applies to its members' OAI-PMH feeds, each with its id, title, source and
severity. docs/oai-validation.md lists them with the facts each one is built from.

Two rule books:
- LA Referencia's validator (`lareferencia-core-lib`): its "Validador Standard" (the rule set the
  platform ships) and the semantics of its rule types (a field's occurrences are each checked,
  then a quantifier decides; a record is valid when every *mandatory* rule holds).
- The OpenAIRE Guidelines for Literature Repository Managers 3.0 (the `oai_dc` profile DSpace's
  `openaire` context implements, itself built on the DRIVER Guidelines 2.0).

Severity "error" is a mandatory rule (a record failing it is not valid: LA Referencia's
ValidatorImpl); "warning" is a recommended one. Record rules read a record's oai_dc fields
(`Record.fields`: {"title": [...], "date": [...]}); feed rules are judged by `validate`.

Titles and messages are translated when the rules are built (`record_rules()` / `feed_rules()`
are called per check), not at import, so that `--lang` applies.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path

from dspace_deploy.i18n import _, pgettext

LAREF_CONFIG = (
    "https://github.com/lareferencia/lareferencia-platform/blob/"
    "71bf5a255d8831c759af90fee6fbb3c2d1ab928c/"
    "Docker/config-overrides/lareferencia-shell/validator.json"
)
LAREF_CORE = (
    "https://github.com/lareferencia/lareferencia-core-lib/blob/"
    "fbbcda3bbf6c2ed5a210ba41c9cadfb4972e32e7/src/main/java/org/lareferencia/core/worker/validation"
)
# LA Referencia's "Validador Nodo Central / OpenAire 3.0" (its rule "Language")
LAREF_NODE = (
    "https://github.com/lareferencia/lareferencia-platform/blob/"
    "e6749b1a6616ffacf25dcd2ad8ee3e441a4261cf/validators/validator-1-2-with-vocabulary-rules.json"
)
ISO639_TABLE = Path(__file__).with_name("iso639.txt")  # written by scripts/iso639-table
ISO639_SOURCE = "dspace_deploy/oai/iso639.txt (Debian iso-codes 4.15.0, 2023-04-27)"
OPENAIRE = (
    "https://github.com/openaire/guidelines/blob/8c3fc3b4f6f743a08cd047f8b470080b23c22848/"
    "docs/literature"
)
DSPACE_XOAI = "DSpace/DSpace@dspace-9.3:dspace/config/crosswalks/oai/xoai.xml"
OAI_PMH = "http://www.openarchives.org/OAI/openarchivesprotocol.html"

ERROR, WARNING = "error", "warning"

EU_REPO = "info:eu-repo/semantics/"
PUBLICATION_TYPES = frozenset(
    EU_REPO + t
    for t in (
        "article",
        "bachelorThesis",
        "masterThesis",
        "doctoralThesis",
        "book",
        "bookPart",
        "review",
        "conferenceObject",
        "lecture",
        "workingPaper",
        "preprint",
        "report",
        "annotation",
        "contributionToPeriodical",
        "patent",
        "other",
    )
)
VERSIONS = frozenset(
    EU_REPO + v
    for v in ("draft", "submittedVersion", "acceptedVersion", "publishedVersion", "updatedVersion")
)
ACCESS_RIGHTS = frozenset(
    EU_REPO + a for a in ("closedAccess", "embargoedAccess", "restrictedAccess", "openAccess")
)
EMBARGO_END = "info:eu-repo/date/embargoEnd/"
GRANT_AGREEMENT = "info:eu-repo/grantAgreement/"

# W3CDTF, the ISO 8601 profile the guidelines name: YYYY, YYYY-MM, YYYY-MM-DD, and a time with
# a zone designator (hh:mm, optional :ss and fraction).
_W3CDTF = re.compile(
    r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?)?)?"
)
_PUBLICATION_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
_URL = re.compile(r"https?://\S+")


class Quantifier(Enum):
    """How many valid occurrences a field content rule asks for (lareferencia-core-lib
    QuantifierValues; judged as AbstractValidatorFieldContentRule.validate does)."""

    ONE_ONLY = "ONE_ONLY"
    ONE_OR_MORE = "ONE_OR_MORE"
    ZERO_OR_MORE = "ZERO_OR_MORE"
    ZERO_ONLY = "ZERO_ONLY"
    ALL = "ALL"

    def holds(self, occurrences: int, valid: int) -> bool:
        if self is Quantifier.ONE_ONLY:
            return valid == 1
        if self is Quantifier.ONE_OR_MORE:
            return valid >= 1
        if self is Quantifier.ZERO_OR_MORE:  # an invalid occurrence and no valid one fails
            return not (occurrences > 0 and valid == 0)
        if self is Quantifier.ZERO_ONLY:
            return valid == 0
        return valid == occurrences  # ALL (no occurrences: holds)


Fields = dict[str, list[str]]
Check = Callable[[Fields], str | None]  # the failure message, or None when the rule holds


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str
    severity: str
    check: Check | None = None  # None: a feed rule, judged by validate.check_feed


@dataclass(frozen=True)
class Iso639:
    """The ISO 639 code lists of the shipped table (dspace_deploy/oai/iso639.txt)."""

    part1: frozenset[str]  # two letters
    part2: frozenset[str]  # three letters, terminologic
    bibliographic: dict[str, str]  # ISO 639-2/B code -> its 639-2/T code (fre -> fra)
    part3: frozenset[str]  # three letters, every individual language, macrolanguage, special

    def knows(self, value: str) -> bool:
        """A code of any part, or the 639-2 T/B pair of one language the OpenAIRE guidelines
        show ("nld/dut")."""
        if value in self.part1 or value in self.part2 or value in self.part3:
            return True
        if value in self.bibliographic:
            return True
        first, slash, second = value.partition("/")
        terminologic = self.bibliographic.get(first, first)
        return (bool(slash) and first != second and terminologic in self.part2
                and terminologic == self.bibliographic.get(second, second))


@functools.cache
def iso639() -> Iso639:
    """The table, read once (its source and date are in its header)."""
    lists: dict[str, list[str]] = {}
    for line in ISO639_TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, *codes = line.split()
            lists.setdefault(name, []).extend(codes)
    pairs = dict(code.split("=", 1) for code in lists["639-2/B"])
    return Iso639(frozenset(lists["639-1"]), frozenset(lists["639-2"]), pairs,
                  frozenset(lists["639-3"]))


def _values(fields: Fields, name: str) -> list[str]:
    return fields.get(name, [])


def _show(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values[:5]) or pgettext("no value found", "none")


def _field_rule(
    name: str, valid: Callable[[str], bool], quantifier: Quantifier, expected: str
) -> Check:
    """A field content rule: each dc:<name> occurrence checked, the quantifier decides."""

    def check(fields: Fields) -> str | None:
        values = _values(fields, name)
        good = sum(1 for v in values if valid(v))
        if quantifier.holds(len(values), good):
            return None
        return _("dc:{field}: expected {expected}; found {found}").format(
            field=name, expected=expected, found=_show(values)
        )

    return check


def _year_in_range(lower: int, upper: int) -> Callable[[str], bool]:
    """DynamicYearRangeFieldContentValidatorRule: the year the regex `^([0-9]{3,4})` finds at
    the start must lie within [this year - lower, this year + upper]."""
    pattern = re.compile(r"^([0-9]{3,4})")

    def valid(value: str) -> bool:
        found = pattern.search(value)
        if not found:
            return False
        this_year = date.today().year
        return this_year - lower <= int(found.group()) <= this_year + upper

    return valid


def _embargo_end(fields: Fields) -> str | None:
    if EU_REPO + "embargoedAccess" not in _values(fields, "rights"):
        return None
    ends = [d for d in _values(fields, "date") if d.startswith(EMBARGO_END)]
    if any(_PUBLICATION_DATE.fullmatch(d[len(EMBARGO_END) :]) for d in ends):
        return None
    return _(
        "dc:rights is {access} but no dc:date {prefix}YYYY-MM-DD gives the end of the embargo"
    ).format(access=EU_REPO + "embargoedAccess", prefix=EMBARGO_END)


def _grant_agreements(fields: Fields) -> str | None:
    bad = [
        r
        for r in _values(fields, "relation")
        if r.startswith(GRANT_AGREEMENT)
        and len([p for p in r[len(GRANT_AGREEMENT) :].split("/")[:3] if p]) < 3
    ]
    if not bad:
        return None
    return _(
        "dc:relation {values}: a project identifier needs "
        "{prefix}Funder/FundingProgram/ProjectID"
    ).format(values=_show(bad), prefix=GRANT_AGREEMENT)


def _publication_date(value: str) -> bool:
    return bool(_PUBLICATION_DATE.fullmatch(value))


def _iso_date(value: str) -> bool:
    return value.startswith("info:eu-repo/date/") or bool(_W3CDTF.fullmatch(value))


def record_rules() -> list[Rule]:
    """The rules each sampled oai_dc record is checked against, in the order they are shown."""
    one_or_more, all_of = Quantifier.ONE_OR_MORE, Quantifier.ALL
    non_empty = re.compile(".+")  # Java's Matcher.matches(): the whole value, no line breaks

    def present(value: str) -> bool:
        return bool(non_empty.fullmatch(value))

    regex_rule = f"{LAREF_CORE}/validator/RegexFieldContentValidatorRule.java#L98"
    year_rule = f"{LAREF_CORE}/validator/DynamicYearRangeFieldContentValidatorRule.java#L65-L124"
    return [
        Rule(
            "lareferencia.title",
            _("Title is mandatory (dc:title, at least one non-empty)"),
            f"{LAREF_CONFIG}#L6-L10; {regex_rule}",
            ERROR,
            _field_rule("title", present, one_or_more, _("a non-empty title")),
        ),
        Rule(
            "lareferencia.creator",
            _("Author is mandatory (dc:creator, at least one non-empty)"),
            f"{LAREF_CONFIG}#L13-L17; {regex_rule}",
            ERROR,
            _field_rule("creator", present, one_or_more, _("a non-empty author")),
        ),
        Rule(
            "lareferencia.identifier",
            _("Identifier is mandatory (dc:identifier, at least one non-empty)"),
            f"{LAREF_CONFIG}#L20-L24; {regex_rule}",
            ERROR,
            _field_rule("identifier", present, one_or_more, _("a non-empty identifier")),
        ),
        Rule(
            "lareferencia.date-year-range",
            _("Date year within the last 100 years and the next 2 (dc:date)"),
            year_rule,
            WARNING,
            _field_rule(
                "date",
                _year_in_range(lower=100, upper=2),
                one_or_more,
                _("a date starting with a year between {low} and {high}").format(
                    low=date.today().year - 100, high=date.today().year + 2
                ),
            ),
        ),
        Rule(
            "openaire.publication-type",
            _("Publication type from the info:eu-repo vocabulary (dc:type)"),
            f"{OPENAIRE}/field_publicationtype.rst#L14-L42",
            ERROR,
            _field_rule(
                "type",
                PUBLICATION_TYPES.__contains__,
                one_or_more,
                _("one of {prefix}article, ...doctoralThesis, ...other").format(prefix=EU_REPO),
            ),
        ),
        Rule(
            "openaire.type-terms",
            _("info:eu-repo types are publication types or versions (dc:type)"),
            f"{OPENAIRE}/field_publicationtype.rst#L27-L42; "
            f"{OPENAIRE}/field_publicationversion.rst#L25-L29",
            WARNING,
            _field_rule(
                "type",
                lambda t: not t.startswith(EU_REPO) or t in PUBLICATION_TYPES | VERSIONS,
                all_of,
                _("only known {prefix} terms (spelled exactly)").format(prefix=EU_REPO),
            ),
        ),
        Rule(
            "openaire.access-rights",
            _("Access rights: exactly one info:eu-repo access term (dc:rights)"),
            f"{OPENAIRE}/field_accesslevel.rst#L12-L22",
            ERROR,
            _field_rule(
                "rights",
                ACCESS_RIGHTS.__contains__,
                Quantifier.ONE_ONLY,
                _("exactly one of {prefix}openAccess, embargoedAccess, restrictedAccess, "
                  "closedAccess").format(prefix=EU_REPO),
            ),
        ),
        Rule(
            "openaire.embargo-end",
            _("Embargoed access names the embargo's end date (dc:date)"),
            f"{OPENAIRE}/field_embargoenddate.rst#L12-L24",
            ERROR,
            _embargo_end,
        ),
        Rule(
            "openaire.publication-date",
            _("Publication date as YYYY, YYYY-MM or YYYY-MM-DD (dc:date)"),
            f"{OPENAIRE}/field_publicationdate.rst#L12-L30",
            ERROR,
            _field_rule(
                "date", _publication_date, one_or_more, _("a date YYYY, YYYY-MM or YYYY-MM-DD")
            ),
        ),
        Rule(
            "openaire.date-iso8601",
            _("Every date is ISO 8601 (W3CDTF) (dc:date)"),
            f"{OPENAIRE}/field_publicationdate.rst#L16-L30",
            WARNING,
            _field_rule("date", _iso_date, all_of, _("ISO 8601 dates only")),
        ),
        Rule(
            "openaire.identifier-url",
            _("A URL to the item's landing page (dc:identifier)"),
            f"{OPENAIRE}/field_resourceidentifier.rst#L12-L21; "
            f"{OPENAIRE}/field_resourceidentifier.rst#L46",
            ERROR,
            _field_rule(
                "identifier",
                lambda v: bool(_URL.fullmatch(v)),
                one_or_more,
                _("an http(s) URL"),
            ),
        ),
        Rule(
            "openaire.language",
            _("Languages as ISO 639-1, 639-2 or 639-3 codes (dc:language)"),
            f"{OPENAIRE}/field_language.rst#L13-L27; {ISO639_SOURCE}",
            WARNING,
            _field_rule(
                "language",
                iso639().knows,
                all_of,
                _("ISO 639 codes such as 'es', 'spa' or 'por'"),
            ),
        ),
        Rule(
            "lareferencia.language",
            _("Language as an ISO 639-3 code (dc:language, at least one)"),
            f"{LAREF_NODE}#L62-L74; {ISO639_SOURCE}",
            WARNING,
            _field_rule(
                "language",
                iso639().part3.__contains__,
                one_or_more,
                _("an ISO 639-3 code such as 'spa' or 'por'"),
            ),
        ),
        Rule(
            "openaire.project-id",
            _("Project identifiers as info:eu-repo/grantAgreement/Funder/Program/ID "
              "(dc:relation)"),
            "https://github.com/openaire/guidelines/blob/8c3fc3b4f6f743a08cd047f8b470080b23c22848/"
            "docs/common/projectid.rst#L3-L17",
            ERROR,
            _grant_agreements,
        ),
    ]


# feed rules: judged by validate.check_feed over the whole feed
FEED_OAI_DC = "oai.oai_dc"
FEED_OPENAIRE_SET = "openaire.set"
FEED_DRIVER_SET = "driver.set"


def feed_rules() -> list[Rule]:
    return [
        Rule(
            FEED_OAI_DC,
            _("The feed offers oai_dc and answers all six verbs"),
            f"{OAI_PMH}#MetadataNamespaces; {OAI_PMH}#ProtocolMessages",
            ERROR,
        ),
        Rule(
            FEED_OPENAIRE_SET,
            _("An OAI set with setSpec 'openaire'"),
            f"{OPENAIRE}/use_of_oai_pmh.rst#L13-L26",
            ERROR,
        ),
        Rule(
            FEED_DRIVER_SET,
            _("An OAI set with setSpec 'driver' (DRIVER Guidelines 2.0)"),
            f"{DSPACE_XOAI}:34-40,642-644",
            WARNING,
        ),
    ]
