"""``python -m rqbench`` runs the command line."""

from rqbench.cli import main

main()
