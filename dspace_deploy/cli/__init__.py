"""The `dspace-deploy` command line.

Each verb lives in a small function that parses flags, builds a Job or calls the core, and
renders the result. Heavy imports (ansible, ansible-runner, rich) happen inside the verbs,
never at module level, so `dspace-deploy --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from dspace_deploy import __version__
from dspace_deploy.cli import (
    backup_cmds,
    build_cmd,
    cloud_cmds,
    collection_cmd,
    handle_cmds,
    lab_cmds,
    report_cmd,
    run_cmds,
    site_cmds,
    status_cmd,
    upgrade_cmds,
)


class _RootGroup(typer.core.TyperGroup):
    """The root command; keeps the whole command line in ctx.meta, since click hands the
    root callback none of the subcommand's arguments (`--json` among them)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        ctx.meta["dspace_deploy.argv"] = list(args)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        """The help texts in the message language. The root's help is printed while its
        arguments are parsed, before the callback reads --lang: take it from the command
        line here."""
        from dspace_deploy import i18n
        from dspace_deploy.cli import help_text

        lang = help_text.lang_argument(ctx.meta.get("dspace_deploy.argv", []))
        if lang is not None and i18n.normalize(lang):
            i18n.use(lang)
        help_text.translate(self)
        super().format_help(ctx, formatter)


app = typer.Typer(
    name="dspace-deploy",
    cls=_RootGroup,
    help="Deploy and operate DSpace and DSpace-CRIS repositories with Ansible.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rendering it with rich costs ~0.15 s of imports, half the --help budget.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dspace-deploy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    lang: str | None = typer.Option(
        None, "--lang", metavar="en|es|pt", show_default=False,
        help="Language of the messages: en, es or pt (default: $DSPACE_DEPLOY_LANG, else the "
        "locale: LANGUAGE, LC_ALL, LC_MESSAGES, LANG). --json documents stay English unless "
        "--lang is given.",
    ),
) -> None:
    """Deploy and operate DSpace and DSpace-CRIS repositories with Ansible."""
    choose_language(lang, ctx.meta.get("dspace_deploy.argv", []))
    from dspace_deploy.cli import help_text

    help_text.translate(ctx.command)  # before any verb's --help is printed


def choose_language(lang: str | None, args: list[str]) -> str:
    """Switch the message catalogue: --lang, else English for --json (a machine-readable
    document does not change with the host's locale), else the environment."""
    from dspace_deploy import i18n
    from dspace_deploy.cli import output

    if lang is not None:
        if i18n.normalize(lang) is None:
            from dspace_deploy.errors import InputError

            raise InputError(i18n._("--lang {lang}: not a language dspace-deploy speaks.")
                             .format(lang=lang),
                             hint=i18n._("Give en (English), es (Spanish) or pt (Portuguese)."))
        return i18n.use(lang)
    return i18n.use("en" if output.json_requested(args) else None)


site_cmds.register(app)
run_cmds.register(app)
upgrade_cmds.register(app)
status_cmd.register(app)
report_cmd.register(app)
backup_cmds.register(app)
build_cmd.register(app)
collection_cmd.register(app)
handle_cmds.register(app)
lab_cmds.register(app)
cloud_cmds.register(app)


def main() -> None:
    """Entry point: run the app; turn known errors into one paragraph and an exit code.
    With --json, every exit prints exactly one JSON document on stdout."""
    from dspace_deploy.cli import output
    from dspace_deploy.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, DeployError
    from dspace_deploy.i18n import _

    output.reset()
    as_json = output.json_requested(sys.argv[1:])
    choose_language(None, sys.argv[1:])  # until the root callback reads --lang
    try:
        # With standalone_mode=False, typer returns a verb's Exit code instead of raising.
        code = app(standalone_mode=False)
    except DeployError as error:
        _print_error(str(error))
        _fail(as_json, error.exit_code, str(error), _problems(error))
    except KeyboardInterrupt:
        _print_error(_("Interrupted."))
        _fail(as_json, EXIT_INTERRUPTED, _("Interrupted."))
    except typer.Exit as done:
        code = done.exit_code
    except typer.Abort:
        _print_error(_("Aborted."))
        _fail(as_json, EXIT_INTERRUPTED, _("Aborted."))
    except _usage_errors() as usage:
        # Flag and argument mistakes: click's own message and usage line, exit 2.
        usage.show()  # type: ignore[attr-defined]
        _fail(as_json, EXIT_BAD_INPUT, usage.format_message(),  # type: ignore[attr-defined]
              usage=_usage_line(usage))
    except Exception as bug:  # pragma: no cover - the last line of defence
        if os.environ.get("DSPACE_DEPLOY_DEBUG"):
            raise
        message = _("Internal error ({error}). This is a bug in dspace-deploy; rerun with "
                    "DSPACE_DEPLOY_DEBUG=1 to see the traceback and report it.").format(
                        error=f"{type(bug).__name__}: {bug}")
        _print_error(message)
        _fail(as_json, EXIT_INTERNAL, message)
    code = code if isinstance(code, int) else 0
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C inside a verb into exit code 130
        _print_error(_("Interrupted."))
        _fail(as_json, code, _("Interrupted."))
    if code != 0:
        _fail(as_json, code, _("dspace-deploy stopped with exit code {code}.").format(code=code))
    sys.exit(code)


def _fail(as_json: bool, code: int, error: str, problems: list[dict[str, str]] | None = None,
          usage: str | None = None) -> None:
    """Exit with `code`; with --json, print the error document unless the verb printed its
    own."""
    from dspace_deploy.cli import output

    if as_json and not output.emitted():
        document: dict[str, object] = {"ok": False, "exit_code": code, "error": error}
        if problems is not None:
            document["problems"] = problems
        if usage:
            document["usage"] = usage
        output.emit(document)
    sys.exit(code)


def _problems(error: Exception) -> list[dict[str, str]] | None:
    from dspace_deploy.errors import ValidationFailed

    if isinstance(error, ValidationFailed):
        return [p.as_dict() for p in error.problems]
    return None


def _usage_line(usage: Exception) -> str:
    ctx = getattr(usage, "ctx", None)
    if ctx is None:
        return ""
    return str(ctx.get_usage()).removeprefix("Usage:").strip()


def _usage_errors() -> tuple[type[Exception], ...]:
    # Typer vendors click; accept the vendored and the upstream exception classes.
    from typer._click.exceptions import ClickException as Vendored

    try:
        from click.exceptions import ClickException as Upstream
    except ImportError:  # pragma: no cover
        return (Vendored,)
    return (Vendored, Upstream)


def _print_error(text: str) -> None:
    from dspace_deploy.i18n import _

    sys.stderr.write(_("error: {message}").format(message=text) + "\n")
