"""Shared test setup: the tiny ``blobs`` test modality is registered for every test."""

import blobs_modality  # noqa: F401  (registers the modality)
