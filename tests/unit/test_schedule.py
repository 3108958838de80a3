"""The longest-first module order of `./scripts/test` (tests/schedule.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.schedule import durations_from_junit, estimate, longest_first, module_of

ROOT = Path(__file__).resolve().parents[2]
TABLE = {"tests/integration/test_backup.py": 1800.0, "tests/integration/test_site.py": 300.0,
         "tests/unit/test_lint.py": 30.0}


def test_a_module_of_nodeid_keeps_only_the_file() -> None:
    assert module_of("tests/unit/test_x.py::test_y[a::b]") == "tests/unit/test_x.py"
    assert module_of("tests/unit/test_x.py") == "tests/unit/test_x.py"


def test_measured_modules_go_by_their_time_new_lab_modules_early_unit_modules_last() -> None:
    units = {"tests/unit/test_bad_input.py": 400, "tests/integration/test_site.py": 12,
             "tests/integration/test_fleet.py": 5, "tests/unit/test_lint.py": 3,
             "tests/integration/test_backup.py": 20, "tests/unit/test_small.py": 2}
    assert longest_first(units, TABLE) == [
        "tests/integration/test_backup.py",  # 1800 s measured
        "tests/integration/test_fleet.py",  # not measured yet: a lab module, 900 s
        "tests/integration/test_site.py",  # 300 s measured
        "tests/unit/test_bad_input.py",  # 400 tests x 0.2 s
        "tests/unit/test_lint.py",  # 30 s measured
        "tests/unit/test_small.py",
    ]
    assert estimate("tests/unit/test_small.py", 2, TABLE) < 1


def test_durations_from_junit_sum_setup_call_and_teardown_per_module(tmp_path: Path) -> None:
    report = tmp_path / "run.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.integration.test_proxy" name="test_a" time="300.5"/>'
        '<testcase classname="tests.integration.test_proxy" name="test_b" time="2.5"/>'
        '<testcase classname="tests.unit.test_schedule" name="test_c" time="0.1"/>'
        '<testcase classname="tests.nowhere" name="test_d" time="9"/>'
        "</testsuite></testsuites>")
    import os

    old = Path.cwd()
    os.chdir(ROOT)
    try:
        totals = durations_from_junit(report)
    finally:
        os.chdir(old)
    assert totals == {"tests/integration/test_proxy.py": 303.0,
                      "tests/unit/test_schedule.py": 0.1}


def test_xdist_starts_the_longest_module_first(tmp_path: Path) -> None:
    """A real `pytest -n 1 --dist loadfile` run through the hook: the one worker runs the
    modules in the order the scheduler hands them out."""
    order = tmp_path / "order.txt"
    table = tmp_path / "durations.json"
    table.write_text(json.dumps({"modules": {"test_long.py": 500, "test_mid.py": 50}}))
    (tmp_path / "conftest.py").write_text(
        "import pytest\n"
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from pathlib import Path\n"
        "@pytest.hookimpl(optionalhook=True)\n"
        "def pytest_xdist_make_scheduler(config, log):\n"
        "    from tests.schedule import make_scheduler\n"
        f"    return make_scheduler(config, log, Path({str(table)!r}))\n")
    # Many quick tests would come first in xdist's own order (by number of tests).
    (tmp_path / "test_many.py").write_text(
        "import pytest\n@pytest.mark.parametrize('n', range(30))\n"
        f"def test_many(n):\n    open({str(order)!r}, 'a').write('many\\n')\n")
    for name in ("mid", "long"):
        (tmp_path / f"test_{name}.py").write_text(
            f"def test_{name}():\n    open({str(order)!r}, 'a').write('{name}\\n')\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "1", "--dist", "loadfile",
         "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = list(dict.fromkeys(order.read_text().split()))
    assert ran == ["long", "mid", "many"], done.stdout
