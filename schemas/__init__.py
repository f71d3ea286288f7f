"""JSON schemas shipped with pycompose."""
