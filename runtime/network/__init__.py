"""Networking: IPAM, bridges and veths, nftables rules, published ports, embedded DNS, /etc files.

Each module is one building block with a small interface; the engine wires
them into network and container life cycles. `ipam`, `ports` (parsing),
`files`, `endpoints` (a container's place on the networks) and
`docker_json` (the API's shapes) are pure; `store` keeps the network
records; `bridge`, `nat` and `dns` touch the kernel; `manager` is the
engine's network manager over all of them. runtime/containers/networking.py
ties it to the container life cycle.
"""
