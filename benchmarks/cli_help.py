"""Print how long `dspace-deploy --help` takes (target: at most 0.3 s). Prints, never asserts.

Usage: .venv/bin/python benchmarks/cli_help.py [RUNS]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    exe = shutil.which("dspace-deploy", path=str(Path(sys.executable).parent)) or "dspace-deploy"
    for command in ([exe, "--help"], [exe, "lab", "--help"], [exe, "up", "--help"]):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        label = " ".join(["dspace-deploy", *command[1:]])
        print(f"{label:32} median {statistics.median(times):.3f} s  "
              f"min {min(times):.3f} s  max {max(times):.3f} s  ({runs} runs; target <= 0.300 s)")


if __name__ == "__main__":
    main()
