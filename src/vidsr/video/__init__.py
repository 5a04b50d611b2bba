"""vidsr.video."""
