"""``python -m vidsr`` (also what ``torchrun -m vidsr train ...`` runs)."""

from vidsr.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
