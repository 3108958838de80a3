"""Filter dspace.deploy.stamp_verdict: a role's fast-path verdict from the host's survey,
decided on the controller (no call to the host)."""

from __future__ import annotations

from typing import Any

# The module's own comparison, so that the host (check, stamp) and the controller (this
# filter) cannot disagree on what a stamp means.
from ansible_collections.dspace.deploy.plugins.modules.converged_state import (
    make_spec,
    verdict,
)

DOCUMENTATION = r"""
---
name: stamp_verdict
short_description: Why a role differs from its converged-state stamp, from the run's survey
description:
  - Compares a role's inputs (their salted hash) and the paths and units its stamp covers
    with the survey that C(dspace.deploy.converged_state state=survey) took of every stamp
    of the host at the start of the run, and adds what the survey found changed on the host
    (a path, a unit).
  - Returns the reason (C(no stamp), C(inputs changed), C(managed paths changed),
    C(/etc/x changed), C(solr is inactive), ...), the empty string when the role is converged.
positional: _input, name, inputs, spec
options:
  _input:
    description: The registered result of the survey.
    type: dict
    required: true
  name:
    description: The stamp name.
    type: str
    required: true
  inputs:
    description: The role's inputs, as the gate passes them to C(converged_state).
    type: raw
    required: true
  spec:
    description: C(paths), C(trees), C(exclude), C(units_active), C(units_enabled) of the stamp.
    type: dict
    required: true
"""

EXAMPLES = r"""
converged: "{{ dspace_fast_path_survey | dspace.deploy.stamp_verdict('solr', inputs, spec) == '' }}"
"""

RETURN = r"""
_value:
  description: The reason the role must converge, empty when it need not.
  type: str
"""


def stamp_verdict(survey: Any, name: str, inputs: Any, spec: Any) -> str:
    spec = spec or {}
    wanted = make_spec(list(spec.get("paths") or []), list(spec.get("trees") or []),
                       list(spec.get("exclude") or []), list(spec.get("units_active") or []),
                       list(spec.get("units_enabled") or []))
    return verdict(survey, str(name), inputs, wanted)


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"stamp_verdict": stamp_verdict}
