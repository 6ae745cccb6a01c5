"""Tests for rqbench.evaluate."""
