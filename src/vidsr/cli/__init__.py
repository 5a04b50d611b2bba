"""Command-line interface: one module per subcommand, assembled in :mod:`vidsr.cli.main`."""
