"""OAI-PMH for the network report: a harvester (`harvest`) and the network's validation rules
(`rules`, `validate`). Standard library only, so that it can also run on a managed host."""
