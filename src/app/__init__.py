"""Use cases, ports and the composition root."""
