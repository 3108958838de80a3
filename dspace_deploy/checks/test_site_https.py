"""Checks of each repository as its users reach it: through nginx over HTTPS, by its public
name. The pieces have their own checks (backend, UI, proxy); these prove they are wired
together: `/server/api` reaches this instance's backend, `/server/oai/request?verb=Identify`
answers OAI-PMH, and `/` reaches its UI (the Angular application's `<ds-app>` root).

The requests run on the host itself (curl to 127.0.0.1:443 with the public name as SNI and
Host), so no DNS is needed; whether the certificate is valid for the name is checked by the
proxy checks.
"""

from __future__ import annotations

import json
from typing import Any


def _get(host: Any, hostname: str, path: str) -> tuple[int, str]:
    result = host.run(
        "curl -ks --max-time 60 --resolve %s:443:127.0.0.1 -w '\\n%%{http_code}' %s",
        hostname, f"https://{hostname}{path}",
    )
    assert result.rc == 0, f"https://{hostname}{path}: curl failed ({result.rc}): {result.stderr}"
    body, _, code = result.stdout.rpartition("\n")
    return int(code), body


def test_rest_root_through_https(host: Any, plans: list[dict[str, Any]]) -> None:
    for plan in plans:
        code, body = _get(host, plan["hostname"], "/server/api")
        assert code == 200, f"{plan['name']}: /server/api answered {code}: {body[:200]}"
        root = json.loads(body)
        assert root.get("dspaceServer") == plan["urls"]["server"], (plan["name"], root)
        assert root.get("dspaceUI") == plan["urls"]["ui"], (plan["name"], root)


def test_oai_pmh_identify(host: Any, plans: list[dict[str, Any]]) -> None:
    for plan in plans:
        code, body = _get(host, plan["hostname"], "/server/oai/request?verb=Identify")
        assert code == 200, f"{plan['name']}: OAI-PMH Identify answered {code}"
        assert "<Identify>" in body and "<repositoryName>" in body, (
            f"{plan['name']}: OAI-PMH Identify is not an Identify answer: {body[:300]}")


def test_ui_renders_through_https(host: Any, plans: list[dict[str, Any]]) -> None:
    for plan in plans:
        code, body = _get(host, plan["hostname"], "/")
        assert code == 200, f"{plan['name']}: the UI answered {code} through nginx"
        assert "<ds-app" in body, (
            f"{plan['name']}: the page through nginx is not the DSpace UI: {body[:300]}")
