"""What the client knows about registries: Docker's reference rules, the docker CLI's credentials, and
pull/push through the engine's API (the engine does the registry traffic; the client only sends who it is)."""
