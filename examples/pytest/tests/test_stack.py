"""pytest-docker's usual flow: wait until the service answers, then talk to it."""

import urllib.request


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode()


def responsive(url: str) -> bool:
    try:
        fetch(url)
        return True
    except OSError:
        return False


def test_web_serves_the_page_store_wrote(docker_ip, docker_services):
    url = f"http://{docker_ip}:{docker_services.port_for('web', 8080)}/"
    docker_services.wait_until_responsive(check=lambda: responsive(url), timeout=30.0, pause=0.1)
    assert fetch(url) == "hello from store\n"


def test_cache_answers(docker_ip, docker_services):
    url = f"http://{docker_ip}:{docker_services.port_for('cache', 9000)}/ping"
    docker_services.wait_until_responsive(check=lambda: responsive(url), timeout=30.0, pause=0.1)
    assert fetch(url) == "pong\n"


def test_port_for_an_unpublished_port_is_an_error(docker_services):
    try:
        docker_services.port_for("store", 1234)
    except Exception as exc:  # pytest-docker raises ValueError; a failed `port` command raises Exception
        assert "1234" in str(exc)
    else:
        raise AssertionError("port_for found a port that is not published")
