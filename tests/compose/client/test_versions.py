"""Which API version to speak and what each version may carry (compose/client/versions.py, pure)."""

from __future__ import annotations

import pytest

from compose.client.versions import (
    API_VERSION,
    ApiVersionError,
    fit_body,
    fit_params,
    negotiate,
    route,
    split_endpoints,
)


def test_negotiation_speaks_the_older_of_the_two() -> None:
    assert negotiate("1.41") == "1.41"
    assert negotiate("1.47") == API_VERSION == "1.45"
    assert negotiate("1.45") == "1.45"
    assert negotiate("") == "1.24"  # no Api-Version header: Docker's client assumes 1.24
    with pytest.raises(ApiVersionError, match="too old"):
        negotiate("1.12")
    with pytest.raises(ApiVersionError, match=r"Minimum supported API version is 1\.46"):
        negotiate("1.50", engine_min="1.46")


def test_routes() -> None:
    assert route("POST", "/containers/abc/exec") == "POST /containers/{}/exec"
    assert route("POST", "/containers/create") == "POST /containers/create"
    assert route("POST", "/networks/n1/connect") == "POST /networks/{}/connect"


def test_our_version_sends_the_body_untouched() -> None:
    body = {"Healthcheck": {"StartInterval": 100}, "HostConfig": {"Annotations": {"a": "b"}}}
    assert fit_body("POST /containers/create", body, API_VERSION) is body


def test_defaults_newer_than_the_version_are_dropped() -> None:
    body = {"Image": "b", "Healthcheck": {"Test": ["NONE"], "StartInterval": 0},
            "HostConfig": {"ConsoleSize": [24, 80], "Annotations": {}, "Mounts": [
                {"Type": "bind", "BindOptions": {"Propagation": "rprivate", "CreateMountpoint": False}}]}}
    fitted = fit_body("POST /containers/create", body, "1.41")
    assert fitted == {"Image": "b", "Healthcheck": {"Test": ["NONE"]},
                      "HostConfig": {"Mounts": [{"Type": "bind", "BindOptions": {"Propagation": "rprivate"}}]}}
    assert body["HostConfig"]["ConsoleSize"] == [24, 80]  # the caller's body is not changed


@pytest.mark.parametrize(("body", "what", "since"), [
    ({"Healthcheck": {"StartInterval": 100_000_000}}, "healthcheck.start_interval", "1.44"),
    ({"HostConfig": {"Annotations": {"a": "b"}}}, "annotations", "1.43"),
    ({"HostConfig": {"Mounts": [{"Type": "volume", "VolumeOptions": {"Subpath": "x"}}]}}, "volume.subpath", "1.45"),
    ({"HostConfig": {"Mounts": [{"Type": "bind", "BindOptions": {"CreateMountpoint": True}}]}},
     "bind.create_host_path", "1.42"),
    ({"NetworkingConfig": {"EndpointsConfig": {"a": {}, "b": {}}}}, "several networks at create", "1.44"),
    ({"NetworkingConfig": {"EndpointsConfig": {"a": {"GwPriority": 5}}}}, "networks.gw_priority", "1.48"),
])
def test_what_the_project_asked_for_is_refused(body: dict[str, object], what: str, since: str) -> None:
    with pytest.raises(ApiVersionError) as caught:
        fit_body("POST /containers/create", body, "1.41")
    assert str(caught.value) == f'"{what}" requires API version {since}, but the Docker daemon API version is 1.41'
    assert caught.value.status == 400


def test_a_network_mac_address_becomes_the_containers_before_1_44() -> None:
    body = {"NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": ["x"], "MacAddress": "02:42:ac:11:00:09"}}}}
    assert fit_body("POST /containers/create", body, "1.43") == {
        "MacAddress": "02:42:ac:11:00:09", "NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": ["x"]}}}}
    assert fit_body("POST /containers/create", body, "1.44") == body


def test_exec_and_networks() -> None:
    assert fit_body("POST /containers/{}/exec", {"Cmd": ["true"], "ConsoleSize": [1, 2]}, "1.41") == {"Cmd": ["true"]}
    with pytest.raises(ApiVersionError, match=r"\"exec --workdir\" requires API version 1\.35"):
        fit_body("POST /containers/{}/exec", {"WorkingDir": "/x"}, "1.30")
    assert fit_body("POST /networks/create", {"Name": "n", "Attachable": False}, "1.24") == {"Name": "n"}
    with pytest.raises(ApiVersionError, match="mac_address of a network"):
        fit_body("POST /networks/{}/connect", {"EndpointConfig": {"MacAddress": "02:00:00:00:00:01"}}, "1.43")


def test_query_parameters() -> None:
    assert fit_params("POST /containers/{}/stop", {"t": 3, "signal": None}, "1.41") == {"t": 3}
    with pytest.raises(ApiVersionError, match=r"\"stop --signal\" requires API version 1\.42"):
        fit_params("POST /containers/{}/stop", {"signal": "SIGINT"}, "1.41")
    assert fit_params("POST /containers/{}/stop", {"signal": "SIGINT"}, "1.42") == {"signal": "SIGINT"}
    assert fit_params("POST /containers/create", {"name": "x", "platform": None}, "1.40") == {"name": "x"}


def test_endpoints_split_before_1_44() -> None:
    body = {"HostConfig": {"NetworkMode": "p_b"},
            "NetworkingConfig": {"EndpointsConfig": {"p_a": {"Aliases": ["a"]}, "p_b": {"Aliases": ["b"]}}}}
    first, later = split_endpoints(body, "1.41")
    assert first["NetworkingConfig"] == {"EndpointsConfig": {"p_b": {"Aliases": ["b"]}}}
    assert later == {"p_a": {"Aliases": ["a"]}}
    assert split_endpoints(body, "1.44") == (body, {})
