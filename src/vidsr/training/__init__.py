"""vidsr.training."""
