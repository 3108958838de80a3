"""Measure backups: full backup throughput next to plain `tar | zstd` of the same data on the
same host, and the time of an incremental backup of an unchanged assetstore. Prints figures,
never asserts.

Targets (README, "Performance"): a full backup at least 0.8 times the throughput of
`tar | zstd`; an incremental backup of an unchanged 1 GB assetstore in at most 10 s.

Usage: .venv/bin/python benchmarks/backup.py [--gib 1.0] [--os debian13] [--keep-lab]
Creates a throw-away lab host (XDG dirs in a temp directory) with a full-stack look-alike
DSpace (tests/lookalike; no internet needed) and its default local backup target, fills the
instance's assetstore with GIB of files (random bytes, as PDFs and images do not compress;
sizes from 4 KiB to 64 MiB), then on the host:
  1. `tar -cf - assetstore | zstd -3 -T0` into /var/tmp (the baseline; the data is read once
     before, so both runs read from the page cache);
  2. `dspace-backup run repo --target local` (the full backup: database dump, Solr exports,
     restic of everything);
  3. the same again with nothing changed (the incremental backup).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.lookalike

FILL = r"""
import os, random, sys
total, store = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(7)
sizes = [4096, 65536, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
written, n = 0, 0
while written < total:
    size = min(rnd.choice(sizes), total - written)
    iid = str(rnd.randrange(10**37, 10**38))
    path = os.path.join(store, iid[0:2], iid[2:4], iid[4:6], iid)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(os.urandom(size))
    written += size
    n += 1
print(n)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dspace-bench-") as tmp:
        for kind in ("DATA", "STATE", "CONFIG"):
            os.environ[f"XDG_{kind}_HOME"] = f"{tmp}/{kind.lower()}"
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        _bench(args, Path(tmp))


def _exec(container: str, script: str) -> str:
    done = subprocess.run(["podman", "exec", container, "bash", "-ec", script],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed on the host: {script}\n{done.stdout}{done.stderr}")
    return done.stdout


def _timed(container: str, script: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = _exec(container, script)
    return time.perf_counter() - start, out


def _bench(args: argparse.Namespace, tmp: Path) -> None:
    from dspace_deploy import bundles, runner
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.inventory.vault import ensure_secrets
    from dspace_deploy.lab.labs import LINE_FOR_OS, create_lab, destroy_lab
    from tests.lookalike import build_release

    name = f"bbk{os.getpid() % 10000}"
    lab = create_lab(name, hosts=1, oses=[args.os], connection="ssh")
    try:
        ensure_secrets(lab.inventory, lab.vault_password_file)
        site = load_site(lab.inventory, lab.vault_password_file)
        line = LINE_FOR_OS[args.os]
        build_release(line, tmp / "artifacts" / f"{line}-dspace")
        extravars = bundles.bundle_vars(bundles.resolve_bundles(site, str(tmp / "artifacts")))
        result = runner.run(runner.Job("up", "site.yml", site, extravars=extravars))
        if not result.summary.ok:
            why = "; ".join(f"{f.host}: {f.task}: {f.message}" for f in result.summary.failures)
            raise SystemExit(f"up failed ({why}); artifacts in {result.artifact_dir}")
        box = lab.hosts[0].container
        store = "/srv/dspace/repo/assetstore"
        total = int(args.gib * (1 << 30))
        files = _exec(box, f"python3 - {total} {store} <<'EOF'\n{FILL}\nEOF\n"
                      f"chown -R dspace:dspace {store}").strip()
        size = int(_exec(box, f"du -sb {store} | cut -f1").split()[0])
        cores = _exec(box, "nproc").strip()
        versions = _exec(box, "restic version | head -1; zstd --version | head -1")
        print(f"host: {args.os}, {cores} cores; {versions.strip()}")
        print(f"assetstore: {size / 1e9:.2f} GB in {files} files (random bytes)")
        # Into the page cache (GNU tar skips reading when it writes to /dev/null itself).
        _exec(box, "tar -cf - -C /srv/dspace/repo assetstore | cat > /dev/null")
        tar_s, _ = _timed(box, "tar -cf - -C /srv/dspace/repo assetstore | zstd -3 -T0 -q "
                          "-o /var/tmp/bench.tar.zst -f")
        zst = int(_exec(box, "stat -c %s /var/tmp/bench.tar.zst").strip())
        _exec(box, "rm -f /var/tmp/bench.tar.zst")
        full_s, out = _timed(box, "dspace-backup run repo --target local --json")
        full = json.loads(out)
        incr_s, out = _timed(box, "dspace-backup run repo --target local --json")
        incr = json.loads(out)
        tar_rate, full_rate = size / tar_s / 1e6, size / full_s / 1e6
        print(f"tar | zstd -3 -T0:        {tar_s:6.1f} s  {tar_rate:6.1f} MB/s  "
              f"(archive {zst / 1e9:.2f} GB)")
        print(f"full backup (dspace-backup): {full_s:6.1f} s  {full_rate:6.1f} MB/s  "
              f"(added {full['targets'][0].get('added_bytes', 0) / 1e9:.2f} GB)")
        print(f"throughput ratio full backup / tar|zstd: {full_rate / tar_rate:.2f} "
              "(target >= 0.8)")
        # The rest of a full backup is a fixed cost: the database dump, the Solr exports
        # (a JVM each), restic opening the repository and applying the retention policy.
        restic_s = float(full["targets"][0].get("seconds") or 0)
        if restic_s:
            print(f"  of which `restic backup`: {restic_s:.1f} s  {size / restic_s / 1e6:6.1f} "
                  f"MB/s (ratio {tar_s / restic_s:.2f} to tar|zstd); the rest "
                  f"({full_s - restic_s:.1f} s) is dump, exports and repository upkeep")
        print(f"incremental backup, assetstore unchanged: {incr_s:.1f} s (target <= 10 s; "
              f"added {incr['targets'][0].get('added_bytes', 0) / 1e6:.1f} MB)")
    finally:
        if args.keep_lab:
            print(f"lab kept: {name}")
        else:
            destroy_lab(name)


if __name__ == "__main__":
    main()
