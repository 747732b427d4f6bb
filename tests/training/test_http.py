"""The hardened outbound HTTP client, against a real page server on 127.0.0.1."""

from __future__ import annotations

import ipaddress

import pytest

from convix import http
from convix.http import FetchError


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104 - an address to check, not one to bind
        ("224.0.0.251", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
    ],
)
def test_public_address_check(address, public):
    assert http.is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/file", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("http://user:secret@example.com/", "invalid_url"),
        ("http:///no-host", "invalid_url"),
        ("http://10.0.0.8/admin", "blocked_address"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://[::1]:8080/", "blocked_address"),
        ("http://localhost/", "blocked_address"),
        ("http://0x7f000001/", "blocked_address"),  # 127.0.0.1 written in hex
    ],
)
def test_bad_and_private_urls_are_refused_before_connecting(url, code):
    with pytest.raises(FetchError) as caught:
        http.fetch(url, allow_private=False)
    assert caught.value.code == code
    assert caught.value.retryable is False


def test_loopback_page_is_refused_unless_private_urls_are_allowed(page_server, settings):
    page_server.add("/about", "<p>About us</p>")
    settings.ALLOW_PRIVATE_URLS = False
    with pytest.raises(FetchError) as caught:
        http.fetch(page_server.url("/about"))
    assert caught.value.code == "blocked_address"
    assert str(caught.value) == (
        "127.0.0.1 resolves to a private or reserved address (127.0.0.1); Convix only fetches public web pages."
    )
    assert page_server.hits["/about"] == 0

    settings.ALLOW_PRIVATE_URLS = True
    page = http.fetch(page_server.url("/about"))
    assert (page.status_code, page.content_type, page.text) == (200, "text/html", "<p>About us</p>")
    assert page_server.hits["/about"] == 1


def test_the_host_name_is_sent_while_connecting_to_the_checked_address(page_server, allow_private_urls):
    page_server.add("/hello", "hi", content_type="text/plain")
    page = http.fetch(page_server.url("/hello", host="localhost"))
    assert page.text == "hi"
    assert page_server.hosts == [f"localhost:{page_server.port}"]


def test_redirects_are_followed_and_every_hop_is_checked(page_server, settings):
    settings.ALLOW_PRIVATE_URLS = False
    page_server.add("/old", "", status=301, headers={"Location": "/new"})
    page_server.add("/new", "<p>New page</p>")
    page_server.add("/sneaky", "", status=302, headers={"Location": "http://10.0.0.8/admin"})
    loopback_only = ["127.0.0.0/8"]

    page = http.fetch(page_server.url("/old"), allow_networks=loopback_only)
    assert (page.url, page.text) == (page_server.url("/new"), "<p>New page</p>")

    with pytest.raises(FetchError) as caught:
        http.fetch(page_server.url("/sneaky"), allow_networks=loopback_only)
    assert caught.value.code == "blocked_address"
    assert page_server.hits["/sneaky"] == 1


def test_redirect_loops_stop(page_server, allow_private_urls):
    page_server.add("/a", "", status=302, headers={"Location": "/b"})
    page_server.add("/b", "", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError) as caught:
        http.fetch(page_server.url("/a"), max_redirects=3)
    assert (caught.value.code, str(caught.value)) == ("too_many_redirects", "More than 3 redirects.")
    assert page_server.hits["/a"] + page_server.hits["/b"] == 4


def test_declared_and_streamed_sizes_are_limited(page_server, allow_private_urls):
    page_server.add("/big", "x" * 5000)
    page_server.add_stream("/endless", size=3_000_000)
    with pytest.raises(FetchError) as declared:
        http.fetch(page_server.url("/big"), max_bytes=4096)
    assert (declared.value.code, str(declared.value)) == (
        "too_large",
        "The page is larger than the 4 KB limit.",
    )
    with pytest.raises(FetchError) as streamed:
        http.fetch(page_server.url("/endless"), max_bytes=1_048_576)
    assert (streamed.value.code, str(streamed.value)) == (
        "too_large",
        "The page is larger than the 1 MB limit.",
    )


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (429, True), (503, True)])
def test_error_statuses_say_whether_to_retry(page_server, allow_private_urls, status, retryable):
    page_server.add("/page", "nope", status=status)
    with pytest.raises(FetchError) as caught:
        http.fetch(page_server.url("/page"))
    assert (caught.value.code, caught.value.retryable, str(caught.value)) == (
        "http_status",
        retryable,
        f"127.0.0.1 answered {status}.",
    )


def test_a_closed_port_is_a_retryable_connection_error(allow_private_urls):
    import socket

    with socket.socket() as probe:  # find a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        http.fetch(f"http://127.0.0.1:{port}/")
    assert (caught.value.code, caught.value.retryable) == ("connect", True)
