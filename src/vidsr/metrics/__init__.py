"""vidsr.metrics."""
