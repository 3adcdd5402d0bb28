"""``python -m loopsight`` runs the CLI."""

from __future__ import annotations

from loopsight.cli import main

main()
