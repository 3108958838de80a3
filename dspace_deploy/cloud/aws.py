"""AWS VMs for a site, through boto3: plan, apply, list and destroy, all by tag.

Interface (shared with `lab up --cloud aws`, see docs/cloud.md):

    plan(site, *, count, size, region, subnet=None, admin_cidr, data_volume_gb, key_path)
        -> CloudPlan                      reads only; nothing is created
    apply(plan, progress=None) -> list[CloudHost]
                                          creates what the plan lacks; a second run creates
                                          nothing (resources are found by their tags)
    list_resources(site, region) -> CloudInventory
    destroy(site, region, progress=None) -> DestroyReport
                                          instances (until terminated), then the volumes
                                          left, the security group, the key pair; only what
                                          carries this site's dspace-deploy tags

Credentials come from boto3's default chain only (environment, profiles, SSO, instance
role); nothing here reads, stores or prints them. Requests use botocore's `adaptive` retry
mode (throttling is retried with back-off), and every instance launch carries a client token,
so a retried launch never starts a second VM. Errors are DeployErrors: one paragraph each,
with what to do. boto3 is imported inside the functions (`dspace-deploy --help` stays fast).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.cloud import prices, userdata
from dspace_deploy.cloud.model import (
    CREATION_TAG,
    HOST_TAG,
    MANAGED_TAG,
    SITE_TAG,
    CloudFailure,
    CloudHost,
    CloudInventory,
    CloudPlan,
    DestroyReport,
    IngressRule,
    PlannedHost,
    Resource,
)
from dspace_deploy.errors import DeployError, EnvironmentProblem, InputError
from dspace_deploy.i18n import _, ngettext

Progress = Callable[[str], None]
ReadyCheck = Callable[[CloudHost, CloudPlan], None]

# The Debian cloud team's AWS account and image names (debian-13-amd64-20251117-2300).
DEBIAN_OWNER = "136693071363"
DEBIAN_RELEASES = ("12", "13")
DEFAULT_DEBIAN = "13"
DEFAULT_SIZE = "t3.large"  # 2 vCPU, 8 GiB: the smallest that runs DSpace (docs/cloud.md)
DEFAULT_DATA_GB = 50
ROOT_VOLUME_GB = 20  # OS, packages, Java, Node, logs; the data lives on the data volume
DATA_DEVICE = "/dev/sdf"  # the name EC2 is given; the host finds the volume by size/label
LOGIN_USER = "admin"
MAX_COUNT = 50
SITE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
SIZE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# The public ports (docs/cloud.md, "Ports"): web, and the Handle server (2641 TCP and UDP,
# its HTTP interface on 8000; dspace/bin/make-handle-config@dspace-9.3 defaults).
PUBLIC_PORTS = (("tcp", 80, "HTTP"), ("tcp", 443, "HTTPS"), ("tcp", 2641, "Handle"),
                ("udp", 2641, "Handle"), ("tcp", 8000, "Handle HTTP"))
PUBLIC_NETWORKS = ("0.0.0.0/0", "::/0")
SSH_TIMEOUT = 600.0  # a fresh VM boots, runs cloud-init and starts sshd well within this
RUNNING_TIMEOUT = 600
_LIVE_STATES = ("pending", "running", "stopping", "stopped")


# --- clients --------------------------------------------------------------------------------


@dataclass
class Clients:
    """The boto3 clients of one region (tests pass their own, e.g. with a botocore Stubber)."""

    region: str
    ec2: Any
    sts: Any


def clients_for(region: str | None) -> Clients:
    """EC2 and STS clients from boto3's default credential chain, with adaptive retries."""
    import boto3
    from botocore.config import Config

    # botocore reads AWS_DEFAULT_REGION; the AWS CLI v2 and most SDKs also AWS_REGION.
    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    if not session.region_name:
        raise InputError(
            _("No AWS region is set for dspace-deploy cloud."),
            hint=_("Give --region (e.g. --region sa-east-1), or set AWS_DEFAULT_REGION, or a "
                   "region in the AWS profile in use (`aws configure set region sa-east-1`)."))
    if session.get_credentials() is None:
        raise EnvironmentProblem(
            _("No AWS credentials found: boto3 looked in the environment "
              "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), the shared files ~/.aws/credentials "
              "and ~/.aws/config (profile {profile}), SSO and the instance role."
              ).format(profile=session.profile_name or "default"),
            hint=_("Configure a profile (`aws configure` or `aws configure sso`) and select it "
                   "with AWS_PROFILE; dspace-deploy never stores credentials itself."))
    config = Config(retries={"mode": "adaptive", "max_attempts": 10},
                    user_agent_extra="dspace-deploy")
    return Clients(region=session.region_name, ec2=session.client("ec2", config=config),
                   sts=session.client("sts", config=config))


def call(what: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """One AWS request; botocore's errors become DeployErrors saying what failed."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    try:
        return method(**kwargs)
    except ClientError as error:
        raise explain(what, error) from None
    except NoCredentialsError:
        raise EnvironmentProblem(
            _("No AWS credentials found while {what}.").format(what=what),
            hint=_("Configure a profile (`aws configure`) and select it with AWS_PROFILE."),
        ) from None
    except EndpointConnectionError as error:
        raise EnvironmentProblem(
            _("Cannot reach AWS while {what}: {error}.").format(what=what, error=error),
            hint=_("Check the network and proxy settings (HTTPS_PROXY) of this controller, "
                   "and the region's name."),
        ) from None
    except BotoCoreError as error:
        raise CloudFailure(_("AWS request failed while {what}: {error}.").format(
            what=what, error=error)) from None


_CREDENTIAL_CODES = {"AuthFailure", "UnauthorizedOperation", "InvalidClientTokenId",
                     "SignatureDoesNotMatch", "ExpiredToken", "RequestExpired",
                     "UnrecognizedClientException", "AccessDenied", "OptInRequired"}
_THROTTLE_CODES = {"RequestLimitExceeded", "Throttling", "ThrottlingException"}
_QUOTA_CODES = {"InstanceLimitExceeded", "VcpuLimitExceeded", "InsufficientInstanceCapacity",
                "VolumeLimitExceeded", "MaxIOPSLimitExceeded", "SecurityGroupLimitExceeded",
                "RulesPerSecurityGroupLimitExceeded", "AddressLimitExceeded"}


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def explain(what: str, error: Exception) -> DeployError:
    """A ClientError as one paragraph with the fix."""
    code = error_code(error)
    message = str((getattr(error, "response", None) or {}).get("Error", {}).get("Message", ""))
    detail = f"{code}: {message}" if message else code
    if code in _CREDENTIAL_CODES:
        return EnvironmentProblem(
            _("AWS refused the request while {what} ({detail}).").format(what=what,
                                                                        detail=detail),
            hint=_("The credentials boto3 found lack a permission or have expired: check "
                   "`aws sts get-caller-identity`, the profile (AWS_PROFILE) and its IAM "
                   "policy (docs/cloud.md lists the EC2 actions needed)."))
    if code in _THROTTLE_CODES:
        return CloudFailure(
            _("AWS throttled the requests while {what} ({detail}), even after retrying with "
              "back-off.").format(what=what, detail=detail),
            hint=_("Wait a few minutes and run the command again; it continues where it "
                   "stopped."))
    if code in _QUOTA_CODES:
        return CloudFailure(
            _("AWS refused {what} for lack of quota or capacity ({detail}).").format(
                what=what, detail=detail),
            hint=_("Ask for a higher EC2 quota (Service Quotas console), or choose a smaller "
                   "--size, a lower --count or another --region."))
    if code.startswith("InvalidSubnet"):
        return InputError(
            _("AWS does not know the subnet while {what} ({detail}).").format(what=what,
                                                                             detail=detail),
            hint=_("Give a subnet id of this region (`aws ec2 describe-subnets`), or no "
                   "--subnet to use the default VPC."))
    return CloudFailure(_("AWS refused {what} ({detail}).").format(what=what, detail=detail))


def paginate(client: Any, operation: str, key: str, what: str, **kwargs: Any) -> list[Any]:
    """Every item of a paginated describe call."""
    paginator = client.get_paginator(operation)

    def collect() -> list[Any]:
        return [item for page in paginator.paginate(**kwargs) for item in page.get(key, [])]

    result: list[Any] = call(what, collect)
    return result


# --- names, tags, rules (pure) ----------------------------------------------------------------


def resource_name(site: str) -> str:
    """Name of the site's security group and key pair."""
    return f"dspace-deploy-{site}"


def host_names(site: str, count: int) -> list[str]:
    return [f"{site}-{index}" for index in range(1, count + 1)]


def site_tags(site: str, creation_id: str) -> dict[str, str]:
    return {MANAGED_TAG: "true", SITE_TAG: site, CREATION_TAG: creation_id}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(items: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in items or []}


def site_filters(site: str) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{MANAGED_TAG}", "Values": ["true"]},
            {"Name": f"tag:{SITE_TAG}", "Values": [site]}]


def owned(tags: dict[str, str], site: str) -> bool:
    """Created by dspace-deploy for this site (checked again on each resource before any
    deletion, whatever the server-side filter returned)."""
    return tags.get(MANAGED_TAG) == "true" and tags.get(SITE_TAG) == site


def ingress_rules(admin_cidr: str) -> list[IngressRule]:
    """Every inbound rule of the site's security group, and nothing else."""
    rules = [IngressRule("tcp", 22, admin_cidr, "SSH from the administrators")]
    for protocol, port, why in PUBLIC_PORTS:
        rules.extend(IngressRule(protocol, port, network, why) for network in PUBLIC_NETWORKS)
    return rules


def rules_of(group: dict[str, Any]) -> list[IngressRule]:
    """The inbound rules of a described security group, one per protocol/port/network."""
    found: list[IngressRule] = []
    for permission in group.get("IpPermissions", []):
        protocol = str(permission.get("IpProtocol"))
        low, high = permission.get("FromPort"), permission.get("ToPort")
        port = int(low) if low is not None and low == high else -1
        if protocol != "-1" and port == -1 and low is not None:
            port = -int(low)  # a port range: never one of ours, revoked as found
        networks = [r["CidrIp"] for r in permission.get("IpRanges", [])]
        networks += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
        networks += [p.get("GroupId", "") for p in permission.get("UserIdGroupPairs", [])]
        networks += [p.get("PrefixListId", "") for p in permission.get("PrefixListIds", [])]
        found.extend(IngressRule(protocol, port, network) for network in networks)
    return found


def permissions(rules: Sequence[IngressRule]) -> list[dict[str, Any]]:
    """IpPermissions for authorize/revoke calls."""
    result = []
    for rule in rules:
        network: dict[str, Any]
        if ":" in rule.cidr:
            network = {"Ipv6Ranges": [{"CidrIpv6": rule.cidr, "Description": rule.why}]}
        else:
            network = {"IpRanges": [{"CidrIp": rule.cidr, "Description": rule.why}]}
        result.append({"IpProtocol": rule.protocol, "FromPort": rule.port,
                       "ToPort": rule.port, **network})
    return result


def checked_admin_cidr(value: str) -> str:
    hint = _("Give the network the administrators connect from, e.g. your address: "
             "--admin-cidr 203.0.113.7/32 (`curl https://checkip.amazonaws.com` tells it).")
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise InputError(_("--admin-cidr {value} is not an IP network.").format(
            value=repr(value)), hint=hint) from None
    if network.prefixlen == 0:
        raise InputError(
            _("--admin-cidr {value} would open SSH to the whole Internet.").format(value=value),
            hint=hint)
    return str(network)


def check_inputs(site: str, count: int, size: str, data_volume_gb: int, debian: str) -> None:
    problems = []
    if not SITE_PATTERN.fullmatch(site):
        problems.append(_("site name {site} is not 2 to 41 lowercase letters, digits or "
                          "hyphens").format(site=repr(site)))
    if not 1 <= count <= MAX_COUNT:
        problems.append(_("--count {count} is not between 1 and {most}").format(
            count=count, most=MAX_COUNT))
    if not SIZE_PATTERN.fullmatch(size):
        problems.append(_("--size {size} is not an EC2 instance type such as t3.large").format(
            size=repr(size)))
    if not 10 <= data_volume_gb <= 16384:
        problems.append(_("--data-volume-gb {size} is not between 10 and 16384").format(
            size=data_volume_gb))
    if debian not in DEBIAN_RELEASES:
        problems.append(_("Debian {release} is not one of {releases}").format(
            release=debian, releases=", ".join(DEBIAN_RELEASES)))
    if problems:
        raise InputError(_("Cannot plan the cloud VMs: {problems}.").format(
            problems="; ".join(problems)),
            hint=_("See `dspace-deploy cloud up --help` and docs/cloud.md."))


def key_action(key_path: Path) -> str:
    """How the key pair's public key is obtained: "import" (KEY.pub exists) or "generate"
    (neither file exists: `apply` runs ssh-keygen)."""
    public = public_key_path(key_path)
    if public.is_file():
        text = public.read_text(encoding="utf-8", errors="replace").strip()
        if not text.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            raise InputError(
                _("{path} is not an ed25519 or RSA public key (EC2 imports only those).").format(
                    path=public),
                hint=_("Give --ssh-key PATH of an ed25519 key (`ssh-keygen -t ed25519 -f "
                       "PATH`), or none to let dspace-deploy make one for the site."))
        return "import"
    if key_path.exists():
        raise InputError(
            _("The SSH key {path} has no public key file {public} next to it.").format(
                path=key_path, public=public),
            hint=_("Write it with: ssh-keygen -y -f {path} > {public}").format(
                path=key_path, public=public))
    return "generate"


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def site_dir(site: str) -> Path:
    """The controller's files for a site's VMs: the generated key, known_hosts."""
    return resources.data_home() / "cloud" / site


def default_key_path(site: str) -> Path:
    return site_dir(site) / "id_ed25519"


def known_hosts_path(site: str) -> Path:
    return site_dir(site) / "known_hosts"


# --- finding things ------------------------------------------------------------------------


def list_resources(site: str, region: str | None, *,
                   clients: Clients | None = None) -> CloudInventory:
    """Everything that carries this site's dspace-deploy tags in the region (terminated
    instances excepted)."""
    aws = clients or clients_for(region)
    found = CloudInventory(site=site, region=aws.region)
    filters = site_filters(site)
    reservations = paginate(aws.ec2, "describe_instances", "Reservations",
                            _("listing the site's instances"), Filters=[
                                *filters, {"Name": "instance-state-name",
                                           "Values": list(_LIVE_STATES)}])
    for reservation in reservations:
        for item in reservation.get("Instances", []):
            found.instances.append(_instance_resource(item))
    for item in paginate(aws.ec2, "describe_volumes", "Volumes",
                         _("listing the site's volumes"), Filters=filters):
        tags = tag_dict(item.get("Tags"))
        attachments = item.get("Attachments", [])
        found.volumes.append(Resource(
            "volume", item["VolumeId"], tags.get("Name", ""), item.get("State", ""), tags,
            {"size_gb": item.get("Size"), "encrypted": item.get("Encrypted"),
             "type": item.get("VolumeType"),
             "attached_to": [a.get("InstanceId", "") for a in attachments],
             "ends_with_instance": any(a.get("DeleteOnTermination") for a in attachments)}))
    for item in paginate(aws.ec2, "describe_security_groups", "SecurityGroups",
                         _("listing the site's security groups"), Filters=filters):
        tags = tag_dict(item.get("Tags"))
        found.security_groups.append(Resource(
            "security-group", item["GroupId"], item.get("GroupName", ""), "", tags,
            {"vpc_id": item.get("VpcId"),
             "ingress": [f"{r.protocol}/{r.port} {r.cidr}" for r in rules_of(item)]}))
    keys = call(_("listing the site's key pairs"), aws.ec2.describe_key_pairs, Filters=filters)
    for item in keys.get("KeyPairs", []):
        tags = tag_dict(item.get("Tags"))
        found.key_pairs.append(Resource("key-pair", item.get("KeyPairId", item["KeyName"]),
                                        item["KeyName"], "", tags))
    return found


def _instance_resource(item: dict[str, Any]) -> Resource:
    tags = tag_dict(item.get("Tags"))
    return Resource(
        "instance", item["InstanceId"], tags.get(HOST_TAG, tags.get("Name", "")),
        item.get("State", {}).get("Name", ""), tags,
        {"type": item.get("InstanceType"), "public_address": item.get("PublicIpAddress"),
         "private_address": item.get("PrivateIpAddress"), "image_id": item.get("ImageId"),
         "subnet_id": item.get("SubnetId"),
         "availability_zone": item.get("Placement", {}).get("AvailabilityZone")})


def newest_debian_image(aws: Clients, debian: str, architecture: str) -> dict[str, Any]:
    """The newest available official Debian image of that release and architecture."""
    images = paginate(aws.ec2, "describe_images", "Images",
                      _("looking up the Debian {release} images").format(release=debian),
                      Owners=[DEBIAN_OWNER], Filters=[
                          {"Name": "name", "Values": [f"debian-{debian}-{architecture}-*"]},
                          {"Name": "architecture",
                           "Values": ["arm64" if architecture == "arm64" else "x86_64"]},
                          {"Name": "root-device-type", "Values": ["ebs"]},
                          {"Name": "state", "Values": ["available"]}])
    # The filters are the server's business; what is used is checked here too.
    pattern = re.compile(rf"^debian-{debian}-{architecture}-\d{{8}}-\d+$")
    images = [image for image in images if image.get("OwnerId") == DEBIAN_OWNER
              and pattern.match(image.get("Name", "")) and image.get("State") == "available"]
    if not images:
        raise CloudFailure(
            _("No official Debian {release} image ({architecture}) in region {region} (owner "
              "{owner}, names debian-{release}-{architecture}-*).").format(
                  release=debian, architecture=architecture, region=aws.region,
                  owner=DEBIAN_OWNER),
            hint=_("Choose another --region or --debian release."))
    return max(images, key=lambda image: str(image.get("CreationDate", "")))


def instance_architecture(aws: Clients, size: str) -> str:
    """Debian's architecture name (amd64, arm64) for an instance type; InputError if the
    region does not offer the type."""
    from botocore.exceptions import ClientError

    try:
        answer = aws.ec2.describe_instance_types(InstanceTypes=[size])
    except ClientError as error:
        if error_code(error).startswith("InvalidInstanceType"):
            raise InputError(
                _("EC2 has no instance type {size} in region {region}.").format(
                    size=size, region=aws.region),
                hint=_("Give a type such as t3.large (docs/cloud.md, \"Sizes\").")) from None
        raise explain(_("looking up the instance type {size}").format(size=size),
                      error) from None
    types = answer.get("InstanceTypes", [])
    if not types:
        raise InputError(_("EC2 has no instance type {size} in region {region}.").format(
            size=size, region=aws.region),
            hint=_("Give a type such as t3.large (docs/cloud.md, \"Sizes\")."))
    architectures = types[0].get("ProcessorInfo", {}).get("SupportedArchitectures", [])
    return "arm64" if architectures == ["arm64"] or "x86_64" not in architectures else "amd64"


def choose_subnet(aws: Clients, subnet: str | None, size: str) -> dict[str, Any]:
    """The subnet given, else a default subnet of the default VPC in a zone that offers the
    instance type."""
    if subnet:
        answer = call(_("looking up subnet {subnet}").format(subnet=subnet),
                      aws.ec2.describe_subnets, SubnetIds=[subnet])
        found: dict[str, Any] = answer["Subnets"][0]
        return found
    vpcs = call(_("looking up the default VPC"), aws.ec2.describe_vpcs,
                Filters=[{"Name": "isDefault", "Values": ["true"]}]).get("Vpcs", [])
    if not vpcs:
        raise InputError(
            _("Region {region} has no default VPC, and no --subnet was given.").format(
                region=aws.region),
            hint=_("Give --subnet SUBNET-ID of a public subnet (one with a route to an "
                   "Internet gateway)."))
    subnets = paginate(aws.ec2, "describe_subnets", "Subnets", _("listing default subnets"),
                       Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]},
                                {"Name": "default-for-az", "Values": ["true"]}])
    if not subnets:
        raise InputError(_("The default VPC of {region} has no default subnet.").format(
            region=aws.region), hint=_("Give --subnet SUBNET-ID."))
    offered = {item.get("Location") for item in paginate(
        aws.ec2, "describe_instance_type_offerings", "InstanceTypeOfferings",
        _("listing the zones that offer {size}").format(size=size),
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [size]}])}
    usable = sorted((s for s in subnets if s.get("AvailabilityZone") in offered),
                    key=lambda s: str(s.get("AvailabilityZone")))
    chosen: dict[str, Any] = (usable or sorted(
        subnets, key=lambda s: str(s.get("AvailabilityZone"))))[0]
    return chosen


# --- plan ------------------------------------------------------------------------------------


def plan(site: str, *, count: int = 1, size: str = DEFAULT_SIZE, region: str | None = None,
         subnet: str | None = None, admin_cidr: str, data_volume_gb: int = DEFAULT_DATA_GB,
         key_path: Path, debian: str = DEFAULT_DEBIAN, names: Sequence[str] | None = None,
         clients: Clients | None = None) -> CloudPlan:
    """What `apply` would create for `count` VMs of the site (nothing is written).

    `names` are the inventory host names (default SITE-1 .. SITE-N); `key_path` the private
    SSH key whose KEY.pub is imported (made by `apply` when neither exists).
    """
    check_inputs(site, count, size, data_volume_gb, debian)
    cidr = checked_admin_cidr(admin_cidr)
    wanted = list(names) if names is not None else host_names(site, count)
    if len(wanted) != count or len(set(wanted)) != count:
        raise InputError(_("{count} VMs need {count} distinct host names.").format(count=count))
    key_path = Path(key_path).expanduser()
    action = key_action(key_path)
    aws = clients or clients_for(region)
    account = call(_("asking AWS which account the credentials belong to"),
                   aws.sts.get_caller_identity).get("Account", "")
    existing = list_resources(site, aws.region, clients=aws)
    architecture = instance_architecture(aws, size)
    image = newest_debian_image(aws, debian, architecture)
    if subnet is None:  # a rerun stays where the site's VMs are
        subnet = next((str(r.detail["subnet_id"]) for r in existing.instances
                       if r.detail.get("subnet_id")), None)
    chosen = choose_subnet(aws, subnet, size)
    name = resource_name(site)
    group = _check_group(aws, existing, name, chosen["VpcId"])
    key_exists = _check_key_pair(aws, existing, name)
    by_host = {resource.name: resource for resource in existing.instances}
    hosts = []
    for host in wanted:
        instance = by_host.get(host)
        if instance is None:
            hosts.append(PlannedHost(host, "create"))
        else:
            hosts.append(PlannedHost(host, "start" if instance.state in ("stopped", "stopping")
                                     else "keep", instance.id))
    root_device = str(image.get("RootDeviceName") or "/dev/xvda")
    return CloudPlan(
        site=site, region=aws.region, account=account, size=size, architecture=architecture,
        debian=debian, image_id=image["ImageId"], image_name=image.get("Name", ""),
        image_created=str(image.get("CreationDate", "")), vpc_id=chosen["VpcId"],
        subnet_id=chosen["SubnetId"], availability_zone=chosen.get("AvailabilityZone", ""),
        admin_cidr=cidr, data_volume_gb=data_volume_gb, root_volume_gb=ROOT_VOLUME_GB,
        root_device=root_device, key_name=name, key_path=key_path,
        key_action="exists" if key_exists else action, known_hosts=known_hosts_path(site),
        security_group_name=name, security_group_id=group, ingress=ingress_rules(cidr),
        hosts=hosts,
        cost=prices.estimate(aws.region, size, count, ROOT_VOLUME_GB + data_volume_gb),
        existing=existing,
        extra_instances=[r for r in existing.instances if r.name not in set(wanted)],
    )


def _check_group(aws: Clients, existing: CloudInventory, name: str, vpc: str) -> str | None:
    """The id of the site's security group, None when it is to be created; InputError when
    a group of that name exists that dspace-deploy did not create, or lives in another VPC."""
    for group in existing.security_groups:
        if group.name == name:
            if group.detail.get("vpc_id") != vpc:
                raise InputError(
                    _("The site's security group {group} is in VPC {theirs}, the subnet chosen "
                      "is in VPC {ours}.").format(group=group.id,
                                                  theirs=group.detail.get("vpc_id"), ours=vpc),
                    hint=_("Give --subnet of VPC {vpc}, or remove the site's VMs first "
                           "(`dspace-deploy cloud down`).").format(
                               vpc=group.detail.get("vpc_id")))
            return group.id
    same_name = call(_("looking up security group {name}").format(name=name),
                     aws.ec2.describe_security_groups,
                     Filters=[{"Name": "group-name", "Values": [name]},
                              {"Name": "vpc-id", "Values": [vpc]}]).get("SecurityGroups", [])
    if same_name:
        raise InputError(
            _("A security group named {name} ({id}) exists in VPC {vpc}, but dspace-deploy did "
              "not create it (it lacks the tags {tags}).").format(
                  name=name, id=same_name[0]["GroupId"], vpc=vpc,
                  tags=f"{MANAGED_TAG}=true, {SITE_TAG}={existing.site}"),
            hint=_("dspace-deploy never changes what it did not create: rename or delete that "
                   "group, or use another site name."))
    return None


def _check_key_pair(aws: Clients, existing: CloudInventory, name: str) -> bool:
    if any(key.name == name for key in existing.key_pairs):
        return True
    same_name = call(_("looking up key pair {name}").format(name=name),
                     aws.ec2.describe_key_pairs,
                     Filters=[{"Name": "key-name", "Values": [name]}]).get("KeyPairs", [])
    if same_name:
        raise InputError(
            _("A key pair named {name} exists, but dspace-deploy did not create it (it lacks "
              "the tags {tags}).").format(
                  name=name, tags=f"{MANAGED_TAG}=true, {SITE_TAG}={existing.site}"),
            hint=_("dspace-deploy never changes what it did not create: delete or rename that "
                   "key pair, or use another site name."))
    return False


# --- apply -------------------------------------------------------------------------------------


def apply(plan: CloudPlan, progress: Progress | None = None, *,
          ready_check: ReadyCheck | None = None, wait_for_ssh: bool = True,
          clients: Clients | None = None) -> list[CloudHost]:
    """Create what the plan lacks and return every planned host, running, SSH answering.

    Idempotent: the resources are found by their tags, so a second run creates nothing. If
    creating fails half-way (quota, capacity, a bad subnet, throttling beyond the retries, an
    interruption), what this run created is removed again (it carries this run's creation
    id) and the error says so; what could not be removed is named, for `cloud down`.
    `ready_check(host, plan)` replaces the SSH wait (`wait_for_ssh=False` skips it: for
    endpoints with no real VM behind them, such as moto).
    """
    say = progress or (lambda _message: None)
    aws = clients or clients_for(plan.region)
    creation = uuid.uuid4().hex[:12]
    tags = site_tags(plan.site, creation)
    created: list[Resource] = []
    try:
        _ensure_key(aws, plan, tags, created, say)
        group = _ensure_group(aws, plan, tags, created, say)
        ids = _ensure_instances(aws, plan, group, tags, created, say)
        hosts = _running_hosts(aws, plan, ids, say)
    except BaseException as error:
        if not created:
            raise
        raise _rolled_back(aws, plan, created, error, say) from None
    check = ready_check or (wait_until_ready if wait_for_ssh else None)
    if check is not None:
        wait_for_all(plan, hosts, check, say)
    return hosts


def wait_for_all(plan: CloudPlan, hosts: list[CloudHost], check: ReadyCheck | None = None,
                 progress: Progress | None = None) -> None:
    """Run the readiness check (default: `wait_until_ready`) on every host at once."""
    say = progress or (lambda _message: None)
    ready = check or wait_until_ready
    say(ngettext("waiting for SSH on {count} VM", "waiting for SSH on {count} VMs",
                 len(hosts)).format(count=len(hosts)))
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(hosts)))) as pool:
        list(pool.map(lambda host: ready(host, plan), hosts))


def _ensure_key(aws: Clients, plan: CloudPlan, tags: dict[str, str],
                created: list[Resource], say: Progress) -> None:
    if plan.key_action == "exists":
        return
    if not public_key_path(plan.key_path).is_file():
        generate_key(plan.key_path, plan.site)
    material = public_key_path(plan.key_path).read_bytes()
    say(_("importing key pair {name}").format(name=plan.key_name))
    answer = call(_("importing key pair {name}").format(name=plan.key_name),
                  aws.ec2.import_key_pair, KeyName=plan.key_name, PublicKeyMaterial=material,
                  TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag_list(
                      {**tags, "Name": plan.key_name})}])
    created.append(Resource("key-pair", answer.get("KeyPairId", plan.key_name), plan.key_name,
                            tags=tags))


def generate_key(key_path: Path, site: str) -> None:
    """An ed25519 key for the site's VMs (the private key never leaves this controller)."""
    if shutil.which("ssh-keygen") is None:
        raise EnvironmentProblem(
            _("ssh-keygen is not installed on this controller; the site's SSH key is made "
              "with it."),
            hint=_("Install it with: {command}.").format(
                command="sudo apt-get install -y openssh-client"))
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    f"dspace-deploy cloud {site}", "-f", str(key_path)],
                   check=True, capture_output=True)
    key_path.chmod(0o600)


def _ensure_group(aws: Clients, plan: CloudPlan, tags: dict[str, str],
                  created: list[Resource], say: Progress) -> str:
    group = plan.security_group_id
    if group is None:
        say(_("creating security group {name}").format(name=plan.security_group_name))
        answer = call(_("creating security group {name}").format(
            name=plan.security_group_name), aws.ec2.create_security_group,
            GroupName=plan.security_group_name, VpcId=plan.vpc_id,
            Description=f"dspace-deploy site {plan.site}: SSH from the admin network, web "
            "and Handle from anywhere",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(
                {**tags, "Name": plan.security_group_name})}])
        group = str(answer["GroupId"])
        created.append(Resource("security-group", group, plan.security_group_name, tags=tags))
    _reconcile_rules(aws, group, plan.ingress, say)
    return group


def _reconcile_rules(aws: Clients, group: str, wanted: list[IngressRule],
                     say: Progress) -> None:
    """Make the group's inbound rules exactly `wanted` (e.g. after --admin-cidr changed)."""
    described = call(_("reading security group {id}").format(id=group),
                     aws.ec2.describe_security_groups, GroupIds=[group])["SecurityGroups"][0]
    present = rules_of(described)
    keys = {rule.key() for rule in wanted}
    have = {rule.key() for rule in present}
    extra = [rule for rule in present if rule.key() not in keys]
    missing = [rule for rule in wanted if rule.key() not in have]
    if extra:
        say(ngettext("removing {count} inbound rule not in the plan",
                     "removing {count} inbound rules not in the plan", len(extra)).format(
                         count=len(extra)))
        _revoke(aws, group, described, extra)
    if missing:
        call(_("opening the ports of security group {id}").format(id=group),
             aws.ec2.authorize_security_group_ingress, GroupId=group,
             IpPermissions=permissions(missing))


def _revoke(aws: Clients, group: str, described: dict[str, Any],
            extra: list[IngressRule]) -> None:
    """Revoke the described permissions holding the extra rules, as they were described."""
    unwanted = {rule.key() for rule in extra}
    doomed = [permission for permission in described.get("IpPermissions", [])
              if any(rule.key() in unwanted for rule in rules_of({"IpPermissions": [permission]}))]
    call(_("closing ports of security group {id}").format(id=group),
         aws.ec2.revoke_security_group_ingress, GroupId=group, IpPermissions=doomed)
    readd = [rule for permission in doomed for rule in rules_of({"IpPermissions": [permission]})
             if rule.key() not in unwanted]
    if readd:
        call(_("opening the ports of security group {id}").format(id=group),
             aws.ec2.authorize_security_group_ingress, GroupId=group,
             IpPermissions=permissions(readd))


def block_devices(plan: CloudPlan) -> list[dict[str, Any]]:
    """The root volume (kept with the instance) and the data volume for /srv (kept after
    the instance ends, so that a terminated VM never takes the repository's data with it;
    `cloud down` deletes it explicitly). Both gp3, both encrypted."""
    return [
        {"DeviceName": plan.root_device,
         "Ebs": {"VolumeSize": plan.root_volume_gb, "VolumeType": "gp3", "Encrypted": True,
                 "DeleteOnTermination": True}},
        {"DeviceName": DATA_DEVICE,
         "Ebs": {"VolumeSize": plan.data_volume_gb, "VolumeType": "gp3", "Encrypted": True,
                 "DeleteOnTermination": False}},
    ]


def _ensure_instances(aws: Clients, plan: CloudPlan, group: str, tags: dict[str, str],
                      created: list[Resource], say: Progress) -> list[str]:
    ids = []
    to_start = [host.instance_id for host in plan.hosts
                if host.action == "start" and host.instance_id]
    if to_start:
        say(ngettext("starting {count} stopped VM", "starting {count} stopped VMs",
                     len(to_start)).format(count=len(to_start)))
        # one still stopping cannot be started yet (IncorrectInstanceState)
        call(_("waiting for the site's stopping VMs to stop"),
             aws.ec2.get_waiter("instance_stopped").wait, InstanceIds=to_start,
             WaiterConfig={"Delay": 5, "MaxAttempts": RUNNING_TIMEOUT // 5})
        call(_("starting the site's stopped VMs"), aws.ec2.start_instances,
             InstanceIds=to_start)
    for host in plan.hosts:
        if host.instance_id:
            ids.append(host.instance_id)
            continue
        say(_("launching {host} ({size}, {image})").format(host=host.name, size=plan.size,
                                                             image=plan.image_name))
        host_tags = {**tags, HOST_TAG: host.name, "Name": host.name}
        answer = call(
            _("launching {host}").format(host=host.name), aws.ec2.run_instances,
            ImageId=plan.image_id, InstanceType=plan.size, MinCount=1, MaxCount=1,
            KeyName=plan.key_name,
            # the same token on a retried request: AWS starts no second instance
            ClientToken=f"{tags[CREATION_TAG]}-{host.name}"[:64],
            NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": plan.subnet_id,
                                "Groups": [group], "AssociatePublicIpAddress": True,
                                "DeleteOnTermination": True}],
            BlockDeviceMappings=block_devices(plan),
            UserData=userdata.user_data(plan.data_volume_gb),
            MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list(host_tags)},
                               {"ResourceType": "volume", "Tags": tag_list(host_tags)}])
        instance = answer["Instances"][0]["InstanceId"]
        created.append(Resource("instance", instance, host.name, tags=host_tags))
        ids.append(instance)
    return ids


def _running_hosts(aws: Clients, plan: CloudPlan, ids: list[str],
                   say: Progress) -> list[CloudHost]:
    say(ngettext("waiting for {count} VM to run", "waiting for {count} VMs to run",
                 len(ids)).format(count=len(ids)))
    waiter = aws.ec2.get_waiter("instance_running")
    call(_("waiting for the VMs to run"), waiter.wait, InstanceIds=ids,
         WaiterConfig={"Delay": 5, "MaxAttempts": RUNNING_TIMEOUT // 5})
    reservations = paginate(aws.ec2, "describe_instances", "Reservations",
                            _("reading the VMs' addresses"), InstanceIds=ids)
    by_id = {item["InstanceId"]: item for r in reservations for item in r.get("Instances", [])}
    hosts = []
    for host, instance in zip(plan.hosts, ids, strict=True):
        item = by_id.get(instance, {})
        hosts.append(CloudHost(name=host.name, instance_id=instance,
                               public_address=item.get("PublicIpAddress"),
                               private_address=item.get("PrivateIpAddress"),
                               user=LOGIN_USER))
    missing = [host.name for host in hosts if not host.public_address]
    if missing:
        raise CloudFailure(
            _("{hosts} got no public address.").format(hosts=", ".join(missing)),
            hint=_("Give --subnet of a public subnet (one that maps public addresses and "
                   "routes to an Internet gateway)."))
    return hosts


def _rolled_back(aws: Clients, plan: CloudPlan, created: list[Resource],
                 error: BaseException, say: Progress) -> BaseException:
    """Remove what this run created (newest first); return the error to raise."""
    say(ngettext("cloud up failed; removing the {count} resource this run created",
                 "cloud up failed; removing the {count} resources this run created",
                 len(created)).format(count=len(created)))
    report = DestroyReport(site=plan.site, region=plan.region)
    instances = [r for r in created if r.kind == "instance"]
    if instances:
        ended = {r.id for r in instances} if _terminate(aws, instances, report) else set()
        _delete_volumes(aws, plan.site, ended, report, only_creation=created[0].creation_id)
    for resource in reversed([r for r in created if r.kind != "instance"]):
        _delete_one(aws, resource, report)
    if isinstance(error, KeyboardInterrupt):
        return error
    reason = str(error) if isinstance(error, DeployError) else f"{type(error).__name__}: {error}"
    if report.failed or report.refused:
        left = ", ".join(f"{r.kind} {r.id}" for r, _why in [*report.failed, *report.refused])
        return CloudFailure(
            _("cloud up failed: {reason} Removing what it had created failed for: {left}.").format(
                reason=reason, left=left),
            hint=_("They carry the site's tags: `dspace-deploy cloud down -i SITE` removes them."))
    done = ", ".join(f"{r.kind} {r.id}" for r in report.deleted)
    if isinstance(error, DeployError):
        error.message = _("{message} What this run had created was removed ({done}).").format(
            message=error.message, done=done)
        return error
    return CloudFailure(_("cloud up failed: {reason}. What this run had created was removed "
                          "({done}).").format(reason=reason, done=done))


# --- waiting for SSH -------------------------------------------------------------------------


def wait_until_ready(host: CloudHost, plan: CloudPlan, timeout: float = SSH_TIMEOUT) -> None:
    """Wait until the VM accepts the site's key over SSH and cloud-init has finished (so
    /srv is mounted); CloudFailure after `timeout` seconds."""
    if shutil.which("ssh") is None:
        raise EnvironmentProblem(_("ssh is not installed on this controller."),
                                 hint=_("Install it with: {command}.").format(
                                     command="sudo apt-get install -y openssh-client"))
    address = host.public_address or ""
    plan.known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    command = ["ssh", "-i", str(plan.key_path), "-o", "BatchMode=yes", "-o",
               "ConnectTimeout=10", "-o", f"UserKnownHostsFile={plan.known_hosts}", "-o",
               "StrictHostKeyChecking=accept-new", f"{host.user}@{address}",
               "cloud-init status --wait >/dev/null 2>&1; findmnt -rn /srv >/dev/null"]
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        left = deadline - time.monotonic()
        if _port_open(address, 22, max(0.5, min(5.0, left))):
            result = subprocess.run(command, capture_output=True, text=True, timeout=900,
                                    check=False)
            if result.returncode == 0:
                return
            last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(5.0, left))
    raise CloudFailure(
        _("{host} ({address}) did not answer over SSH with /srv mounted within {seconds} s "
          "({last}).").format(host=host.name, address=address, seconds=int(timeout),
                              last=last or _("port 22 closed")),
        hint=_("Check that this controller's address is inside --admin-cidr {cidr}. The VMs "
               "are running and tagged: `cloud up` again waits again, `cloud down` removes "
               "them.").format(cidr=plan.admin_cidr))


def _port_open(address: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- destroy ----------------------------------------------------------------------------------


def destroy(site: str, region: str | None, progress: Progress | None = None, *,
            clients: Clients | None = None) -> DestroyReport:
    """Delete what carries this site's dspace-deploy tags: instances (until terminated),
    then the volumes left, the security group, the key pair. Anything else, even with the
    site's names, is left alone and reported."""
    say = progress or (lambda _message: None)
    aws = clients or clients_for(region)
    found = list_resources(site, aws.region, clients=aws)
    report = DestroyReport(site=site, region=aws.region)
    for resource in found.all():
        if not owned(resource.tags, site):
            report.refused.append((resource, _("not tagged as created by dspace-deploy for "
                                               "this site")))
    _report_untagged_namesakes(aws, site, found, report)
    instances = [r for r in found.instances if owned(r.tags, site)]
    ended: set[str] = set()
    if instances:
        say(ngettext("terminating {count} VM", "terminating {count} VMs",
                     len(instances)).format(count=len(instances)))
        if _terminate(aws, instances, report):
            ended = {r.id for r in instances}
    _delete_volumes(aws, site, ended, report)
    for resource in [*found.security_groups, *found.key_pairs]:
        if owned(resource.tags, site):
            say(_("deleting {kind} {id}").format(kind=resource.kind, id=resource.id))
            _delete_one(aws, resource, report)
    return report


def _report_untagged_namesakes(aws: Clients, site: str, found: CloudInventory,
                               report: DestroyReport) -> None:
    name = resource_name(site)
    ours = {r.id for r in found.all()}
    groups = call(_("looking up security group {name}").format(name=name),
                  aws.ec2.describe_security_groups,
                  Filters=[{"Name": "group-name", "Values": [name]}]).get("SecurityGroups", [])
    for group in groups:
        if group["GroupId"] not in ours:
            report.refused.append((Resource("security-group", group["GroupId"], name,
                                            tags=tag_dict(group.get("Tags"))),
                                   _("named like the site's, but not tagged by dspace-deploy")))
    keys = call(_("looking up key pair {name}").format(name=name), aws.ec2.describe_key_pairs,
                Filters=[{"Name": "key-name", "Values": [name]}]).get("KeyPairs", [])
    for key in keys:
        if key.get("KeyPairId", key["KeyName"]) not in ours:
            report.refused.append((Resource("key-pair", key.get("KeyPairId", name), name,
                                            tags=tag_dict(key.get("Tags"))),
                                   _("named like the site's, but not tagged by dspace-deploy")))


def _terminate(aws: Clients, instances: list[Resource], report: DestroyReport) -> bool:
    """Terminate and wait until they ended; False (and reported) if that failed."""
    ids = [r.id for r in instances]
    try:
        call(_("terminating the VMs"), aws.ec2.terminate_instances, InstanceIds=ids)
        waiter = aws.ec2.get_waiter("instance_terminated")
        call(_("waiting for the VMs to end"), waiter.wait, InstanceIds=ids,
             WaiterConfig={"Delay": 5, "MaxAttempts": RUNNING_TIMEOUT // 5})
    except DeployError as error:
        report.failed.extend((r, str(error)) for r in instances)
        return False
    for resource in instances:
        resource.state = "terminated"
    report.deleted.extend(instances)
    return True


def _delete_volumes(aws: Clients, site: str, ended: set[str], report: DestroyReport,
                    only_creation: str | None = None) -> None:
    """Delete the site's volumes left after its instances ended (the data volumes); a
    volume attached to an instance that is not the site's is left alone."""
    try:
        volumes = list_resources(site, aws.region, clients=aws).volumes
    except DeployError as error:
        report.failed.append((Resource("volume", "*"), str(error)))
        return
    for volume in volumes:
        if only_creation is not None and volume.creation_id != only_creation:
            continue
        if not owned(volume.tags, site):
            report.refused.append((volume, _("not tagged as created by dspace-deploy for "
                                             "this site")))
            continue
        if volume.state in ("deleting", "deleted"):
            continue  # a root volume going with its instance
        attached = [i for i in volume.detail.get("attached_to", []) if i]
        if attached and volume.detail.get("ends_with_instance") and set(attached) <= ended:
            continue  # deleted by EC2 with the instance (DeleteOnTermination)
        foreign = [i for i in attached if i not in ended]
        if foreign and volume.state == "in-use":
            report.refused.append((volume, _("still attached to {ids}, which is not a VM of "
                                             "the site that ended").format(
                                                 ids=", ".join(foreign))))
            continue
        if volume.state != "available":
            try:
                call(_("waiting for volume {id} to be released").format(id=volume.id),
                     aws.ec2.get_waiter("volume_available").wait, VolumeIds=[volume.id],
                     WaiterConfig={"Delay": 5, "MaxAttempts": 60})
            except DeployError as error:
                report.failed.append((volume, str(error)))
                continue
        _delete_one(aws, volume, report)


def _delete_one(aws: Clients, resource: Resource, report: DestroyReport) -> None:
    """Delete one volume, security group or key pair; a security group still in use by
    network interfaces that are going away is retried for a while."""
    attempts = 12 if resource.kind == "security-group" else 1
    for attempt in range(attempts):
        try:
            if resource.kind == "volume":
                call(_("deleting volume {id}").format(id=resource.id), aws.ec2.delete_volume,
                     VolumeId=resource.id)
            elif resource.kind == "security-group":
                call(_("deleting security group {id}").format(id=resource.id),
                     aws.ec2.delete_security_group, GroupId=resource.id)
            elif resource.kind == "key-pair":
                call(_("deleting key pair {name}").format(name=resource.name),
                     aws.ec2.delete_key_pair, KeyName=resource.name)
            report.deleted.append(resource)
            return
        except DeployError as error:
            dependency = "DependencyViolation" in str(error)
            if dependency and attempt + 1 < attempts:
                time.sleep(10)
                continue
            report.failed.append((resource, str(error)))
            return
