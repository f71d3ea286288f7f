"""Containers: what one is (spec), how it is born and supervised, and its lifecycle."""
