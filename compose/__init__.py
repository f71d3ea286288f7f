"""pycompose: the compose layer (files -> project -> Engine API calls)."""
