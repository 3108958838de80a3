"""The credentials sheet of a workshop: per student the URL, the login and the password.

Two files in the lab directory (or `--out DIR`), both 0600, written atomically:
  credentials.csv    student,url,login,password (RFC 4180, UTF-8), for a mail merge
  credentials.html   one card per student, A4 print CSS (eight cards a page, cut lines), self
                     contained: inline CSS, no script, no font, no link outside the file

The HTML is rendered by Jinja2 with autoescaping (a login or URL cannot inject markup). The
passwords are only ever in these files: nothing here logs or prints them.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dspace_deploy.i18n import _, current, ngettext

if TYPE_CHECKING:
    from dspace_deploy.lab.workshop import Student

CSV_NAME = "credentials.csv"
HTML_NAME = "credentials.html"
CSV_HEADER = ("student", "url", "login", "password")


def rows(students: Sequence[Student], passwords: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"student": s.name, "url": s.url, "login": s.login,
             "password": passwords[s.name]} for s in students]


def render_csv(students: Sequence[Student], passwords: Mapping[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows(students, passwords))
    return buffer.getvalue()


def render_html(workshop: str, students: Sequence[Student], passwords: Mapping[str, str],
                generated: datetime | None = None) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("dspace_deploy.lab", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "workshop": workshop,
        "cards": rows(students, passwords),
        "generated": (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "lang": current() or "en",
    }
    return env.get_template("credentials.html.j2").render(context)


def write_sheet(directory: Path, workshop: str, students: Sequence[Student],
                passwords: Mapping[str, str]) -> dict[str, Path]:
    """Write both files (0600) into `directory`; return their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {
        "csv": _write_private(directory / CSV_NAME, render_csv(students, passwords)),
        "html": _write_private(directory / HTML_NAME,
                               render_html(workshop, students, passwords)),
    }
    return written


def _write_private(path: Path, text: str) -> Path:
    """Atomically, created 0600 (never readable by others, not even for a moment)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
