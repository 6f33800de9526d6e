"""Command-line interface: `adaptsched SUBCOMMAND ...`."""
