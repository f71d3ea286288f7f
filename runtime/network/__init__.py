"""Networking: IPAM, bridges and veths, nftables rules, published ports, embedded DNS, /etc files.

Each module is one building block with a small interface; the engine wires
them into network and container life cycles. `ipam`, `ports` (parsing) and
`files` are pure; `bridge`, `nat` and `dns` touch the kernel.
"""
