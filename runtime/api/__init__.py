"""The Docker Engine API over a UNIX socket: server, router and routes."""
