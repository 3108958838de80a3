"""dspace-deploy: deploy and operate DSpace and DSpace-CRIS repositories with Ansible.

Keep this module free of imports: `dspace-deploy --help` must stay fast.
"""

__version__ = "0.1.0"
