"""The checks `dspace-deploy verify` runs for the common role, collected by molecule."""

from dspace_deploy.checks.test_common import *  # noqa: F403
