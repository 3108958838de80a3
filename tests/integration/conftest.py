"""Lab hosts for the integration tests, through the same code as `dspace-deploy lab up`.

Fixtures:
  lab_factory   session-scoped; `lab_factory(name, hosts=1, oses=("debian13",),
                connection="ssh", preload=False) -> Lab`. The lab is called `t-<name>-<suffix>`
                (suffix random per test session / xdist worker, so parallel and CI runs do
                not collide); asking twice for the same name and shape in one session returns
                the same lab. Every lab made is removed at the end of the session, also when
                tests fail or are interrupted. `preload=True` starts Debian 13 hosts from
                the lab image with the roles' packages already installed (PRELOAD): for
                modules whose tests are not about installing packages; the package
                installs stay under test wherever a plain image is used (test_stack,
                test_site, test_postgresql, the drill's and rebuilt hosts, a fresh `up`).
                A lab of many alike hosts can converge one and clone it
                (tests/integration/clones.py); its image goes with the lab.

For the whole session XDG_DATA_HOME, XDG_STATE_HOME and XDG_CONFIG_HOME point into a
temporary directory (tests never see or touch the user's labs, runs or vault passwords);
XDG_CACHE_HOME stays, so the lab base images built once are reused across runs.

Tests that need lab hosts carry `@pytest.mark.lab` (or `pytestmark = pytest.mark.lab`);
they are skipped, with the reason, on controllers without (rootful) podman.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from dspace_deploy.lab.labs import Lab

LabFactory = Callable[..., Lab]
_MAX_NAME = 12  # "t-" + name + "-" + 6 hex characters fits the 21 characters of a lab name


def preload_packages() -> dict[str, list[str]]:
    """The Debian packages the roles install on a Debian 13 host for a DSpace 9/10 instance:
    what a preloaded image holds (images.stack_packages, also behind `lab up --preload`)."""
    from dspace_deploy.lab import images

    return {"debian13": images.stack_packages("debian13")}


def _why_no_lab_hosts() -> str | None:
    if shutil.which("podman") is None:
        return (
            "lab hosts need podman, which is not installed "
            "(sudo apt-get install -y podman runc debootstrap)"
        )
    if os.geteuid() != 0:
        return "lab hosts need rootful podman and debootstrap: run the lab tests as root"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _why_no_lab_hosts()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """User data, state and configuration of this session live in a temporary directory."""
    root = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as patch:
        for variable in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            path = root / variable.split("_")[1].lower()
            path.mkdir()
            patch.setenv(variable, str(path))
        # ansible-runner starts ansible-playbook from PATH; put this interpreter's first.
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        yield root


@pytest.fixture(scope="session")
def lab_factory(_isolated_user_dirs: Path) -> Iterator[LabFactory]:
    from dspace_deploy.errors import InputError
    from dspace_deploy.lab.labs import create_lab, destroy_lab
    from tests.integration.clones import remove_clone_image

    reason = _why_no_lab_hosts()
    suffix = secrets.token_hex(3)
    made: list[str] = []  # names, recorded before creation: removed even if it fails

    def make(
        name: str,
        hosts: int = 1,
        oses: Sequence[str] = ("debian13",),
        connection: str = "ssh",
        preload: bool = False,
    ) -> Lab:
        if reason is not None:
            pytest.skip(reason)
        lab_name = f"t-{name[:_MAX_NAME].rstrip('-')}-{suffix}"
        if lab_name not in made:
            made.append(lab_name)
        return create_lab(
            lab_name,
            hosts=hosts,
            oses=list(oses),
            connection=connection,
            progress=lambda message: sys.stderr.write(f"[lab {lab_name}] {message}\n"),
            preload=preload_packages() if preload else None,
        )

    yield make

    problems = []
    for lab_name in made:
        try:
            destroy_lab(lab_name)
        except InputError:
            pass  # already gone: a test ran `lab down`, or its creation failed and cleaned up
        except Exception as error:
            problems.append(f"{lab_name}: {error}")
        remove_clone_image(lab_name)  # the image of hosts cloned in it (clones.py), if any
    if problems:
        pytest.fail("could not remove test labs: " + "; ".join(problems))


@pytest.fixture(scope="module")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run artifacts of one test module in a directory of its own, so a module can search
    everything its runs kept (e.g. for leaked secrets)."""
    path = tmp_path_factory.mktemp("state")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old
