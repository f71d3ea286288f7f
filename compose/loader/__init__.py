"""Loader pipeline: compose files to a normalized project mapping."""
