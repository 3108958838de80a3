"""Site inventory validation: every malformed inventory gets a clear problem, never a
traceback, before any host is touched; the example inventories validate cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy import resources
from dspace_deploy.errors import (
    EXIT_BAD_INPUT,
    EXIT_ENVIRONMENT,
    EnvironmentProblem,
    InputError,
    ValidationFailed,
)
from dspace_deploy.inventory.validate import effective_settings, load_site
from tests.unit.fixtures.helpers import (
    DEFAULT,
    EXAMPLE_PASSWORD_FILE,
    EXAMPLES,
    FIXTURE_ROLES,
    REPO,
    build,
    instance,
    run_cli,
    secrets_for,
    site,
)

EXAMPLE_NAMES = ["single-host", "two-institutions", "lab", "national-network"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fixture roles instead of the real ones; no user configuration leaks in."""
    monkeypatch.setattr(resources, "roles_dir", lambda: FIXTURE_ROLES)
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def two_hosts(host_vars: dict[str, Any] | None = None, **group: Any) -> dict[str, Any]:
    hosts = {"a": {"ansible_host": "192.0.2.1"}, "b": {"ansible_host": "192.0.2.2"}}
    for name, extra in (host_vars or {}).items():
        hosts[name].update(extra)
    return {"all": {"children": {"dspace": {"hosts": hosts, **group}}}}


@dataclass
class Case:
    id: str
    files: dict[str, Any]
    key: str  # the problem's key contains this
    file: str  # the problem's location contains this
    says: str = ""  # the message contains this (what or fix)
    vault: Any = field(default=DEFAULT)


SITE = "group_vars/all/site.yml"
VAULT = "group_vars/all/vault.yml"

CASES = [
    # --- unknown keys ------------------------------------------------------------------
    Case("unknown-site-key-did-you-mean", {SITE: site(dspace_instance=[])}, "dspace_instance",
         SITE, "did you mean dspace_instances?"),
    Case("unknown-key-no-match-suggests-local", {SITE: site(frobnicate=1)}, "frobnicate", SITE,
         "local_frobnicate"),
    Case("unknown-role-key-did-you-mean", {SITE: site(demo_timezon="UTC")}, "demo_timezon",
         SITE, "did you mean demo_timezone?"),
    Case("internal-role-constant", {SITE: site(demo_internal_packages=["x"])},
         "demo_internal_packages", SITE, "internal constant of role demo"),
    Case("unknown-nested-option", {SITE: site(dspace_instances=[instance(hostnmae="x.org")])},
         "dspace_instances[0].hostnmae", SITE, "did you mean hostname?"),
    Case("invalid-variable-name", {SITE: "site_name: demo\nsite-name: demo\n"}, "site-name", SITE,
         "letters, digits and underscores"),
    # --- types ---------------------------------------------------------------------------
    Case("int-from-text", {SITE: site(demo_port="eighty")}, "demo_port", SITE,
         "must be an integer; found a string"),
    Case("bool-from-text", {SITE: site(demo_enabled="maybe")}, "demo_enabled", SITE,
         "true or false"),
    Case("list-given-a-string", {SITE: site(demo_packages="vim")}, "demo_packages", SITE,
         "must be a list of strings"),
    Case("list-element-type", {SITE: site(demo_ports=[80, "https"])}, "demo_ports[1]", SITE,
         "must be an integer"),
    Case("float-from-text", {SITE: site(demo_ratio="half")}, "demo_ratio", SITE, "number"),
    Case("dict-given-a-list", {SITE: site(demo_settings=["a"])}, "demo_settings", SITE,
         "must be a mapping"),
    Case("empty-value", {SITE: "site_name: demo\ndemo_port:\n"}, "demo_port", SITE,
         "has no value"),
    Case("choice-not-allowed", {SITE: site(demo_mode="fast")}, "demo_mode", SITE,
         "use one of slow, safe"),
    Case("site-name-boolean", {SITE: "site_name: yes\n"}, "site_name", SITE, "quote the value"),
    Case("site-name-pattern", {SITE: site(site_name="Demo_Site")}, "site_name", SITE,
         "lowercase letters"),
    Case("instances-not-a-list", {SITE: site(dspace_instances={"name": "repo"})},
         "dspace_instances", SITE, "must be a list of mappings"),
    Case("instance-not-a-mapping", {SITE: site(dspace_instances=["repo"])}, "dspace_instances[0]",
         SITE, "must be a mapping"),
    Case("line-not-allowed", {SITE: site(dspace_instances=[instance(line="7")])},
         "dspace_instances[0].line", SITE, "use one of 8, 9, 10"),
    Case("version-as-float", {SITE: site(dspace_instances=[instance(version=9.3)])},
         "dspace_instances[0].version", SITE, 'quote the value, e.g. "9.3"'),
    Case("instance-name-pattern", {SITE: site(dspace_instances=[instance(name="Repo-1")])},
         "dspace_instances[0].name", SITE, "lowercase letters, digits and underscores"),
    Case("hostname-is-a-url",
         {SITE: site(dspace_instances=[instance(hostname="https://repo.example.edu/")])},
         "dspace_instances[0].hostname", SITE, "write only the host name: repo.example.edu"),
    Case("hostname-with-port", {SITE: site(dspace_instances=[instance(hostname="repo.org:8443")])},
         "dspace_instances[0].hostname", SITE, "includes a port"),
    Case("admin-email-invalid", {SITE: site(dspace_instances=[instance(admin_email="admin")])},
         "dspace_instances[0].admin_email", SITE, "not an e-mail address"),
    Case("admin-email-missing", {SITE: site(dspace_instances=[instance(admin_email=None)])},
         "dspace_instances[0].admin_email", SITE, "is required but missing"),
    Case("handle-prefix-pattern",
         {SITE: site(dspace_instances=[instance(handle_prefix="hdl/123")])},
         "dspace_instances[0].handle_prefix", SITE, "20.500.12345"),
    Case("empty-instance-list", {SITE: site(dspace_instances=[])}, "dspace_instances", SITE,
         "empty list"),
    # --- required, per host --------------------------------------------------------------
    Case("site-name-missing", {SITE: site(site_name=None)}, "site_name", "(host repo)",
         "is not set"),
    Case("instances-missing", {SITE: site(dspace_instances=None)}, "dspace_instances",
         "(host repo)", "is not set"),
    Case("site-name-differs-between-hosts",
         {"hosts.yml": two_hosts({"b": {"dspace_instances": [instance(hostname="b.example.edu")],
                                        "site_name": "other"}})},
         "site_name", "hosts.yml", "set site_name once"),
    # --- cross-field rules -----------------------------------------------------------------
    Case("java-too-old-for-line",
         {SITE: site(dspace_instances=[instance(line="10", java_version=17)])},
         "dspace_instances[0].java_version", SITE,
         "DSpace 10 needs Java 21 or newer, not 17. remove java_version or set 21"),
    Case("java-too-old-for-cris-2025",
         {SITE: site(dspace_instances=[instance(line="9", flavor="cris", java_version=17)])},
         "dspace_instances[0].java_version", SITE,
         "DSpace-CRIS 2025.02 needs Java 21 or newer, not 17. remove java_version or set 21"),
    Case("webapp-cron-and-timer-both-on",
         {SITE: site(dspace_instances=[instance(extra_config={"sitemap.cron": "0 15 1 * * ?"})])},
         "dspace_instances[0].extra_config.sitemap.cron", SITE,
         "the dspace_tasks timer generate-sitemaps runs it too"),
    Case("solr-major-mismatch",
         {SITE: site(dspace_instances=[instance(line="9", solr_version="8.11.4")])},
         "dspace_instances[0].solr_version", SITE, "DSpace 9 uses Solr 9; Solr 8 cannot load"),
    Case("content-unknown", {SITE: site(dspace_instances=[instance(content="sample-fr")])},
         "dspace_instances[0].content", SITE, "sample-es"),
    Case("node-unsupported", {SITE: site(dspace_instances=[instance(line="8", node_version=22)])},
         "dspace_instances[0].node_version", SITE, "use one of 18, 20"),
    Case("version-of-another-line",
         {SITE: site(dspace_instances=[instance(line="9", version="8.4")])},
         "dspace_instances[0].version", SITE, "not of the DSpace 9 line"),
    Case("cris-without-release",
         {SITE: site(dspace_instances=[instance(line="10", flavor="cris")])},
         "dspace_instances[0].flavor", SITE, "no DSpace-CRIS release for DSpace 10"),
    Case("tls-provided-without-files",
         {SITE: site(dspace_instances=[instance(tls_mode="provided")])},
         "dspace_instances[0].tls_certificate_file", SITE, "required with tls_mode provided"),
    Case("tls-provided-file-missing",
         {SITE: site(dspace_instances=[instance(tls_mode="provided",
                                                tls_certificate_file="tls/none.pem",
                                                tls_key_file="/nonexistent/key.pem")])},
         "dspace_instances[0].tls_key_file", SITE, "does not exist on this machine"),
    Case("tls-files-without-provided",
         {SITE: site(dspace_instances=[instance(tls_certificate_file="/etc/hosts")])},
         "dspace_instances[0].tls_certificate_file", SITE, "tls_mode: provided"),
    Case("acme-private-name",
         {SITE: site(dspace_instances=[instance(tls_mode="acme", hostname="repo.local")])},
         "dspace_instances[0].tls_mode", SITE, "Let's Encrypt cannot certify repo.local"),
    Case("acme-ip-address",
         {SITE: site(dspace_instances=[instance(tls_mode="acme", hostname="192.0.2.7")])},
         "dspace_instances[0].tls_mode", SITE, "IP address"),
    Case("duplicate-instance-names",
         {SITE: site(dspace_instances=[instance(), instance(hostname="other.example.edu")])},
         "dspace_instances[1].name", SITE, "used twice on the host"),
    Case("duplicate-hostnames-across-hosts", {"hosts.yml": two_hosts()},
         "dspace_instances[0].hostname", SITE, "also used by instance repo on host a"),
    # --- secrets ---------------------------------------------------------------------------
    Case("vault-variable-outside-vault",
         {SITE: site(vault_instance_secrets={"repo": {"db_password": "x"}})},
         "vault_instance_secrets", SITE, "secrets belong in group_vars/all/vault.yml"),
    Case("plaintext-vault",
         {VAULT: secrets_for("repo")}, "(file)", VAULT, "not encrypted", vault=None),
    Case("missing-secrets", {}, "vault_instance_secrets.repo", VAULT, "secrets sync",
         vault=secrets_for("other")),
    Case("no-vault-file", {}, "(file)", VAULT, "secrets sync", vault=None),
    Case("weak-secret-in-vault", {}, "vault_instance_secrets.repo.db_password", VAULT,
         "at least 8 characters",
         vault={"vault_instance_secrets": {"repo": {"db_password": "a b",
                                                    "admin_password": "Xk2Lm9Qp4Rt7"}}}),
    Case("secret-missing-in-entry", {}, "vault_instance_secrets.repo.admin_password", VAULT,
         "required", vault={"vault_instance_secrets": {"repo": {"db_password": "Xk2Lm9Qp4Rt7"}}}),
    Case("unknown-vault-variable", {}, "vault_smtp", VAULT, "vault_local_",
         vault={**secrets_for("repo"), "vault_smtp": "x"}),
    Case("non-vault-variable-in-vault", {}, "site_name", VAULT, "only vault_* variables",
         vault={**secrets_for("repo"), "site_name": "demo"}),
    Case("plain-secret-role-variable", {SITE: site(demo_token="abc123")}, "demo_token", SITE,
         "secret in plain text"),
    Case("plain-become-password",
         {"host_vars/repo.yml": {"ansible_become_password": "hunter2"}},
         "ansible_become_password", "host_vars/repo.yml", "vault_ansible_become_password"),
    # --- files and YAML --------------------------------------------------------------------
    Case("yaml-syntax-error", {SITE: "site_name: demo\ndspace_instances:\n  - name: [repo\n"},
         "(YAML syntax)", f"{SITE}:", "invalid YAML"),
    Case("yaml-tab-indentation", {SITE: "site_name: demo\n\tcommon: 1\n"}, "(YAML syntax)",
         f"{SITE}:2", "spaces, not tabs"),
    Case("duplicate-yaml-key", {SITE: "site_name: demo\nsite_name: other\n"}, "site_name",
         f"{SITE}:2", "appears twice"),
    Case("vars-file-is-a-list", {"group_vars/dspace.yml": "- a\n- b\n"}, "(file)",
         "group_vars/dspace.yml", "must be a mapping"),
    Case("group-vars-for-unknown-group", {"group_vars/dspce.yml": {"demo_port": 1}}, "(file)",
         "group_vars/dspce.yml", "did you mean dspace?"),
    Case("host-vars-for-unknown-host", {"host_vars/rep.yml": {"demo_port": 1}}, "(file)",
         "host_vars/rep.yml", "did you mean repo?"),
    Case("shadowed-group-vars-file", {"group_vars/all.yml": {"demo_port": 1}}, "(file)",
         "group_vars/all.yml", "Ansible ignores this file"),
    Case("extra-file-in-inventory", {"notes.yml": {"a": 1}}, "(file)", "notes.yml",
         "further inventory source"),
    Case("hosts-file-empty", {"hosts.yml": ""}, "(file)", "hosts.yml", "is empty"),
    Case("no-dspace-group",
         {"hosts.yml": {"all": {"children": {"web": {"hosts": {"repo": {}}}}}}}, "dspace",
         "hosts.yml", "no group dspace"),
    Case("dspace-group-without-hosts", {"hosts.yml": {"all": {"children": {"dspace": {}}}}},
         "dspace", "hosts.yml", "has no hosts"),
    Case("group-key-typo",
         {"hosts.yml": {"all": {"children": {"dspace": {"host": {"repo": {}}}}}}},
         "all.children.dspace.host", "hosts.yml", "did you mean hosts?"),
    Case("hosts-as-a-list",
         {"hosts.yml": {"all": {"children": {"dspace": {"hosts": ["repo"]}}}}},
         "all.children.dspace.hosts", "hosts.yml", "a YAML list with dashes is not accepted"),
    Case("group-priority-not-int",
         {"hosts.yml": {"all": {"children": {"dspace": {
             "vars": {"ansible_group_priority": "high"}, "hosts": {"repo": {}}}}}}},
         "ansible_group_priority", "hosts.yml", "must be an integer"),
    Case("variables-in-hosts-file-checked",
         {"hosts.yml": {"all": {"children": {"dspace": {"hosts": {"repo": {"demo_port": "x"}}}}}}},
         "demo_port", "hosts.yml", "must be an integer"),
    Case("dynamic-inventory-plugin", {"hosts.yml": {"plugin": "aws_ec2"}}, "plugin", "hosts.yml",
         "not supported"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_inventory_is_reported(case: Case, tmp_path: Path) -> None:
    root, password = build(tmp_path / "site", case.files, vault=case.vault)
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    error = info.value
    message = str(error)
    assert error.exit_code == EXIT_BAD_INPUT
    assert "Traceback" not in message
    matching = [p for p in error.problems if case.key in p.key and case.file in p.location]
    assert matching, f"no problem with key {case.key!r} in {case.file!r}:\n{message}"
    assert any(case.says in f"{p.what}. {p.fix}" for p in matching), message
    for problem in error.problems:  # every problem says what and how to fix it
        assert problem.what and problem.fix and problem.location and problem.key


def test_webapp_cron_with_its_timer_off_is_fine(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # the real dspace_tasks role declares dspace_tasks_schedule_overrides
    monkeypatch.setattr(resources, "roles_dir", lambda: Path(__file__).parents[2] / "roles")
    files = {SITE: site(
        dspace_instances=[instance(extra_config={"sitemap.cron": "0 15 1 * * ?",
                                                 "solr-database-resync.cron": "-"})],
        dspace_tasks_schedule_overrides={"generate-sitemaps": ""})}
    root, _ = build(tmp_path / "site", files)
    load_site(root, require_vault=False)


def test_there_are_enough_malformed_cases() -> None:
    assert len(CASES) >= 35


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    files = {
        SITE: site(demo_port="x", frobnicate=1,
                   dspace_instances=[instance(line="7"), instance(name="b", admin_email="no")]),
        "host_vars/rep.yml": {"demo_port": 1},
    }
    root, password = build(tmp_path / "site", files)
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    keys = {p.key for p in info.value.problems}
    assert {"demo_port", "frobnicate", "dspace_instances[0].line",
            "dspace_instances[1].admin_email", "(file)"} <= keys
    assert "no host was contacted" in str(info.value)


def test_problems_name_the_line(tmp_path: Path) -> None:
    text = "site_name: demo\ndspace_instances:\n  - name: repo\n    hostname: repo.example.edu\n" \
           "    admin_email: admin@example.edu\n    line: 7\n"
    root, password = build(tmp_path / "site", {SITE: text})
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    (problem,) = info.value.problems
    assert problem.location.endswith(f"{SITE}:6")
    assert problem.key == "dspace_instances[0].line"


def test_shared_problem_names_every_host_once(tmp_path: Path) -> None:
    hosts = {f"h{i}": {} for i in range(6)}
    files = {"hosts.yml": {"all": {"children": {"dspace": {"hosts": hosts}}}},
             SITE: site(demo_port="x", dspace_instances=None)}
    root, password = build(tmp_path / "site", files, vault=secrets_for("repo"))
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    missing = [p for p in info.value.problems if p.key == "dspace_instances"]
    assert len(missing) == 1
    assert "hosts h0, h1, h2 and 3 more" in missing[0].location


def test_yaml_ints_for_line_are_accepted_and_normalised(tmp_path: Path) -> None:
    text = ("site_name: demo\ndspace_instances:\n  - {name: repo, hostname: repo.example.edu, "
            "admin_email: a@example.edu, line: 10, handle_prefix: 123456}\n")
    root, password = build(tmp_path / "site", {SITE: text})
    loaded = load_site(root, password)
    assert loaded.hostvars["repo"]["dspace_instances"][0]["line"] == 10  # as Ansible sees it
    settings = effective_settings(loaded.hostvars["repo"])
    item = settings["dspace_instances"][0]
    assert item["line"] == "10" and item["handle_prefix"] == "123456"
    assert item["flavor"] == "dspace" and item["tls_mode"] == "selfsigned"  # nested defaults
    assert settings["demo_port"] == 8080  # role defaults


def test_valid_site_has_hostvars_without_secrets(tmp_path: Path) -> None:
    inline = _inline_vault("s3cr3t-inline-value")
    files = {"host_vars/repo.yml": f"local_token: {inline}\ndemo_timezone: America/Lima\n"}
    root, password = build(tmp_path / "site", files)
    loaded = load_site(root, password)
    assert loaded.name == "demo" and loaded.hosts == ["repo"]
    assert loaded.vault_file == root / VAULT and loaded.vault_password_file == password
    hostvars = loaded.hostvars["repo"]
    assert hostvars["demo_timezone"] == "America/Lima"
    assert "vault_instance_secrets" not in hostvars and "local_token" not in hostvars
    assert "db-repo-Xk2Lm9Qp4Rt7" in loaded.secrets and "s3cr3t-inline-value" in loaded.secrets
    assert "demo_port" not in hostvars  # no spec defaults


def _inline_vault(value: str) -> str:
    from dspace_deploy.inventory.vault import encrypt_text
    from tests.unit.fixtures.helpers import PASSWORD

    body = encrypt_text(value, PASSWORD.encode())
    return "!vault |\n" + "".join(f"  {line}\n" for line in body.splitlines())


def test_templates_are_not_type_checked(tmp_path: Path) -> None:
    files = {SITE: site(demo_port="{{ local_port }}", local_port=8081)}
    root, password = build(tmp_path / "site", files)
    assert load_site(root, password).hostvars["repo"]["demo_port"] == "{{ local_port }}"


def test_secret_referenced_from_the_vault_is_fine(tmp_path: Path) -> None:
    files = {SITE: site(demo_token="{{ vault_demo_token }}")}
    root, password = build(tmp_path / "site", files,
                           vault={**secrets_for("repo"), "vault_demo_token": "t0k3n-value",
                                  "vault_local_smtp": "smtp-pass"})
    loaded = load_site(root, password)
    assert "t0k3n-value" in loaded.secrets and "smtp-pass" in loaded.secrets


def test_acme_with_an_internal_ca_may_certify_internal_names(tmp_path: Path) -> None:
    item = instance(tls_mode="acme", hostname="repo.corp.internal",
                    acme_directory_url="https://ca.corp.internal/acme/directory")
    root, password = build(tmp_path / "site", {SITE: site(dspace_instances=[item])})
    load_site(root, password)


def test_provided_certificate_paths_are_relative_to_the_inventory(tmp_path: Path) -> None:
    item = instance(tls_mode="provided", tls_certificate_file="tls.crt.txt",
                    tls_key_file=str(tmp_path / "key.pem"))
    root, password = build(tmp_path / "site", {SITE: site(dspace_instances=[item]),
                                               "tls.crt.txt": "certificate"})
    (tmp_path / "key.pem").write_text("key")
    load_site(root, password)


# --- errors that are not a list of problems ---------------------------------------------


def test_missing_directory_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="dspace-deploy init DIR"):
        load_site(tmp_path / "nowhere")


def test_directory_without_hosts_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no hosts\.yml") as info:
        load_site(tmp_path)
    assert "dspace-deploy init" in str(info.value)


def test_ini_inventory_gets_a_conversion_hint(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[dspace]\nrepo\n")
    with pytest.raises(InputError, match="ansible-inventory -i hosts -y --list"):
        load_site(tmp_path)


def test_missing_password_file_names_path_flag_and_variable(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site")
    with pytest.raises(EnvironmentProblem) as info:
        load_site(root)  # default: $XDG_CONFIG_HOME/dspace-deploy/vault-passwords/demo.txt
    message = str(info.value)
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert str(tmp_path / "config/dspace-deploy/vault-passwords/demo.txt") in message
    assert "--vault-password-file" in message and "DSPACE_DEPLOY_VAULT_PASSWORD_FILE" in message


def test_password_file_from_the_environment(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root, password = build(tmp_path / "site")
    monkeypatch.setenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", str(password))
    assert load_site(root).vault_password_file == password


def test_wrong_vault_password_is_bad_input(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    with pytest.raises(InputError, match="cannot be decrypted"):
        load_site(root, wrong)


def test_password_file_inside_the_inventory_is_refused(tmp_path: Path) -> None:
    root, password = build(tmp_path / "site")
    inside = root / ".vault-pass"
    inside.write_text(password.read_text())
    with pytest.raises(InputError, match="inside the inventory directory"):
        load_site(root, inside)


def test_without_the_vault_nothing_secret_is_needed(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site", vault=secrets_for("other"))
    loaded = load_site(root, require_vault=False)
    assert loaded.secrets == []


def test_broken_inventory_fails_without_importing_anything_remote(tmp_path: Path) -> None:
    """Pure file reading: no network, no Ansible, no runner."""
    root, password = build(tmp_path / "site", {SITE: site(demo_port="x")})
    script = f"""
import socket, sys
def refuse(*args, **kwargs):
    raise AssertionError("network used")
socket.socket.connect = refuse
socket.create_connection = refuse
from pathlib import Path
from dspace_deploy import resources
resources.roles_dir = lambda: Path({str(FIXTURE_ROLES)!r})
from dspace_deploy.errors import ValidationFailed
from dspace_deploy.inventory.validate import load_site
try:
    load_site(Path({str(root)!r}), Path({str(password)!r}))
except ValidationFailed as error:
    assert "demo_port" in str(error)
else:
    raise AssertionError("no problem found")
# Decrypting the vault may import ansible.parsing.vault; nothing that reaches hosts may load.
remote = ("ansible_runner", "ansible.executor", "ansible.inventory", "ansible.plugins",
          "paramiko", "requests", "boto3", "urllib3")
heavy = [m for m in sys.modules if m.startswith(remote)]
assert not heavy, heavy
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("case_id", ["line-not-allowed", "yaml-syntax-error", "no-dspace-group"])
def test_cli_reports_problems_without_traceback(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    root, password = build(tmp_path / "site", case.files, vault=case.vault)
    code, out, err = run_cli("validate", "-i", str(root), "--vault-password-file", str(password))
    assert code == EXIT_BAD_INPUT, err
    assert err.startswith("error: The inventory has")
    assert case.key in err
    assert "Traceback" not in err + out


def test_cli_validate_json(tmp_path: Path) -> None:
    root, password = build(tmp_path / "site")
    code, out, _ = run_cli("validate", "--json", "-i", str(root), "--vault-password-file",
                           str(password))
    assert code == 0
    document = json.loads(out)
    assert document["ok"] is True and document["site"] == "demo"
    assert document["hosts"][0]["instances"][0]["version"] == "9.3"
    root, password = build(tmp_path / "broken", {SITE: site(demo_port="x")})
    code, out, _ = run_cli("validate", "--json", "-i", str(root), "--vault-password-file",
                           str(password))
    assert code == EXIT_BAD_INPUT
    assert json.loads(out)["problems"][0]["key"] == "demo_port"


def test_cli_validate_without_the_vault(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site")
    code, out, err = run_cli("validate", "--no-vault", "-i", str(root))
    assert code == 0, err
    assert "vault not checked" in out


# --- the example inventories --------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_inventory_validates(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "roles_dir", lambda: REPO / "roles")
    loaded = load_site(EXAMPLES / name, EXAMPLE_PASSWORD_FILE)
    assert loaded.hosts
    assert (EXAMPLES / name / "README.md").is_file()
    for host in loaded.hosts:
        assert loaded.hostvars[host]["dspace_instances"]
    assert len(loaded.secrets) >= 2


def test_national_network_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "roles_dir", lambda: REPO / "roles")
    loaded = load_site(EXAMPLES / "national-network", EXAMPLE_PASSWORD_FILE)
    hv = loaded.hostvars
    assert len(loaded.hosts) >= 5
    assert hv["ufam"]["common_timezone"] == "America/Manaus"  # group north
    assert hv["ufrr"]["common_timezone"] == "America/Boa_Vista"  # host override
    assert hv["ufsc"]["common_timezone"] == "America/Sao_Paulo"  # all
    assert "ProxyJump" in hv["ufsc"]["ansible_ssh_common_args"]
    lines = {i["line"] for h in hv.values() for i in h["dspace_instances"]}
    assert lines == {"8", "9", "10"}


def test_example_password_is_labelled() -> None:
    from tests.unit.fixtures.helpers import EXAMPLE_PASSWORD_SOURCE

    assert "EXAMPLE" in EXAMPLE_PASSWORD_SOURCE.read_text()
    assert EXAMPLE_PASSWORD_SOURCE.parent == EXAMPLES
    assert EXAMPLE_PASSWORD_FILE.read_text() == EXAMPLE_PASSWORD_SOURCE.read_text()
    assert EXAMPLE_PASSWORD_FILE.stat().st_mode & 0o777 == 0o600





def test_a_host_of_its_own_may_carry_no_instance(tmp_path: Path) -> None:
    """An empty list for one host (hosts.yml) gives it the base system only; the site-wide
    empty list stays an error (empty-instance-list above)."""
    from tests.unit.fixtures.helpers import build

    hosts = {"all": {"children": {"dspace": {"hosts": {
        "repo": {"ansible_host": "192.0.2.10"},
        "spare": {"ansible_host": "192.0.2.11", "dspace_instances": []},
    }}}}}
    inventory, password = build(tmp_path / "inv", {"hosts.yml": hosts})
    site_ = load_site(inventory, password)
    assert site_.hostvars["spare"]["dspace_instances"] == []
    assert len(site_.hostvars["repo"]["dspace_instances"]) == 1
