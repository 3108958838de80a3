"""Translations of the CLI's messages and of the network report (GNU gettext).

One catalogue (domain `dspace-deploy`) under `dspace_deploy/locale/<lang>/LC_MESSAGES/`.
English is the source language; Spanish (Latin American) and Portuguese (Brazilian) are
translated. The language is chosen by `--lang`, else `DSPACE_DEPLOY_LANG`, else the usual
gettext environment (`LANGUAGE`, then the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is
set); an unknown language falls back to English. docs/i18n.md has the workflow.

Code marks text with `_("...")` (and `ngettext` for plurals) and formats *after* the
lookup: `_("{count} hosts").format(count=n)`, never an f-string inside `_()`. Mark text
where it is used (inside a function), not in module-level constants: those are evaluated
at import, before `--lang` is read.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "dspace-deploy"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "es", "pt")
ENV = "DSPACE_DEPLOY_LANG"

_language = "en"
_loaded: dict[str, gettext.NullTranslations] = {}


def use(language: str | None = None) -> str:
    """Switch the catalogue to `language` (or the environment's choice); return the code used."""
    global _language
    _language = pick(language)
    return _language


def _catalogue() -> gettext.NullTranslations:
    """The current language's catalogue, read on the first message (so `--help`, which
    translates nothing, reads no .mo) and once per process."""
    if _language not in _loaded:
        _loaded[_language] = gettext.translation(DOMAIN, LOCALE_DIR, languages=[_language],
                                                 fallback=True)
    return _loaded[_language]


def normalize(candidate: str) -> str | None:
    """The supported code for a language or locale name ("es_PE.UTF-8", "pt-BR" -> "es",
    "pt"), or None (unsupported, empty, or the "C"/"POSIX" locale)."""
    code = candidate.split(".")[0].split("@")[0].split("_")[0].split("-")[0].strip().lower()
    return code if code in LANGUAGES else None


def pick(language: str | None = None) -> str:
    """The supported language code for an explicit choice or the environment ("es_PE.UTF-8"
    -> "es"); English when none of the candidates is supported.

    The environment is read as GNU gettext reads it: `LANGUAGE` is a priority list, unless
    the locale (the first of LC_ALL, LC_MESSAGES, LANG that is set) is "C" or "POSIX", which
    means untranslated; otherwise that locale decides."""
    for explicit in (language, os.environ.get(ENV)):
        if explicit and normalize(explicit):
            return normalize(explicit) or "en"
    locale = next((os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG")
                   if os.environ.get(v)), "")
    if locale.split(".")[0] in ("C", "POSIX"):
        return "en"
    for candidate in [*os.environ.get("LANGUAGE", "").split(":"), locale]:
        code = normalize(candidate)
        if code:
            return code
    return "en"


def current() -> str:
    return _language


def _(message: str) -> str:
    return _catalogue().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _catalogue().ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """`message` in a context, for one English word with two translations (the recap's
    column "failed" counts tasks; the verdict "failed" describes a run)."""
    return _catalogue().pgettext(context, message)
