"""The cloud-init user data of a cloud VM: put the separate data volume at /srv.

Decision (docs/cloud.md, "The data volume"): cloud-init mounts it, not a role, so that the
roles stay the same on a plain host (where /srv is whatever the administrator made it). The
script runs as a `bootcmd`, in cloud-init's init stage on every boot, before sshd starts and
so before Ansible can connect:

* the volume is found by its filesystem label, or (first boot) as the one whole disk that is
  not the root disk, has no partition and no filesystem, and has exactly the requested size
  (EBS volumes appear as /dev/nvme1n1 on Nitro instances and /dev/xvdf on Xen ones, so the
  device name given to EC2 cannot be relied on; the size tells it from instance-store disks);
  only such an empty disk is ever formatted (ext4, label `dspace-data`);
* /etc/fstab mounts it by label at /srv (`nofail`: a missing volume does not stop the boot);
* PostgreSQL's and Solr's data directories (/var/lib/postgresql, /var/solr) are bind mounts
  of /srv/postgresql and /srv/solr, so that the database and the index live on the volume
  too, in the places the Debian packages and the roles expect them.
"""

from __future__ import annotations

import shlex

DATA_LABEL = "dspace-data"
# Directories of the root filesystem that are bind mounts of directories on the data volume.
BIND_MOUNTS = (("/srv/postgresql", "/var/lib/postgresql"), ("/srv/solr", "/var/solr"))

_SCRIPT = """\
set -eu
label={label}
want_bytes={size_bytes}
if ! findmnt -rn /srv >/dev/null 2>&1; then
  device=$(blkid -L "$label" 2>/dev/null || true)
  if [ -z "$device" ]; then
    root_disk=$(lsblk -rno PKNAME "$(findmnt -rno SOURCE /)" | head -n 1)
    for disk in $(lsblk -drnpo NAME,TYPE | awk '$2 == "disk" {{print $1}}'); do
      [ "${{disk##*/}}" = "$root_disk" ] && continue
      [ "$(lsblk -bdrno SIZE "$disk")" = "$want_bytes" ] || continue
      [ "$(lsblk -rno NAME "$disk" | wc -l)" -eq 1 ] || continue  # has partitions
      [ -z "$(blkid -o value -s TYPE "$disk" 2>/dev/null || true)" ] || continue
      mkfs.ext4 -q -L "$label" "$disk"
      device=$disk
      break
    done
  fi
  if [ -z "$device" ]; then
    echo "dspace-deploy: no data volume of $want_bytes bytes for /srv" >&2
    exit 1
  fi
  grep -q "^LABEL=$label " /etc/fstab ||
    echo "LABEL=$label /srv ext4 defaults,nofail 0 2" >> /etc/fstab
  mkdir -p /srv
  mount /srv
fi
{binds}
"""

_BIND = """\
mkdir -p {source} {target}
grep -q "^{source} {target} " /etc/fstab ||
  echo "{source} {target} none bind,nofail,x-systemd.requires-mounts-for=/srv 0 0" >> /etc/fstab
findmnt -rn {target} >/dev/null 2>&1 || mount {target}
"""


def mount_script(data_volume_gb: int) -> str:
    """The shell script (POSIX sh) that mounts the data volume and the bind mounts."""
    binds = "".join(_BIND.format(source=shlex.quote(source), target=shlex.quote(target))
                    for source, target in BIND_MOUNTS)
    return _SCRIPT.format(label=shlex.quote(DATA_LABEL),
                          size_bytes=data_volume_gb * 1024 ** 3, binds=binds.rstrip("\n"))


def user_data(data_volume_gb: int) -> str:
    """The #cloud-config document given to each instance."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def literal(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
        style = "|" if "\n" in text else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Dumper.add_representer(str, literal)
    document = {"bootcmd": [mount_script(data_volume_gb)]}
    return "#cloud-config\n" + yaml.dump(document, Dumper=Dumper, default_flow_style=False,
                                          width=1000)
