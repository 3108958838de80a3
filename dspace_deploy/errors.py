"""Errors that reach the user as one clear paragraph and a documented exit code.

Every problem a user can cause or fix raises a subclass of `DeployError`. The CLI prints
`str(error)` (never a traceback) and exits with `error.exit_code`.
"""

from __future__ import annotations

from dspace_deploy.i18n import ngettext

# Documented exit codes (README, "Exit codes").
EXIT_OK = 0
EXIT_HOSTS_FAILED = 1  # a play failed on a host, a host was unreachable, or a check failed
EXIT_BAD_INPUT = 2  # inventory, flags or artifacts are wrong; nothing was touched
EXIT_ENVIRONMENT = 3  # the controller lacks something (podman, a vault password file, ...)
EXIT_INTERNAL = 4  # a bug in dspace-deploy; rerun with DSPACE_DEPLOY_DEBUG=1 for details
EXIT_REFUSED = 5  # upgrade/rollback refused by the path or a precheck; nothing was changed
EXIT_INTERRUPTED = 130


class DeployError(Exception):
    """Base class: a problem explained to the user, with an exit code."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        # After a list of problems the hint starts a line of its own, so that it never runs
        # into the last item ("...expected 7418 Copy or rebuild").
        separator = "\n" if "\n" in self.message else " "
        return f"{self.message}{separator}{self.hint}"


class InputError(DeployError):
    """Bad input (inventory, flags, files). Raised before any host is contacted."""

    exit_code = EXIT_BAD_INPUT


class ValidationFailed(InputError):
    """Several problems found in one pass; each is reported, all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        body = "\n".join(f"  - {p}" for p in problems)
        head = ngettext("The inventory has {count} problem; no host was contacted.",
                        "The inventory has {count} problems; no host was contacted.", count)
        super().__init__(f"{head.format(count=count)}\n{body}")


class EnvironmentProblem(DeployError):
    """The controller is missing a tool, a file or a permission."""

    exit_code = EXIT_ENVIRONMENT


class Problem:
    """One finding of validation: where, what is wrong, and how to fix it."""

    __slots__ = ("fix", "key", "location", "what")

    def __init__(self, location: str, key: str, what: str, fix: str) -> None:
        self.location = location  # file path (and host, when the problem is per host)
        self.key = key  # dotted key path, e.g. dspace_instances[0].line
        self.what = what
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.location}: {self.key}: {self.what}. {self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "key": self.key, "what": self.what, "fix": self.fix}
