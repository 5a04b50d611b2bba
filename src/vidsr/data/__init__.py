"""vidsr.data."""
