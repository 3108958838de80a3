"""Which DSpace lines are still supported, as of a date, with the source of each fact.

The DSpace Software Support Policy (adopted by the DSpace Committers in July 2013,
https://wiki.lyrasis.org/x/is0QAg, read 2026-12-05): "We support the last three (3) major
versions"; a line reaches its end of life when the third major release after it comes out
(8.x ends when 11.0 is released). The release dates are those of the tags in DSpace/DSpace
(`git log -1 --format=%cs dspace-N.0`). DSpace-CRIS follows the DSpace line it is built on
(dspace_deploy.lines.CRIS).

Update SUPPORT_AS_OF and the table when a major release comes out; `support_of()` says a
line is unknown rather than guessing for lines newer than the table.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPORT_AS_OF = "2026-12-05"
SUPPORT_SOURCE = "DSpace Software Support Policy, https://wiki.lyrasis.org/x/is0QAg"


@dataclass(frozen=True)
class LineSupport:
    line: str
    released: str  # date of the dspace-<line>.0 tag
    ended: str | None  # end of support (the release of the third major after it), or None


SUPPORT: dict[str, LineSupport] = {
    # 6.x: end of life announced at the DSpace Developers Meeting of 2023-07-06
    # (https://wiki.lyrasis.org/display/DSPACE/2023-07-06+DSpace+Developers+Meeting).
    "6": LineSupport("6", "2016-10-24", "2023-07-06"),
    "7": LineSupport("7", "2021-07-29", "2026-05-28"),  # 10.0 released: 8, 9, 10 remain
    "8": LineSupport("8", "2024-06-21", None),  # until 11.0
    "9": LineSupport("9", "2025-05-23", None),
    "10": LineSupport("10", "2026-05-28", None),
}


def support_of(line: str) -> LineSupport | None:
    """The support facts of a major line ("9"), None when the table does not know it."""
    return SUPPORT.get(line)


def line_of(version: str) -> str:
    """The major line of a dspaceVersion ("DSpace 9.3" -> "9", "8.2" -> "8"); "" if none."""
    text = version.strip()
    if text.lower().startswith("dspace"):
        text = text[len("dspace"):].strip()
    major = text.split(".", 1)[0]
    return major if major.isdigit() else ""
