"""Write look-alike artifact bundles (TEST LOOK-ALIKES, not DSpace) for trying the toolkit
without internet: `python -m tests.lookalike OUT_DIR [8 9 10 9-cris ...]`.

Each argument is a line, optionally `-cris`; the bundles go to OUT_DIR/<line>-<flavor>/, the
layout `dspace-deploy up --artifacts OUT_DIR` reads. Default: every line (8, 9, 10).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.lookalike import LookalikeError, build_release


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    out = Path(argv[0])
    for key in argv[1:] or ["8", "9", "10"]:
        line, _, flavor = key.partition("-")
        flavor = flavor or "dspace"
        try:
            release = build_release(line, out / f"{line}-{flavor}", flavor=flavor)
        except (LookalikeError, KeyError, ValueError) as exc:
            print(f"cannot build the look-alike bundle {key}: {exc}", file=sys.stderr)
            return 1
        print(f"{out / f'{line}-{flavor}'}: look-alike DSpace {release.dspace_version} "
              f"({flavor}), UI {release.ui_version}, Solr {release.solr_version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
