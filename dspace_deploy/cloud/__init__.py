"""Cloud VMs for a site: `dspace-deploy cloud up | list | down` (AWS, through boto3).

`aws.py` plans and applies (images, key pair, security group, instances with a data volume,
all tagged), lists and destroys by tag; `model.py` holds the typed results, `prices.py` the
dated price table and the monthly estimate, `userdata.py` the cloud-init document that mounts
the data volume at /srv, `inventory.py` writes the hosts into a site inventory.
boto3 is imported inside the functions that talk to AWS, never at module level.
"""
