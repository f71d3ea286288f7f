"""`pycompose network …`: docker's network commands over the Engine API.

Output follows the docker CLI: `NETWORK ID  NAME  DRIVER  SCOPE` rows sorted
by name, `--format json` rows with docker's fields, the created id or the
removed names one per line, prune's question and report. Rows, the create
body and the report are pure functions; the commands fetch and print.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from compose.cli import tables
from compose.cli.engine_group import (
    Target,
    confirm_and_prune,
    each,
    engine_group,
    inspect_each,
    parse_filters,
    pass_target,
)

if TYPE_CHECKING:
    from compose.client import EngineClient

NETWORKS = tables.Listing(
    default="table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
    headers={"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
             "IPv4": "IPV4", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"},
)

network = engine_group("network", "Manage networks (docker network …).", {"list": "ls", "remove": "rm"})


def network_rows(networks: Sequence[Mapping[str, Any]], no_trunc: bool = False) -> list[dict[str, str]]:
    """`docker network ls` rows, sorted by name as docker sorts them."""
    rows = []
    for n in sorted(networks, key=lambda n: str(n.get("Name") or "")):
        labels = n.get("Labels") or {}
        network_id = str(n.get("Id") or "")
        rows.append({
            "ID": network_id if no_trunc else network_id[:12],
            "Name": str(n.get("Name") or ""),
            "Driver": str(n.get("Driver") or ""),
            "Scope": str(n.get("Scope") or ""),
            "IPv6": str(bool(n.get("EnableIPv6"))).lower(),
            "IPv4": str(n.get("EnableIPv4", True) is not False).lower(),
            "Internal": str(bool(n.get("Internal"))).lower(),
            "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
            "CreatedAt": str(n.get("Created") or ""),
        })
    return rows


def key_values(values: Sequence[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, _, arg = value.partition("=")
        if not key:
            raise click.BadParameter(f"invalid key=value: {value!r}", param_hint=flag)
        out[key] = arg
    return out


def create_body(name: str, driver: str, internal: bool, attachable: bool, ipv6: bool, labels: Sequence[str],
                opts: Sequence[str], subnets: Sequence[str], ip_ranges: Sequence[str], gateways: Sequence[str],
                aux: Sequence[str], ipam_driver: str, ipam_opts: Sequence[str]) -> dict[str, Any]:
    """The `POST /networks/create` body for docker's flags (one IPAM config per --subnet).

    As the docker CLI does, each --ip-range, --gateway and --aux-address goes with the subnet that
    contains it (an IPv4 and an IPv6 subnet side by side with --ipv6)."""
    if len(ip_ranges) > len(subnets) or len(gateways) > len(subnets):
        raise click.UsageError("every ip-range or gateway must have a corresponding subnet")
    configs: list[dict[str, Any]] = [{"Subnet": subnet} for subnet in subnets]
    for value in ip_ranges:
        _subnet_of(configs, value, "range")["IPRange"] = value
    for value in gateways:
        _subnet_of(configs, value, "gateway")["Gateway"] = value
    for key, value in key_values(aux, "--aux-address").items():
        _subnet_of(configs, value, "aux-address").setdefault("AuxiliaryAddresses", {})[key] = value
    body: dict[str, Any] = {
        "Name": name,
        "Driver": driver,
        "Internal": internal,
        "Attachable": attachable,
        "Options": key_values(opts, "--opt"),
        "Labels": key_values(labels, "--label"),
        "IPAM": {"Driver": ipam_driver, "Config": configs, "Options": key_values(ipam_opts, "--ipam-opt")},
    }
    if ipv6:
        body["EnableIPv6"] = True
    return body


def _subnet_of(configs: list[dict[str, Any]], value: str, what: str) -> dict[str, Any]:
    import ipaddress

    try:
        inner = ipaddress.ip_network(value, strict=False)
        subnets = [(c, ipaddress.ip_network(c["Subnet"], strict=False)) for c in configs]
        found = [c for c, net in subnets if net.version == inner.version and inner.subnet_of(net)]  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(f"invalid {what} {value}: {exc}") from None
    if not found:
        raise click.UsageError(f"no matching subnet for {what} {value}")
    if what != "range" and what in found[0]:
        raise click.UsageError(f"cannot configure multiple {what}s for the same subnet")
    return found[0]


def prune_report(report: Mapping[str, Any]) -> str:
    deleted = report.get("NetworksDeleted") or []
    if not deleted:
        return ""
    # docker prints the report with Println: one blank line after the names.
    return "Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted) + "\n"


def endpoint_config(aliases: Sequence[str], ip: str | None, links: Sequence[str],
                    driver_opts: Sequence[str], ip6: str | None = None,
                    link_local: Sequence[str] = ()) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if aliases:
        config["Aliases"] = list(aliases)
    ipam = {k: v for k, v in (("IPv4Address", ip), ("IPv6Address", ip6), ("LinkLocalIPs", list(link_local))) if v}
    if ipam:
        config["IPAMConfig"] = ipam
    if links:
        config["Links"] = list(links)
    if driver_opts:
        config["DriverOpts"] = key_values(driver_opts, "--driver-opt")
    return config


# commands


@network.command()
@click.argument("name")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Driver to manage the network.")
@click.option("--internal", is_flag=True, help="Restrict external access to the network.")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment.")
@click.option("--ipv6", is_flag=True, help="Enable IPv6 networking.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set metadata on a network.")
@click.option("-o", "--opt", "opts", multiple=True, metavar="KEY=VALUE", help="Set driver specific options.")
@click.option("--subnet", "subnets", multiple=True, help="Subnet in CIDR format.")
@click.option("--ip-range", "ip_ranges", multiple=True, help="Allocate container ip from a sub-range.")
@click.option("--gateway", "gateways", multiple=True, help="IPv4 or IPv6 Gateway for the master subnet.")
@click.option("--aux-address", "aux", multiple=True, metavar="NAME=IP",
              help="Auxiliary addresses used by the network driver.")
@click.option("--ipam-driver", default="default", help="IP Address Management Driver.")
@click.option("--ipam-opt", "ipam_opts", multiple=True, metavar="KEY=VALUE", help="Set IPAM driver options.")
@pass_target
def create(target: Target, name: str, driver: str, internal: bool, attachable: bool, ipv6: bool,
           labels: tuple[str, ...], opts: tuple[str, ...], subnets: tuple[str, ...], ip_ranges: tuple[str, ...],
           gateways: tuple[str, ...], aux: tuple[str, ...], ipam_driver: str, ipam_opts: tuple[str, ...]) -> None:
    """Create a network."""
    body = create_body(name, driver, internal, attachable, ipv6, labels, opts, subnets, ip_ranges, gateways, aux,
                       ipam_driver, ipam_opts)

    async def work(client: EngineClient) -> Any:
        return await (await client.post("/networks/create", json=body)).json()

    print(target.call(work)["Id"])


@network.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter: driver=, id=, label=, name=, scope=, type=, dangling=.")
@click.option("--format", "fmt", default=None, help="table, json, or a Go template.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs.")
@pass_target
def ls(target: Target, filters: tuple[str, ...], fmt: str | None, no_trunc: bool, quiet: bool) -> None:
    """List networks."""
    spec = parse_filters(filters)

    async def work(client: EngineClient) -> Any:
        return await (await client.get("/networks", {"filters": spec or None})).json()

    sys.stdout.write(tables.render(network_rows(target.call(work) or [], no_trunc), NETWORKS, fmt, quiet))


@network.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default=None, help="json, or a Go template.")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics.")
@pass_target
def inspect(target: Target, names: tuple[str, ...], fmt: str | None, verbose: bool) -> None:
    """Display detailed information on one or more networks."""
    inspect_each(target, names, fmt, "/networks/{}", {"verbose": verbose or None})


@network.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist.")
@pass_target
def rm(target: Target, names: tuple[str, ...], force: bool) -> None:
    """Remove one or more networks."""

    async def remove(client: EngineClient, name: str) -> None:
        await (await client.delete(f"/networks/{name}")).read()

    each(target, names, remove, missing_ok=force)


@network.command()
@click.argument("network_name", metavar="NETWORK")
@click.argument("container")
@click.option("--alias", "aliases", multiple=True, help="Add network-scoped alias for the container.")
@click.option("--ip", default=None, help="IPv4 address (e.g., 172.30.100.104).")
@click.option("--ip6", default=None, help="IPv6 address (e.g., 2001:db8::33).")
@click.option("--link-local-ip", "link_local", multiple=True, help="Add a link-local address for the container.")
@click.option("--link", "links", multiple=True, help="Add link to another container.")
@click.option("--driver-opt", "driver_opts", multiple=True, help="Driver options for the network.")
@pass_target
def connect(target: Target, network_name: str, container: str, aliases: tuple[str, ...], ip: str | None,
            ip6: str | None, link_local: tuple[str, ...], links: tuple[str, ...], driver_opts: tuple[str, ...]) -> None:
    """Connect a container to a network."""
    body = {"Container": container,
            "EndpointConfig": endpoint_config(aliases, ip, links, driver_opts, ip6, link_local)}

    async def work(client: EngineClient) -> None:
        await (await client.post(f"/networks/{network_name}/connect", json=body)).read()

    target.call(work)


@network.command()
@click.argument("network_name", metavar="NETWORK")
@click.argument("container")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network.")
@pass_target
def disconnect(target: Target, network_name: str, container: str, force: bool) -> None:
    """Disconnect a container from a network."""
    body = {"Container": container, "Force": force}

    async def work(client: EngineClient) -> None:
        await (await client.post(f"/networks/{network_name}/disconnect", json=body)).read()

    target.call(work)


@network.command()
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Filter: until=, label=, label!=.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@pass_target
def prune(target: Target, filters: tuple[str, ...], force: bool) -> None:
    """Remove all unused networks."""
    confirm_and_prune(target, "/networks/prune", parse_filters(filters),
                      "WARNING! This will remove all custom networks not used by at least one container.", force,
                      prune_report)
