"""Write look-alike artifact bundles (TEST LOOK-ALIKES, not DSpace) for trying the toolkit
without internet: `python -m tests.lookalike OUT_DIR [RELEASE ...] [failure points]`.

RELEASE is a line (`9`: its newest release), a release of a line (`9.2`), or a line's
DSpace-CRIS release (`9-cris` or `2025.02.01-cris`). Each is written to
OUT_DIR/<line>-<flavor>-<release>/ (9-dspace-9.3/, 9-cris-2025.02.01/), the layout
`dspace-deploy build` writes and `dspace-deploy up --artifacts OUT_DIR` reads, so one
OUT_DIR holds an upgrade's two releases. Default: every line (8, 9, 10).

Failure points for upgrade tests (docs/lookalike.md, "Failure points"), applied to every
bundle written by the call:
  --fail-migration[=VERSION]   the newest migration the release adds fails (or VERSION's)
  --slow-migration SECONDS     that migration (or the newest) first sleeps SECONDS
  --backend-failure KIND       health-down | no-listen
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dspace_deploy.bundles import release_key
from dspace_deploy.lines import CRIS, LINES
from tests.lookalike import LookalikeError, build_release


def _target(key: str) -> tuple[str, str | None, str, str]:
    """(line, version, flavor, directory name) of a RELEASE argument."""
    name, _, flavor = key.partition("-")
    flavor = flavor or "dspace"
    if flavor == "cris":
        for line, facts in CRIS.items():
            if name in (line, facts.release):
                return line, None, flavor, release_key(line, flavor, facts.release)
        raise ValueError(f"no DSpace-CRIS release {name}; known: "
                         + ", ".join(f"{ln}-cris ({f.release})" for ln, f in CRIS.items()))
    if name in LINES:
        return name, None, flavor, release_key(name, flavor, LINES[name].newest)
    line = name.split(".")[0]
    if line not in LINES:
        raise ValueError(f"unknown line or release {name}; lines: {', '.join(LINES)}")
    return line, name, flavor, release_key(line, flavor, name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lookalike", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("releases", nargs="*", default=["8", "9", "10"])
    parser.add_argument("--fail-migration", nargs="?", const=True, default=False)
    parser.add_argument("--slow-migration", type=float, default=0)
    parser.add_argument("--backend-failure", choices=("health-down", "no-listen"))
    args = parser.parse_args(argv)
    for key in args.releases:
        try:
            line, version, flavor, name = _target(key)
            release = build_release(line, args.out / name, version=version, flavor=flavor,
                                    fail_migration=args.fail_migration,
                                    slow_migration=args.slow_migration,
                                    backend_failure=args.backend_failure)
        except (LookalikeError, KeyError, ValueError) as exc:
            print(f"cannot build the look-alike bundle {key}: {exc}", file=sys.stderr)
            return 1
        failures = f", failure points {release.failure_points}" if release.failure_points else ""
        print(f"{args.out / name}: look-alike DSpace {release.dspace_version} "
              f"({flavor} {release.release}), UI {release.ui_version}, "
              f"Solr {release.solr_version}{failures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
