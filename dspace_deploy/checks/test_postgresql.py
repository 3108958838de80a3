"""Checks of the `postgresql` role: what a host with DSpace databases must look like.

They apply to hosts whose variables list `postgresql_databases`. Variables hold no secret
(passwords are templates of vault variables), so an owner's ability to log in is checked
from what PostgreSQL itself holds: the role can log in and has a SCRAM-SHA-256 password, and
the authentication rules (as PostgreSQL parses them, `pg_hba_file_rules`) admit it to its
database from the loopback with scram-sha-256 before any rule rejects it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from dspace_deploy.checks.support import service_state

PORT = 5432
CLUSTER = "main"
EXTENSIONS_SCHEMA = "extensions"
LOOPBACK = {"127.0.0.1", "::1"}
_HOST_MASKS = {"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}
_SEP = "\x1f"  # field separator of psql's unaligned output (never inside a name)


def _databases(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    databases = list(hostvars.get("postgresql_databases") or [])
    if not databases:
        pytest.skip("postgresql_databases is empty: the host runs no DSpace database")
    return databases


def _as_postgres(host: Any, *argv: str) -> Any:
    """Run a command as the operating system user postgres (peer authentication)."""
    command = "runuser -u postgres -- " + " ".join(["%s"] * len(argv))
    if host.user().uid == 0:
        return host.run(command, *argv)
    with host.sudo():
        return host.run(command, *argv)


def _query(host: Any, sql: str, database: str = "postgres") -> list[list[str]]:
    """Rows of a query run by the superuser over the local socket; fails the check on error."""
    result = _as_postgres(host, "psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-p", str(PORT),
                          "-F", _SEP, "-d", database, "-c", sql)
    assert result.rc == 0, f"psql -d {database} failed: {result.stderr.strip()}"
    return [line.split(_SEP) for line in result.stdout.splitlines() if line]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _major(host: Any) -> str:
    """Major version of the cluster `main` on port 5432 (`pg_lsclusters -h`)."""
    result = host.run("pg_lsclusters -h")
    assert result.rc == 0, f"pg_lsclusters failed (PostgreSQL not installed?): {result.stderr}"
    for fields in (line.split() for line in result.stdout.splitlines()):
        if len(fields) >= 3 and fields[1] == CLUSTER and fields[2] == str(PORT):
            return fields[0]
    raise AssertionError(f"no cluster {CLUSTER} on port {PORT}: {result.stdout.strip()!r}")


def test_postgresqlservice_state(host: Any, hostvars: dict[str, Any]) -> None:
    _databases(hostvars)
    major = _major(host)
    enabled, running = service_state(host, "postgresql")
    assert enabled, "postgresql.service is not enabled (PostgreSQL would not start at boot)"
    assert running, "postgresql.service is not active"
    unit = f"postgresql@{major}-{CLUSTER}"
    _, cluster_running = service_state(host, unit)
    assert cluster_running, f"{unit}.service is not running"


def _expected_addresses(listen: str, host: Any) -> set[str] | None:
    """Addresses the server must listen on; None when any address is allowed ('*').

    PostgreSQL binds every address a name resolves to: `localhost` is 127.0.0.1, plus ::1
    where the host's /etc/hosts says so (a Debian install does; podman's /etc/hosts not)."""
    wanted: set[str] = set()
    for item in (part.strip() for part in listen.split(",")):
        if item in ("*", "0.0.0.0", "::"):
            return None
        if not item:
            continue
        try:
            wanted.add(str(ipaddress.ip_address(item)))
        except ValueError:
            resolved = host.run("getent ahosts %s", item)
            assert resolved.rc == 0, f"{item} (postgresql_listen_addresses) does not resolve"
            wanted |= {line.split()[0] for line in resolved.stdout.splitlines() if line.strip()}
    return wanted


def _listening(host: Any, port: int) -> set[str]:
    """Local addresses with a TCP listener on port (`ss -Hltn`)."""
    found: set[str] = set()
    for line in host.check_output("ss -Hltn").splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, listen_port = fields[3].rpartition(":")
        if listen_port == str(port):
            found.add(address.strip("[]").split("%")[0])
    return found


def test_postgresql_listens_on_loopback_only(host: Any, hostvars: dict[str, Any]) -> None:
    _databases(hostvars)
    listen = str(hostvars["postgresql_listen_addresses"])
    found = _listening(host, PORT)
    assert found, f"nothing listens on TCP port {PORT}"
    wanted = _expected_addresses(listen, host)
    if wanted is None:
        pytest.skip(f"postgresql_listen_addresses is {listen!r}: any address is allowed")
    if listen == "localhost":
        beyond = sorted(a for a in wanted if not ipaddress.ip_address(a).is_loopback)
        assert not beyond, f"localhost resolves to {beyond}, beyond the loopback (/etc/hosts)"
    missing = wanted - found
    extra = found - wanted
    assert not missing, f"PostgreSQL does not listen on {sorted(missing)} port {PORT}"
    assert not extra, (
        f"TCP port {PORT} is open on {sorted(extra)}, beyond {sorted(wanted)} "
        f"(postgresql_listen_addresses {listen!r})"
    )
    setting = _query(host, "SELECT current_setting('listen_addresses')")
    assert setting == [[listen]], f"listen_addresses is {setting}, expected {listen!r}"


def test_postgresql_databases(host: Any, hostvars: dict[str, Any]) -> None:
    databases = _databases(hostvars)
    rows = _query(host, "SELECT d.datname, r.rolname, pg_encoding_to_char(d.encoding) "
                        "FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba")
    present = {name: (owner, encoding) for name, owner, encoding in rows}
    for database in databases:
        name, owner = database["name"], database["owner"]
        assert name in present, f"database {name} does not exist"
        assert present[name][0] == owner, f"database {name} is owned by {present[name][0]}"
        assert present[name][1] == "UTF8", f"database {name} has encoding {present[name][1]}"
        wanted = set(database.get("extensions") or [])
        extensions = {ext: schema for ext, schema in _query(
            host, "SELECT e.extname, n.nspname FROM pg_extension e "
                  "JOIN pg_namespace n ON n.oid = e.extnamespace", name)}
        missing = wanted - set(extensions)
        assert not missing, f"database {name} lacks the extension(s) {sorted(missing)}"
        misplaced = {e: extensions[e] for e in wanted if extensions[e] != EXTENSIONS_SCHEMA}
        assert not misplaced, f"database {name}: extensions not in {EXTENSIONS_SCHEMA}: {misplaced}"
        if wanted:
            path = _query(host, "SHOW search_path", name)
            schemas = [s.strip().strip('"') for s in path[0][0].split(",")] if path else []
            assert EXTENSIONS_SCHEMA in schemas, (
                f"database {name}: search_path {schemas} lacks {EXTENSIONS_SCHEMA}, so DSpace "
                "would not find the extension's functions"
            )


def _hba_rules(host: Any) -> list[dict[str, str]]:
    """The authentication rules as PostgreSQL parses pg_hba.conf, in file order."""
    rows = _query(host, "SELECT line_number, type, array_to_string(database, ','), "
                        "array_to_string(user_name, ','), coalesce(address, ''), "
                        "coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(error, '') "
                        "FROM pg_hba_file_rules ORDER BY line_number")
    keys = ("line", "type", "database", "user", "address", "netmask", "method", "error")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _is_loopback_host(rule: dict[str, str]) -> bool:
    return rule["address"] in LOOPBACK and rule["netmask"] in _HOST_MASKS


def _first_match(rules: list[dict[str, str]], database: str, user: str,
                 address: str) -> dict[str, str] | None:
    """The rule PostgreSQL would apply to a TCP connection (the first that matches)."""
    client = ipaddress.ip_address(address)
    for rule in rules:
        if not rule["type"].startswith("host") or not rule["address"]:
            continue
        try:  # the netmask as a prefix length: ip_network takes no IPv6 netmask
            prefix = bin(int(ipaddress.ip_address(rule["netmask"]))).count("1")
            network = ipaddress.ip_network(f"{rule['address']}/{prefix}", strict=False)
        except ValueError:
            continue  # a host name: never written by the role
        if client.version != network.version or client not in network:
            continue
        if set(rule["database"].split(",")) & {database, "all"} and \
           set(rule["user"].split(",")) & {user, "all"}:
            return rule
    return None


def test_postgresql_owners_can_log_in(host: Any, hostvars: dict[str, Any]) -> None:
    databases = _databases(hostvars)
    roles = {name: (login, password_kind) for name, login, password_kind in _query(
        host, "SELECT rolname, rolcanlogin, "
              "CASE WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' "
              "WHEN rolpassword IS NULL THEN 'none' ELSE 'other' END FROM pg_authid")}
    rules = _hba_rules(host)
    for database in databases:
        name, owner = database["name"], database["owner"]
        assert owner in roles, f"role {owner} does not exist"
        login, password_kind = roles[owner]
        assert login == "t", f"role {owner} cannot log in (NOLOGIN)"
        problem = "no password" if password_kind == "none" else "a password not in SCRAM-SHA-256"
        assert password_kind == "scram", f"role {owner} has {problem}"
        for address in sorted(LOOPBACK):
            rule = _first_match(rules, name, owner, address)
            assert rule is not None, f"no pg_hba rule admits {owner} to {name} from {address}"
            assert rule["method"] == "scram-sha-256", (
                f"{owner} to {name} from {address}: pg_hba.conf line {rule['line']} says "
                f"{rule['method']}, not scram-sha-256"
            )


def test_postgresql_hba_is_strict(host: Any, hostvars: dict[str, Any]) -> None:
    _databases(hostvars)
    rules = _hba_rules(host)
    assert rules, "pg_hba.conf holds no rule"
    errors = [f"line {r['line']}: {r['error']}" for r in rules if r["error"]]
    assert not errors, f"PostgreSQL rejects pg_hba.conf: {errors}"
    trusting = [r["line"] for r in rules if r["method"] == "trust"]
    assert not trusting, f"pg_hba.conf trusts without a password on line(s) {trusting}"
    wide = [f"line {r['line']}: {r['address']}/{r['netmask']} {r['method']}" for r in rules
            if r["type"].startswith("host") and r["method"] != "reject"
            and not _is_loopback_host(r)]
    assert not wide, f"pg_hba.conf admits connections from beyond the loopback: {wide}"
    local = [f"line {r['line']}: {r['database']} {r['user']} {r['method']}" for r in rules
             if r["type"] == "local" and r["method"] != "reject"
             and not (r["user"] == "postgres" and r["method"] == "peer")]
    assert not local, f"pg_hba.conf admits local socket connections beyond postgres: {local}"
    allowed = {(d["name"], d["owner"]) for d in hostvars["postgresql_databases"]}
    others = [f"line {r['line']}: {r['database']} {r['user']}" for r in rules
              if r["type"].startswith("host") and r["method"] != "reject"
              and (r["database"], r["user"]) not in allowed]
    assert not others, f"pg_hba.conf admits pairs not in postgresql_databases: {others}"
