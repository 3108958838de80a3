"""The help texts of the command tree (`--help`) in the message language.

Click keeps no lazy text: the help of a command (its docstring or `help=`) and of each option
and argument is a plain English string once typer has built the command tree, before `--lang`
is read. So the sources do not mark these texts with `_()`: scripts/i18n takes them from the
built tree (`texts`), and `translate` looks each one up in the catalogue when the language is
known, for every command at once: in the root callback (which runs before any subcommand's
`--help`) and in the root's own help (printed while the root's arguments are parsed, before
that callback). English reads no catalogue, so `dspace-deploy --help` stays fast.
Typer's own words ("Usage:", "Options:", "Show this message and exit.") stay English
(docs/i18n.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# the attributes of a command and of a parameter that hold help text
COMMAND_TEXTS = ("help", "short_help", "epilog")
PARAMETER_TEXTS = ("help",)
_ENGLISH = "_dspace_deploy_english_"  # where an object keeps its English text
_LANGUAGE = "_dspace_deploy_help_language"  # the language the tree's texts are in


def texts(command: Any) -> Iterator[tuple[Any, str, str, Any]]:
    """(object, attribute, English text, command) for every help text of `command` and of the
    commands under it, in the order `--help` pages show them."""
    for attribute in COMMAND_TEXTS:
        yield from _text(command, attribute, command)
    for parameter in command.params:
        for attribute in PARAMETER_TEXTS:
            yield from _text(parameter, attribute, command)
    for sub in getattr(command, "commands", {}).values():
        yield from texts(sub)


def _text(owner: Any, attribute: str, command: Any) -> Iterator[tuple[Any, str, str, Any]]:
    english = owner.__dict__.get(_ENGLISH + attribute, getattr(owner, attribute, None))
    if isinstance(english, str) and english:
        yield owner, attribute, english, command


def translate(root: Any) -> None:
    """Put every help text of the tree under `root` in the current language (English: the
    texts as written)."""
    from dspace_deploy import i18n

    language = i18n.current()
    if getattr(root, _LANGUAGE, "en") == language:
        return
    for owner, attribute, english, _command in list(texts(root)):
        owner.__dict__.setdefault(_ENGLISH + attribute, english)
        setattr(owner, attribute, i18n._(english))
    setattr(root, _LANGUAGE, language)


def lang_argument(args: list[str]) -> str | None:
    """The value of the root's `--lang` in a command line, when given before the verb."""
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-"):
            return None  # the verb: options after it are the verb's
    return None
