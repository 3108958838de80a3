"""Facts about each supported DSpace line (from shared/dspace-release-contract.md).

This table is the one place that knows which Java, Solr, Node and Debian a line needs;
validation, scaffolding and the roles' defaults all derive from it.
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

# Debian release numbers the toolkit supports, by codename.
DEBIAN_RELEASES = {"bookworm": 12, "trixie": 13}
