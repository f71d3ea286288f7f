"""pycompose engine: the daemon behind the Docker Engine API."""
