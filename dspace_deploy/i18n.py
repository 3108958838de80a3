"""Translations of the CLI's messages and of the network report (GNU gettext).

One catalogue (domain `dspace-deploy`) under `dspace_deploy/locale/<lang>/LC_MESSAGES/`.
English is the source language; Spanish and Portuguese are translated. The language is
chosen by `--lang`, else `DSPACE_DEPLOY_LANG`, else the usual gettext environment
(`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`); an unknown language falls back to English.

Code marks text with `_("...")` (and `ngettext` for plurals) and formats *after* the
lookup: `_("{count} hosts").format(count=n)`, never an f-string inside `_()`.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "dspace-deploy"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "es", "pt")

_catalogue: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def use(language: str | None = None) -> str:
    """Switch the catalogue to `language` (or the environment's choice); return the code used."""
    global _catalogue, _language
    _language = pick(language)
    _catalogue = gettext.translation(DOMAIN, LOCALE_DIR, languages=[_language], fallback=True)
    return _language


def pick(language: str | None = None) -> str:
    """The supported language code for an explicit choice or the environment ("es_PE.UTF-8"
    -> "es"); English when none of the candidates is supported."""
    candidates = [language] if language else []
    candidates.append(os.environ.get("DSPACE_DEPLOY_LANG", ""))
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        candidates.extend(os.environ.get(variable, "").split(":"))
    for candidate in candidates:
        code = candidate.split(".")[0].split("@")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def current() -> str:
    return _language


def _(message: str) -> str:
    return _catalogue.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _catalogue.ngettext(singular, plural, count)
