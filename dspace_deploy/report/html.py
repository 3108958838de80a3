"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no script, no
font, no image and no link to anything outside the file (it opens from a USB stick).

Rendered by Jinja2 (it comes with Ansible) with autoescaping on, from the JSON document
(`NetworkReport.as_dict()`), so the page shows exactly the data `--json` prints. Text goes
through the gettext catalogue (dspace_deploy.i18n) with Jinja's i18n extension.
"""

from __future__ import annotations

from typing import Any

from dspace_deploy.i18n import _, current, ngettext, pgettext

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 180, 44, 4


def version_number(version: Any) -> float | None:
    """"DSpace 9.3" -> 9.03 (majors and minors ordered on one axis); None if not a version."""
    if not isinstance(version, str):
        return None
    parts = version.split()[-1].split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
    return major + minor / 100


def chart(points: list[dict[str, Any]], field: str) -> dict[str, Any]:
    """A small line chart of one field over the runs: SVG coordinates (numbers only, so the
    template can write them as they are), the last value, and the range."""
    values: list[float | None] = []
    for point in points:
        value = point.get(field)
        if field == "version":
            values.append(version_number(value))
        else:
            values.append(float(value) if isinstance(value, int | float) else None)
    known = [v for v in values if v is not None]
    result: dict[str, Any] = {"field": field, "runs": len(values), "segments": [], "dots": [],
                              "last": points[-1].get(field) if points else None,
                              "low": min(known) if known else None,
                              "high": max(known) if known else None}
    if not known:
        return result
    low, high = min(known), max(known)
    if field == "oai_score":
        low, high = 0.0, 100.0
    span = (high - low) or 1.0
    step = (CHART_WIDTH - 2 * CHART_PAD) / max(len(values) - 1, 1)
    segment: list[str] = []
    for index, value in enumerate(values):
        if value is None:  # a run without the value breaks the line
            if segment:
                result["segments"].append(" ".join(segment))
            segment = []
            continue
        x = CHART_PAD + index * step if len(values) > 1 else CHART_WIDTH / 2
        y = CHART_HEIGHT - CHART_PAD - (value - low) / span * (CHART_HEIGHT - 2 * CHART_PAD)
        segment.append(f"{x:.1f},{y:.1f}")
        result["dots"].append((round(x, 1), round(y, 1)))
    if segment:
        result["segments"].append(" ".join(segment))
    return result


def render(document: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("dspace_deploy.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # newstyle: `_("... %(name)s", name=value)` formats after the lookup and escapes the value
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _, ngettext, newstyle=True, pgettext=pgettext)
    charts = {
        key: [chart(points, f) for f in ("version", "backup_age_hours", "oai_score")]
        for key, points in (document.get("history") or {}).items()
    }
    labels = {"version": _("version"), "backup_age_hours": _("backup age (h)"),
              "oai_score": _("OAI score")}
    states = {"critical": _("needs action"), "warning": _("needs a look"), "ok": _("fine")}
    # what the probes found on a handle port (docs/report.md, `handle.ports`)
    port_states = {"open": pgettext("port", "open"), "closed": pgettext("port", "closed"),
                   "filtered": pgettext("port", "filtered"),
                   "no answer": pgettext("port", "no answer"),
                   "not a handle server": pgettext("port", "not a handle server")}
    severities = {"error": pgettext("rule", "mandatory"),
                  "warning": pgettext("rule", "recommended")}
    return env.get_template("report.html.j2").render(
        doc=document, charts=charts, labels=labels, states=states, port_states=port_states,
        severities=severities, lang=current(), width=CHART_WIDTH, height=CHART_HEIGHT)
