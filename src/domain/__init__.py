"""Pure domain core: the standard library only."""
