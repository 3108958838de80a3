"""Check an OAI-PMH feed against the network's rules (`rules.py`): the six verbs, the `driver`
and `openaire` sets, and a sample of oai_dc records, each with its failures.

The score is LA Referencia's notion of a good record (lareferencia-core-lib ValidatorImpl: a
record is valid when every mandatory rule holds) as a share of the sample: 100 x valid records /
sampled records, where the mandatory rules are those of severity "error". Warnings are reported
but do not lower the score. A feed with no record to sample scores 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from dspace_deploy.i18n import _
from dspace_deploy.oai.harvest import Harvester, HarvestError, OaiError, Record
from dspace_deploy.oai.rules import (
    ERROR,
    FEED_DRIVER_SET,
    FEED_OAI_DC,
    FEED_OPENAIRE_SET,
    Rule,
    feed_rules,
    record_rules,
)

OK = "ok"
PREFIX = "oai_dc"
NETWORK_SETS = {"driver": FEED_DRIVER_SET, "openaire": FEED_OPENAIRE_SET}


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str
    source: str
    severity: str  # "error" (mandatory) or "warning" (recommended)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RuleFailure:
    rule_id: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RecordResult:
    identifier: str
    failures: list[RuleFailure] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "failures": [f.as_dict() for f in self.failures]}


@dataclass
class FeedReport:
    base_url: str
    verbs: dict[str, str]  # verb -> "ok" or what went wrong
    sets_present: dict[str, bool]  # "driver", "openaire" -> offered
    records: list[RecordResult]
    score: float  # 0..100
    rules: list[RuleInfo]

    def as_dict(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "verbs": dict(self.verbs),
            "sets_present": dict(self.sets_present),
            "records": [r.as_dict() for r in self.records],
            "score": self.score,
            "rules": [r.as_dict() for r in self.rules],
        }


def rule_catalogue() -> list[RuleInfo]:
    """Every rule (feed rules first), translated: for a report's legend without a harvest."""
    return [RuleInfo(r.id, r.title, r.source, r.severity) for r in feed_rules() + record_rules()]


def check_record(record: Record, rules: list[Rule] | None = None) -> RecordResult:
    """One record's failures against the record rules (all of them by default)."""
    fields = record.fields
    failures = []
    for rule in rules if rules is not None else record_rules():
        message = rule.check(fields) if rule.check else None
        if message is not None:
            failures.append(RuleFailure(rule.id, message))
    return RecordResult(record.header.identifier, failures)


def check_feed(harvester: Harvester, *, sample: int = 20) -> FeedReport:
    """Harvest the feed's first `sample` oai_dc records (deleted ones skipped) and check them;
    try every verb; look for the network's sets."""
    record_set = record_rules()
    verbs: dict[str, str] = {}
    _try(verbs, "Identify", harvester.identify)
    formats = _try(verbs, "ListMetadataFormats", harvester.list_metadata_formats)
    if formats is not None and PREFIX not in {f.prefix for f in formats}:
        verbs["ListMetadataFormats"] = _("{prefix} is not offered").format(prefix=PREFIX)
    sets = _try(verbs, "ListSets", harvester.list_sets)
    _try(verbs, "ListIdentifiers", lambda: harvester.list_identifiers(PREFIX, limit=sample))
    records = _try(verbs, "ListRecords", lambda: harvester.list_records(PREFIX, limit=sample)) or []
    if records:
        first = records[0].header.identifier
        _try(verbs, "GetRecord", lambda: harvester.get_record(first, PREFIX))
    else:
        verbs["GetRecord"] = _("not tried: the feed listed no record")
    offered = {s.spec for s in sets or []}
    sets_present = {
        name: name in offered or _in_dspace_context(harvester, name) for name in NETWORK_SETS
    }
    results = [check_record(r, record_set) for r in records if not r.header.deleted]
    mandatory = {r.id for r in record_set if r.severity == ERROR}
    valid = sum(1 for r in results if not any(f.rule_id in mandatory for f in r.failures))
    score = round(100.0 * valid / len(results), 1) if results else 0.0
    return FeedReport(
        base_url=harvester.base_url,
        verbs=verbs,
        sets_present=sets_present,
        records=results,
        score=score,
        rules=rule_catalogue(),
    )


def feed_failures(report: FeedReport) -> list[RuleFailure]:
    """The feed rules that do not hold, as failures (for a report's summary)."""
    out = []
    broken = {verb: state for verb, state in report.verbs.items() if state != OK}
    if broken:
        detail = "; ".join(f"{verb}: {state}" for verb, state in broken.items())
        out.append(RuleFailure(FEED_OAI_DC, detail))
    for name, rule_id in NETWORK_SETS.items():
        if not report.sets_present.get(name):
            out.append(RuleFailure(rule_id, _("no set '{name}'").format(name=name)))
    return out


def _try(verbs: dict[str, str], verb: str, call: Callable[[], Any]) -> Any:
    try:
        result = call()
    except (OaiError, HarvestError) as e:
        verbs[verb] = str(e)
        return None
    verbs[verb] = OK
    return result


def _in_dspace_context(harvester: Harvester, name: str) -> bool:
    """DSpace serves the `driver` and `openaire` sets in contexts of their own (`<oai.url>/driver`,
    `<oai.url>/openaire`: DSpace/DSpace@dspace-9.3:dspace/config/crosswalks/oai/xoai.xml:34-40,
    59-65), not in `request`: for a `.../request` base URL, ask the sibling context too."""
    base = harvester.base_url.rstrip("/")
    if not base.endswith("/request"):
        return False
    sibling = Harvester(base[: -len("request")] + name, fetch=harvester.fetch)
    try:
        return name in {s.spec for s in sibling.list_sets()}
    except (OaiError, HarvestError):
        return False
