"""`dspace-deploy report`: the network report (docs/report.md).

model (the data and what needs attention), probes (the controller's probes of each
instance), collect (status answers + probes -> report), history (earlier runs), html (the
self-contained page)."""
