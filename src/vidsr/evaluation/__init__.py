"""vidsr.evaluation."""
