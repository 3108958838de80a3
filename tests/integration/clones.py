"""Lab hosts cloned from one converged host, for lab tests of many alike hosts (the fleet).

Converging N hosts costs N converges on CI's two cores; a fleet test needs N hosts at the old
release, not N converges. So one host (the template) is converged, stopped and committed
(`podman commit`), and the lab's other hosts are started again from that image by the lab's
own code (create_lab recreates a missing host). The clones share the site and its vault
secrets (one lab); what is tied to a host's name or address is repaired by the `up` the test
runs next, which is itself under test here (a host restored from an image, or whose address
or instance names changed):

  instance host names (repo.<host>.lab.test)   local.cfg, the UI's config, nginx's server
                                               names: new inputs, so their roles converge
  TLS certificates                             self-signed for the site's name: reissued when
                                               the name no longer matches (proxy/selfsigned.yml)
  the handle server's address                  config.dct's bind addresses and siteinfo.json's
                                               address: set up again when not this host's
                                               (handle_server/tasks/deploy.yml)
  SSH host keys, machine id                    removed before the commit: each clone makes its
                                               own at boot; the lab records them (known_hosts)
  addresses in the inventory                   written by create_lab

The template restarts after the commit and may get a new address too (podman's bridge gives
a restarted container any free one): the repairing `up` covers it as well. Seen on the first
run: the template's and the clones' handle servers failed with "java.net.BindException:
Cannot assign requested address" until the handle_server role set them up again.

The committed image is `localhost/dspace-deploy-lab-clone:<lab>`; lab_factory removes it
with the lab.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

CLONE_REPOSITORY = "localhost/dspace-deploy-lab-clone"
# Run in the template before it stops: what must not be the same on two hosts.
UNIQUE = "rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && : > /etc/machine-id"


def clone_tag(lab_name: str) -> str:
    return f"{CLONE_REPOSITORY}:{lab_name}"


def clone_template(make: Any, lab: Any, name: str, template: Any, **shape: Any) -> float:
    """Replace every host of `lab` but `template` by a copy of `template` (which must be
    converged and running), through `make` (lab_factory) called as the lab was made
    (`name`, `shape`). `lab.hosts` is updated in place; returns the seconds it took."""
    from dspace_deploy.lab import images

    started = time.monotonic()
    tag = clone_tag(lab.name)
    _podman("exec", template.container, "sh", "-c", UNIQUE)
    _podman("stop", "--time", "60", template.container)
    _podman("commit", "--quiet", template.container, tag)
    others = [host.container for host in lab.hosts if host.name != template.name]
    _podman("rm", "--force", "--time", "5", *others)
    with pytest.MonkeyPatch.context() as patch:
        # The lab recreates a missing host from its OS's image: for these hosts, the clone.
        patch.setattr(images, "ensure_preloaded_image", lambda *_args, **_kwargs: tag)
        fresh = make(name, **shape)
    lab.hosts[:] = fresh.hosts
    seconds = time.monotonic() - started
    sys.stderr.write(f"[clones] {len(others)} host(s) cloned from {template.name} "
                     f"in {seconds:.0f} s\n")
    return seconds


def remove_clone_image(lab_name: str) -> None:
    subprocess.run(["podman", "image", "rm", "--ignore", clone_tag(lab_name)],
                   capture_output=True, check=False)


def _podman(*args: str) -> None:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr}"
