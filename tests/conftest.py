"""Shared test setup: the tiny ``blobs`` test modality is registered for every test.

Tests use one intra-op thread (and tell subprocesses to): their models are tiny, and two
OpenMP pools spinning on two cores slow every process down many times over.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import blobs_modality  # noqa: F401  (registers the modality)
import torch

torch.set_num_threads(1)
