"""Settings and hooks of the whole test-suite.

Tests assert on English messages: the suite pins the language (DSPACE_DEPLOY_LANG wins
over the locale, in this process and in every `dspace-deploy` it starts), and puts English
back after each test, since a CLI run with `--lang` switches the process's catalogue.
tests/unit/test_i18n.py clears the variable where it tests the locale itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ["DSPACE_DEPLOY_LANG"] = "en"


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    from dspace_deploy import i18n

    i18n.use("en")
    yield
    i18n.use("en")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` hands out the longest module first (tests/schedule.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.schedule import make_scheduler

    return make_scheduler(config, log)
