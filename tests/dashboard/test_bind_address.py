"""Addresses of the controller's API: the one shown to this machine's CLI, and the one its
jobs report hints to, which must work from another machine of a Ray cluster."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from adaptsched.cluster.process import reachable_host, url_for


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "ctl.example"])
def test_a_named_bind_is_reached_at_its_own_address(host: str) -> None:
    assert reachable_host(host) == host


def test_a_wildcard_bind_gives_jobs_a_routable_address() -> None:
    """Bound to every interface, the server is shown to this machine's CLI on loopback, but
    its jobs get the machine's own address (on another node, 127.0.0.1 is that node), and a
    real connection to that address reaches the server."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("0.0.0.0", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        assert url_for("0.0.0.0", port) == f"http://127.0.0.1:{port}"
        host = reachable_host("0.0.0.0")
        address = ipaddress.ip_address(host)  # an address, not a name
        assert address.version == 4 and not address.is_unspecified
        with socket.create_connection((host, port), timeout=5):
            conn, _ = server.accept()
            conn.close()
    finally:
        server.close()
