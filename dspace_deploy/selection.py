"""Which hosts of a site a verb acts on: the --limit of every verb, checked before any run.

Ansible takes an empty --limit for "no limit" (an unset shell variable then runs against
every host) and a pattern that matches nothing for a warning and a run that does nothing.
Both stop here instead, with exit 2, before any host is contacted.
"""

from __future__ import annotations

from dspace_deploy.errors import InputError
from dspace_deploy.i18n import _
from dspace_deploy.site import Site


def checked_limit(site: Site, limit: str | None) -> str | None:
    """`limit` unchanged when it selects at least one host of the site; InputError when it
    is empty or matches none."""
    select_hosts(site, limit)
    return limit


def select_hosts(site: Site, limit: str | None) -> list[str]:
    """Hosts of the site matching an Ansible-style limit (names, groups, globs, commas,
    `!` and `&`, `~regex`), by Ansible's own inventory code."""
    if limit is None:
        return list(site.hosts)
    if not limit.strip():
        raise InputError(
            _("--limit is empty, which would run against every host of site {site} (an "
              "unset shell variable?).").format(site=site.name),
            hint=_("Give a host or group name or pattern, or leave --limit out to mean every "
                   "host."))
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    manager = InventoryManager(loader=DataLoader(), sources=[str(site.path)])
    wanted = {h.name for h in manager.list_hosts(limit)}
    hosts = [h for h in site.hosts if h in wanted]
    if not hosts:
        raise InputError(
            _("--limit {limit} matches no host of site {site}.").format(limit=repr(limit),
                                                                       site=site.name),
            hint=_("Hosts are: {hosts}.").format(hosts=", ".join(site.hosts)),
        )
    return hosts
