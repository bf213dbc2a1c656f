"""``python -m capplan`` runs the command line."""

from capplan.cli import main

main()
