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
    cris_release: str | None  # DSpace-CRIS release built on this line, if any


LINES: dict[str, LineFacts] = {
    "8": LineFacts(
        line="8",
        newest="8.4",
        java_min=17,
        solr_major=8,
        solr_version="8.11.4",
        node_majors=(18, 20),
        ui_package_manager="yarn",
        cores=("authority", "oai", "qaevent", "search", "statistics", "suggestion"),
        pgcrypto=True,
        debian=(12, 13),
        cris_release="2024.02",
    ),
    "9": LineFacts(
        line="9",
        newest="9.3",
        java_min=17,
        solr_major=9,
        solr_version="9.8.1",
        node_majors=(20, 22, 24),
        ui_package_manager="npm",
        cores=("authority", "oai", "qaevent", "search", "statistics", "suggestion"),
        pgcrypto=False,
        debian=(13,),
        cris_release="2025.02",
    ),
    "10": LineFacts(
        line="10",
        newest="10.0",
        java_min=21,
        solr_major=9,
        solr_version="9.8.1",
        node_majors=(20, 22, 24),
        ui_package_manager="npm",
        cores=("audit", "authority", "oai", "qaevent", "search", "statistics", "suggestion"),
        pgcrypto=False,
        debian=(13,),
        cris_release=None,
    ),
}

SUPPORTED_LINES = tuple(LINES)

# Solr cores DSpace-CRIS adds to its DSpace line's cores (flavor cris). Source: the 2025.02
# compose file precreates authority, oai, search, statistics, qaevent, suggestion, dedup,
# audit (4Science/DSpace:docker-compose.yml@04bf9943); an older Solr 8.11 Dockerfile lists
# audit, authority, dedup, nbevent, oai, search, statistics, suggestion
# (4Science/DSpace:dspace/src/main/docker/dspace-solr/Dockerfile@073bf60f). The exact list at
# a dspace-cris-2024.02.xx tag was not found, so both CRIS lines get audit + dedup
# (docs/lookalike.md, "DSpace-CRIS"). The ocr configset of the Solr 9 image is not a core.
CRIS_EXTRA_CORES: tuple[str, ...] = ("audit", "dedup")


def line_cores(line: str, flavor: str = "dspace") -> tuple[str, ...]:
    """Solr cores (unprefixed, sorted) an instance of `line` and `flavor` needs."""
    cores = set(LINES[line].cores)
    if flavor == "cris":
        cores.update(CRIS_EXTRA_CORES)
    return tuple(sorted(cores))


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
