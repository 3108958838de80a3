"""The `dspace-deploy` command line.

Each verb lives in a small function that parses flags, builds a Job or calls the core, and
renders the result. Heavy imports (ansible, ansible-runner, rich) happen inside the verbs,
never at module level, so `dspace-deploy --help` stays fast.
"""

from __future__ import annotations

import os
import sys

import typer

from dspace_deploy import __version__
from dspace_deploy.cli import (
    backup_cmds,
    build_cmd,
    handle_cmds,
    lab_cmds,
    run_cmds,
    site_cmds,
    status_cmd,
)

app = typer.Typer(
    name="dspace-deploy",
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
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Deploy and operate DSpace and DSpace-CRIS repositories with Ansible."""


site_cmds.register(app)
run_cmds.register(app)
status_cmd.register(app)
backup_cmds.register(app)
build_cmd.register(app)
handle_cmds.register(app)
lab_cmds.register(app)


def main() -> None:
    """Entry point: run the app; turn known errors into one paragraph and an exit code."""
    from dspace_deploy.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, DeployError

    try:
        # With standalone_mode=False, typer returns a verb's Exit code instead of raising.
        code = app(standalone_mode=False)
    except DeployError as error:
        _print_error(str(error))
        if "--json" in sys.argv[1:]:
            _print_json_error(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _print_error("Interrupted.")
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        _print_error("Aborted.")
        sys.exit(EXIT_INTERRUPTED)
    except _usage_errors() as usage:
        # Flag and argument mistakes: click's own message and usage line, exit 2.
        usage.show()  # type: ignore[attr-defined]
        sys.exit(2)
    except Exception as bug:  # pragma: no cover - the last line of defence
        if os.environ.get("DSPACE_DEPLOY_DEBUG"):
            raise
        _print_error(
            f"Internal error ({type(bug).__name__}: {bug}). This is a bug in dspace-deploy; "
            "rerun with DSPACE_DEPLOY_DEBUG=1 to see the traceback and report it."
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_errors() -> tuple[type[Exception], ...]:
    # Typer vendors click; accept the vendored and the upstream exception classes.
    from typer._click.exceptions import ClickException as Vendored

    try:
        from click.exceptions import ClickException as Upstream
    except ImportError:  # pragma: no cover
        return (Vendored,)
    return (Vendored, Upstream)


def _print_error(text: str) -> None:
    sys.stderr.write(f"error: {text}\n")


def _print_json_error(error: Exception) -> None:
    """With --json, stdout still carries exactly one JSON document, also on failure."""
    import json

    from dspace_deploy.errors import DeployError, ValidationFailed

    document: dict[str, object] = {"ok": False, "error": str(error)}
    if isinstance(error, DeployError):
        document["exit_code"] = error.exit_code
    if isinstance(error, ValidationFailed):
        document["problems"] = [p.as_dict() for p in error.problems]
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
