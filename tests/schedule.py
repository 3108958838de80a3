"""Longest module first: the order in which `./scripts/test` hands test modules to its workers.

`pytest -n 2 --dist loadfile` runs a whole module on one worker, so a run lasts at least as
long as its longest module, and a long module started last leaves the other worker idle
for its whole length. xdist's own order is by number of tests (hundreds of fast unit tests
first, the lab modules with a dozen slow tests last). This scheduler gives a free worker the
module with the largest expected wall time instead (LPT, longest processing time first),
which brings a run close to its lower bound: max(longest module, total / workers).

Expected times come from `tests/durations.json` (seconds per module, measured on CI);
a module not listed there is estimated: under tests/integration/ (podman lab hosts: a
converge alone takes minutes) as UNKNOWN_LAB_SECONDS, elsewhere by its number of tests.
Refresh the table from a run's JUnit XML:

    ./scripts/test --junitxml=run.xml
    .venv/bin/python -m tests.schedule run.xml      # rewrites tests/durations.json
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DURATIONS = Path(__file__).with_name("durations.json")
# A new lab module (a converge of its hosts, then its tests): start it among the first.
UNKNOWN_LAB_SECONDS = 900.0
LAB_DIRECTORY = "tests/integration/"
# A unit or look-alike test not yet measured.
UNKNOWN_TEST_SECONDS = 0.2


def load_durations(path: Path = DURATIONS) -> dict[str, float]:
    """Seconds per module path (relative to the repository root); {} without the file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(module): float(seconds) for module, seconds in data.get("modules", {}).items()}


def module_of(nodeid: str) -> str:
    """`tests/x/test_y.py::test_z[a::b]` -> `tests/x/test_y.py`."""
    return nodeid.split("::", 1)[0]


def estimate(scope: str, tests: int, durations: Mapping[str, float]) -> float:
    """Expected wall time of one work unit (a module under --dist loadfile)."""
    module = module_of(scope)
    if module in durations:
        return durations[module]
    if module.startswith(LAB_DIRECTORY):
        return UNKNOWN_LAB_SECONDS
    return tests * UNKNOWN_TEST_SECONDS


def longest_first(units: Mapping[str, int], durations: Mapping[str, float]) -> list[str]:
    """Work units (scope -> number of tests) in the order they should start."""
    return sorted(units, key=lambda scope: -estimate(scope, units[scope], durations))


def durations_from_junit(path: Path) -> dict[str, float]:
    """Seconds per module from a JUnit XML report (each testcase's time is its setup, call
    and teardown, so module fixtures are counted in the module)."""
    totals: dict[str, float] = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        module = case.get("file") or _file_of_classname(case.get("classname") or "")
        if not module:
            continue
        totals[module] = totals.get(module, 0.0) + float(case.get("time") or 0)
    return totals


def _file_of_classname(classname: str) -> str:
    """`tests.integration.test_proxy` (pytest's junit classname) -> its file's path."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if Path(candidate).is_file():
            return candidate
    return ""


def write_durations(totals: Mapping[str, float], path: Path = DURATIONS) -> None:
    document: dict[str, Any] = {
        "about": "Expected seconds per test module, longest first; written by "
        "`python -m tests.schedule RUN.xml` (tests/schedule.py) from a CI run.",
        "modules": {
            module: round(seconds, 1)
            for module, seconds in sorted(totals.items(), key=lambda item: -item[1])
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def make_scheduler(config: Any, log: Any, durations_file: Path = DURATIONS) -> Any:
    """A LoadFileScheduling that hands out the longest remaining module first."""
    from xdist.scheduler import LoadFileScheduling

    durations = load_durations(durations_file)

    class LongestFirstScheduling(LoadFileScheduling):  # type: ignore[misc]
        def _assign_work_unit(self, node: Any) -> None:
            units = {scope: len(tests) for scope, tests in self.workqueue.items()}
            self.workqueue.move_to_end(longest_first(units, durations)[0], last=False)
            super()._assign_work_unit(node)

    return LongestFirstScheduling(config, log)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.schedule RUN.xml", file=sys.stderr)
        return 2
    totals = durations_from_junit(Path(argv[0]))
    if not totals:
        print(f"{argv[0]}: no test cases with a file", file=sys.stderr)
        return 1
    write_durations(totals)
    print(f"{DURATIONS}: {len(totals)} modules, {sum(totals.values()):.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
