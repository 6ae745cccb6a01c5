"""The rqbench command line with the ``blobs`` test modality registered (for subprocess tests)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import blobs_modality  # noqa: F401

from rqbench.cli import main

main()
