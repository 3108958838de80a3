"""Facts about each supported DSpace line (from shared/dspace-release-contract.md).

This table is the one place that knows which Java, Solr, Node and Debian a line needs;
validation, scaffolding, the instance plan (playbooks/filter_plugins/dspace_plan.py) and the
roles' defaults all derive from it.

Keep this module free of imports beyond the standard library: the instance-plan filter
plugin loads it by file path when Ansible runs without the dspace_deploy package installed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineFacts:
    line: str
    newest: str  # newest release of the line (default version)
    # Releases of the line dspace-deploy deploys and upgrades between, oldest first (the last
    # is `newest`); facts of each jump in shared/dspace-upgrade-fleet-cloud-facts.md section 1.
    releases: tuple[str, ...]
    java_min: int  # lowest Java major that builds and runs it (newer majors run it too)
    solr_major: int
    solr_version: str  # default Solr release
    node_majors: tuple[int, ...]  # Node majors the UI supports
    ui_package_manager: str  # yarn or npm
    cores: tuple[str, ...]
    pgcrypto: bool  # PostgreSQL pgcrypto extension required
    # Debian releases whose own packages provide a Java and a Node.js the line accepts
    # (Debian 12: OpenJDK 17, Node 18; Debian 13: OpenJDK 21, Node 20).
    debian: tuple[int, ...]


LINES: dict[str, LineFacts] = {
    "8": LineFacts(
        line="8",
        newest="8.4",
        releases=("8.3", "8.4"),
        java_min=17,
        solr_major=8,
        solr_version="8.11.4",
        node_majors=(18, 20),
        ui_package_manager="yarn",
        cores=("authority", "oai", "qaevent", "search", "statistics", "suggestion"),
        pgcrypto=True,
        debian=(12, 13),
    ),
    "9": LineFacts(
        line="9",
        newest="9.3",
        releases=("9.2", "9.3"),
        java_min=17,
        solr_major=9,
        solr_version="9.8.1",
        node_majors=(20, 22, 24),
        ui_package_manager="npm",
        cores=("authority", "oai", "qaevent", "search", "statistics", "suggestion"),
        pgcrypto=False,
        debian=(13,),
    ),
    "10": LineFacts(
        line="10",
        newest="10.0",
        releases=("10.0",),
        java_min=21,
        solr_major=9,
        solr_version="9.8.1",
        node_majors=(20, 22, 24),
        ui_package_manager="npm",
        cores=("audit", "authority", "oai", "qaevent", "search", "statistics", "suggestion"),
        pgcrypto=False,
        debian=(13,),
    ),
}

SUPPORTED_LINES = tuple(LINES)

@dataclass(frozen=True)
class CrisFacts:
    """The DSpace-CRIS release built on a line (4Science/DSpace, tag dspace-cris-<release>).
    Sources, at the tag, in docs/cris.md."""

    release: str  # the release the toolkit builds and deploys (tag dspace-cris-<release>)
    dspace_version: str  # what its REST root reports as dspaceVersion, after "DSpace "
    java_min: int  # <java.version> of its pom.xml, used as the compiler's <release>
    extra_cores: tuple[str, ...]  # cores an instance creates besides the line's cores
    configsets: tuple[str, ...]  # core configurations shipped in dspace/solr (installer solr/)
    ocr_plugin: str  # the jar in dspace/solr/ocr/lib


# The DSpace-CRIS release of each line that has one. Cores: the CRIS code configures and
# health-checks audit and dedup besides DSpace's cores (ActuatorConfiguration.java:93-119,
# audit.cfg, deduplication.cfg) and its compose file precreates exactly those eight; ocr is
# used only by IIIF search (iiif.cfg:13), which is off (iiif.cfg:4), so it is shipped but not
# created (docs/cris.md, "Solr cores").
CRIS: dict[str, CrisFacts] = {
    "8": CrisFacts(
        release="2024.02.04",
        dspace_version="8.2",  # CrisConstants.java:24
        java_min=17,  # pom.xml:21
        extra_cores=("audit", "dedup"),
        configsets=("audit", "authority", "dedup", "oai", "ocr", "qaevent", "search",
                    "statistics", "suggestion"),
        ocr_plugin="solr-ocrhighlighting-0.7.2.jar",
    ),
    "9": CrisFacts(
        release="2025.02.01",
        dspace_version="9.2",  # CrisConstants.java:24 (2025.02.01 is aligned with 9.3 code)
        java_min=21,  # pom.xml:19 and :181 (2025.02.00 was 17)
        extra_cores=("audit", "dedup"),
        configsets=("audit", "authority", "dedup", "oai", "ocr", "qaevent", "search",
                    "statistics", "suggestion"),
        ocr_plugin="solr-ocrhighlighting-0.9.2.jar",
    ),
}


def line_cores(line: str, flavor: str = "dspace") -> tuple[str, ...]:
    """Solr cores (unprefixed, sorted) an instance of `line` and `flavor` needs."""
    cores = set(LINES[line].cores)
    if flavor == "cris":
        cores.update(CRIS[line].extra_cores)
    return tuple(sorted(cores))


def java_min(line: str, flavor: str = "dspace") -> int:
    """The lowest Java major that runs `line` in `flavor` (DSpace-CRIS may need more)."""
    if flavor == "cris" and line in CRIS:
        return max(LINES[line].java_min, CRIS[line].java_min)
    return LINES[line].java_min


def release_name(line: str, flavor: str = "dspace") -> str:
    """How messages name a line: "DSpace 9" or "DSpace-CRIS 2025.02"."""
    if flavor == "cris" and line in CRIS:
        return f"DSpace-CRIS {CRIS[line].release.rsplit('.', 1)[0]}"
    return f"DSpace {line}"


# Ports of an instance with port slot k (docs/stack.md, "The instance plan"). Each instance of
# a host gets its own slot; the plan, the validation rules and the roles all use this one
# formula. Slots 0..99 are accepted. Two slots can still collide (handle_http of slot 80 is
# the backend port of slot 0, 90 that of slot 1): validation compares the actual ports.
PORT_SLOT_MAX = 99


def instance_ports(slot: int) -> dict[str, int]:
    """The TCP ports of the instance in port slot `slot` (backend, ui, handle, handle_http)."""
    return {
        "backend": 8080 + 10 * slot,
        "ui": 4000 + 10 * slot,
        "handle": 2641 + slot,
        "handle_http": 8000 + slot,
    }


# Debian release numbers the toolkit supports, by codename.
DEBIAN_RELEASES = {"bookworm": 12, "trixie": 13}

# Java and Node.js majors Debian's own packages provide (default-jre-headless, nodejs), by
# Debian release: what a host gets without any other package source (see LineFacts.debian).
DEBIAN_RUNTIMES: dict[int, dict[str, int]] = {
    12: {"java": 17, "node": 18},
    13: {"java": 21, "node": 20},
}
