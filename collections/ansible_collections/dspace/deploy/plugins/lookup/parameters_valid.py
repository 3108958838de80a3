"""Lookup dspace.deploy.parameters_valid: a role's parameters checked against its argument
spec on the controller, as ansible.builtin.validate_argument_spec does, without a task."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
---
name: parameters_valid
short_description: Validate a role's parameters against its argument spec, without a task
description:
  - Takes the options of one entry point of a role's C(meta/argument_specs.yml) and checks the
    variables of the same names (templated) with the validator of
    C(ansible.builtin.validate_argument_spec) (ansible-core's C(ArgumentSpecValidator), the
    checks of a role's argument spec).
  - Returns C(true) when they are valid; fails the task that uses it otherwise, with the
    validator's messages.
  - Used by the gate C(dspace.deploy.action) in the C(when) of the task that runs a role's
    checks or steps, so that the validation costs no task of its own and happens only when
    they run.
options:
  _terms:
    description: The options of the argument spec (a mapping of name to attributes).
    required: true
  subject:
    description: What the role manages, for the error message.
    type: str
    default: the role
"""

EXAMPLES = r"""
- name: Run the deploy tasks of the Solr server
  ansible.builtin.include_role:
    name: solr
    tasks_from: deploy
  when: lookup('dspace.deploy.parameters_valid', spec_options, subject='the Solr server')
"""

RETURN = r"""
_raw:
  description: C(true) when the parameters are valid.
  type: list
  elements: bool
"""


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None,
            **kwargs: Any) -> list[bool]:
        self.set_options(var_options=variables, direct=kwargs)
        spec = terms[0] if terms else {}
        if not isinstance(spec, dict):
            raise AnsibleLookupError(f"an argument spec's options (a mapping), not {spec!r}")
        known = variables or {}
        # As validate_argument_spec: the variables named in the spec, templated.
        values = self._templar.template({name: known[name] for name in spec if name in known})
        checked = ArgumentSpecValidator(spec).validate(values, validate_role_argument_spec=True)
        if checked.error_messages:
            raise AnsibleLookupError(
                f"The parameters of {self.get_option('subject')} are invalid: "
                + "; ".join(_masked(checked.error_messages, checked._no_log_values)))
        return [True]


def _masked(messages: list[str], secrets: set[str]) -> list[str]:
    """The validator's messages with the values of no_log options hidden: a message such as
    "value of x must be one of: ..., got: VALUE" must not carry a password into the log."""
    masked = []
    for message in messages:
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                message = message.replace(secret, "********")
        masked.append(message)
    return masked
