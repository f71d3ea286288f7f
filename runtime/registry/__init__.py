"""The registry client: OCI distribution (pull, push, login) against Docker-style registries.

`config` (daemon settings: insecure registries, mirrors, CA folders, concurrency), `auth`
(credentials and WWW-Authenticate challenges), `client` (HTTP with auth, TLS, fallback),
`manifests` (media types and platform choice), `fetch` (one layer: download, verify,
extract while it streams, resume), `pull`, `push`, `progress` (dockerd's NDJSON messages).
"""
