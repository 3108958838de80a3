"""The lookup dspace.deploy.parameters_valid: a refused value is named, a secret one is not."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.unit.fixtures.helpers import REPO, load_file_module

LOOKUP = (REPO / "collections" / "ansible_collections" / "dspace" / "deploy" / "plugins"
          / "lookup" / "parameters_valid.py")

pv = load_file_module(LOOKUP, "parameters_valid")

SPEC = {"admin_password": {"type": "str", "no_log": True, "choices": ["a", "b"]},
        "mode": {"type": "str", "choices": ["one", "two"]}}


def _messages(values: dict[str, str]) -> list[str]:
    checked = ArgumentSpecValidator(SPEC).validate(values, validate_role_argument_spec=True)
    return list(pv._masked(checked.error_messages, checked._no_log_values))


def test_a_refused_secret_value_is_masked_in_the_message() -> None:
    (message,) = _messages({"admin_password": "s3cret-Value"})
    assert "s3cret-Value" not in message
    assert message.endswith("got: ********") and "admin_password" in message


def test_a_refused_plain_value_is_named() -> None:
    (message,) = _messages({"mode": "three"})
    assert message == "value of mode must be one of: one, two, got: three"
