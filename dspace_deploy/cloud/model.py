"""What `cloud up | list | down` plan, find and report: plain dataclasses, no boto3."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dspace_deploy.cloud.prices import CostEstimate
from dspace_deploy.errors import EXIT_HOSTS_FAILED, DeployError

# Tags on everything the toolkit creates. `cloud down` deletes only what carries MANAGED_TAG
# = "true" and SITE_TAG = the site; CREATION_TAG names the `cloud up` run that made it (a
# failed run removes what carries its own creation id); HOST_TAG is the inventory host name.
MANAGED_TAG = "dspace-deploy:managed"
SITE_TAG = "dspace-deploy:site"
CREATION_TAG = "dspace-deploy:creation-id"
HOST_TAG = "dspace-deploy:host"


class CloudFailure(DeployError):
    """AWS refused or failed an operation after the input was checked (quota, capacity,
    throttling beyond the retries, a dependency); the message says what is left."""

    exit_code = EXIT_HOSTS_FAILED


@dataclass
class CloudHost:
    """One VM as the inventory needs it."""

    name: str  # inventory host name (also the instance's Name tag)
    instance_id: str
    public_address: str | None
    private_address: str | None
    user: str = "admin"  # the Debian images' login user

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IngressRule:
    protocol: str  # "tcp" or "udp"
    port: int
    cidr: str  # IPv4 or IPv6 network
    why: str = ""

    def key(self) -> tuple[str, int, str]:
        return (self.protocol, self.port, self.cidr)


@dataclass
class Resource:
    """One AWS resource found by its tags."""

    kind: str  # "instance", "volume", "security-group", "key-pair"
    id: str
    name: str = ""
    state: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def creation_id(self) -> str:
        return self.tags.get(CREATION_TAG, "")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "state": self.state,
                "creation_id": self.creation_id, **self.detail}


@dataclass
class CloudInventory:
    """Everything tagged for one site in one region."""

    site: str
    region: str
    instances: list[Resource] = field(default_factory=list)
    volumes: list[Resource] = field(default_factory=list)
    security_groups: list[Resource] = field(default_factory=list)
    key_pairs: list[Resource] = field(default_factory=list)

    def all(self) -> list[Resource]:
        return [*self.instances, *self.volumes, *self.security_groups, *self.key_pairs]

    def __bool__(self) -> bool:
        return bool(self.all())

    def as_dict(self) -> dict[str, Any]:
        return {"site": self.site, "region": self.region,
                "resources": [resource.as_dict() for resource in self.all()]}


@dataclass
class PlannedHost:
    name: str
    action: str  # "create", "keep" (running), "start" (stopped)
    instance_id: str | None = None


@dataclass
class CloudPlan:
    """What `apply` will do, computed by `plan` without writing anything."""

    site: str
    region: str
    account: str
    size: str
    architecture: str  # "amd64" or "arm64" (Debian's names)
    debian: str  # "12" or "13"
    image_id: str
    image_name: str
    image_created: str
    vpc_id: str
    subnet_id: str
    availability_zone: str
    admin_cidr: str
    data_volume_gb: int
    root_volume_gb: int
    root_device: str
    key_name: str
    key_path: Path
    key_action: str  # "exists" (already in AWS), "import" (local public key), "generate"
    known_hosts: Path
    security_group_name: str
    security_group_id: str | None  # None: to be created
    ingress: list[IngressRule]
    hosts: list[PlannedHost]
    cost: CostEstimate
    existing: CloudInventory
    extra_instances: list[Resource] = field(default_factory=list)  # tagged, not wanted now

    @property
    def creates_anything(self) -> bool:
        return (self.key_action != "exists" or self.security_group_id is None
                or any(host.action == "create" for host in self.hosts))

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "region": self.region,
            "account": self.account,
            "size": self.size,
            "architecture": self.architecture,
            "image": {"id": self.image_id, "name": self.image_name,
                      "created": self.image_created, "debian": self.debian},
            "vpc_id": self.vpc_id,
            "subnet_id": self.subnet_id,
            "availability_zone": self.availability_zone,
            "admin_cidr": self.admin_cidr,
            "data_volume_gb": self.data_volume_gb,
            "root_volume_gb": self.root_volume_gb,
            "key_pair": {"name": self.key_name, "action": self.key_action,
                         "private_key": str(self.key_path)},
            "security_group": {"name": self.security_group_name,
                               "id": self.security_group_id,
                               "ingress": [asdict(rule) for rule in self.ingress]},
            "hosts": [asdict(host) for host in self.hosts],
            "extra_instances": [r.as_dict() for r in self.extra_instances],
            "creates_anything": self.creates_anything,
            "cost": self.cost.as_dict(),
        }


@dataclass
class DestroyReport:
    site: str
    region: str
    deleted: list[Resource] = field(default_factory=list)
    refused: list[tuple[Resource, str]] = field(default_factory=list)  # left alone, and why
    failed: list[tuple[Resource, str]] = field(default_factory=list)  # could not delete

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "region": self.region,
            "deleted": [r.as_dict() for r in self.deleted],
            "refused": [{**r.as_dict(), "reason": why} for r, why in self.refused],
            "failed": [{**r.as_dict(), "error": why} for r, why in self.failed],
        }
