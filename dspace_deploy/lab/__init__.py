"""Lab hosts: systemd containers (podman) from a locally built Debian image, with a ready
site inventory. `dspace-deploy lab` and the integration tests both use this package.

  images.py     the base image recipe, its hash-tagged build (debootstrap + podman import)
  podman.py     podman argument lists (pure) and their execution
  labs.py       create_lab / list_labs / destroy_lab: containers, SSH key, lab.json
  inventory.py  the lab's site inventory, written by inventory.scaffold.create_site
"""
