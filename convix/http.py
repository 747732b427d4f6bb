"""The one hardened client for outbound HTTP to user-given URLs (httpx).

A merchant can type any URL into the dashboard, so a fetch is a server-side request made on
their behalf. Every fetch here:

- allows only ``http`` and ``https`` URLs without embedded credentials;
- resolves the host and refuses it if *any* of its addresses is private, loopback, link-local,
  multicast, reserved or otherwise not globally routable (unless ``settings.ALLOW_PRIVATE_URLS``,
  which tests set), then connects to the checked address itself, so a DNS answer that changes
  between the check and the connection (DNS rebinding) cannot redirect it; TLS still verifies
  the certificate against the host name;
- follows at most a few redirects by hand, checking every hop the same way;
- has connect/read timeouts and an overall deadline, and stops reading past a size limit
  (counted after decompression, so a small gzip bomb is caught too);
- ignores proxy environment variables, which would bypass these checks.

Errors are :class:`FetchError` with a ``code`` and whether retrying may help.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import time
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import httpx

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_DEADLINE_SECONDS = 30.0
DEFAULT_MAX_REDIRECTS = 5
USER_AGENT = "ConvixBot/1.0 (knowledge import; +https://github.com/convix)"
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A fetch failed. ``code`` names the failure; ``retryable`` says whether trying again later
    may succeed (timeouts, connection failures, 5xx and 429) or not (blocked address, 4xx,
    too large, bad URL)."""

    def __init__(self, message: str, *, code: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclasses.dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    status_code: int
    content_type: str  # without parameters, lower case
    charset: str | None
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded with its declared charset (UTF-8 if none or unknown)."""
        try:
            return self.body.decode(self.charset or "utf-8", errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _allow_private_default() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "ALLOW_PRIVATE_URLS", False))


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a globally routable unicast address. IPv4-mapped and 6to4/Teredo-embedded IPv4
    addresses are judged by the IPv4 address inside."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return is_public_address(embedded)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _parse(url: str):
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise FetchError(f"This is not a valid URL: {url!r}.", code="invalid_url") from error
    if parts.scheme not in ("http", "https"):
        raise FetchError("Only http:// and https:// URLs can be fetched.", code="invalid_url")
    if not parts.hostname:
        raise FetchError(f"This URL has no host name: {url!r}.", code="invalid_url")
    if parts.username or parts.password:
        raise FetchError("URLs with a user name or password in them are not fetched.", code="invalid_url")
    return parts, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        temporary = error.errno in (socket.EAI_AGAIN,)
        raise FetchError(f"The host {host!r} could not be found.", code="dns", retryable=temporary) from error
    addresses = []
    for info in infos:
        # Drop an IPv6 zone ("fe80::1%eth0"); the address itself is what is judged.
        addresses.append(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
    if not addresses:
        raise FetchError(f"The host {host!r} has no addresses.", code="dns")
    return list(dict.fromkeys(addresses))


def check_url(
    url: str, *, allow_private: bool | None = None, allow_networks: Sequence[str] = ()
) -> tuple[object, int, ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Validate ``url`` and resolve its host: returns (split URL, port, the address to connect to).

    Raises FetchError(code="blocked_address") when any address is not public, unless private
    addresses are allowed (``allow_private``, default ``settings.ALLOW_PRIVATE_URLS``) or the
    address is inside one of ``allow_networks``.
    """
    parts, port = _parse(url)
    addresses = resolve(parts.hostname, port)
    if allow_private is None:
        allow_private = _allow_private_default()
    if not allow_private:
        networks = [ipaddress.ip_network(n, strict=False) for n in allow_networks]
        for address in addresses:
            if not is_public_address(address) and not any(address in n for n in networks):
                raise FetchError(
                    f"{parts.hostname} resolves to a private or reserved address ({address}); "
                    "Convix only fetches public web pages.",
                    code="blocked_address",
                )
    return parts, port, addresses[0]


def fetch(
    url: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    deadline: float = DEFAULT_DEADLINE_SECONDS,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    accept: str = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
    allow_private: bool | None = None,
    allow_networks: Sequence[str] = (),
) -> FetchedPage:
    """GET ``url`` under the rules in the module docstring. Returns the 2xx response.

    ``timeout`` bounds each connect and read; ``deadline`` bounds the whole fetch including
    redirects. Raises FetchError for anything else.
    """
    started = time.monotonic()
    current = url
    with httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Accept": accept},
    ) as client:
        for _ in range(max_redirects + 1):
            parts, port, address = check_url(
                current, allow_private=allow_private, allow_networks=allow_networks
            )
            response_or_next = _fetch_once(
                client, parts, port, address, max_bytes=max_bytes, started=started, deadline=deadline
            )
            if isinstance(response_or_next, FetchedPage):
                return dataclasses.replace(response_or_next, url=current)
            current = urljoin(current, response_or_next)
        raise FetchError(f"More than {max_redirects} redirects.", code="too_many_redirects")


def _fetch_once(
    client: httpx.Client, parts, port: int, address, *, max_bytes: int, started: float, deadline: float
):
    """One request to the checked address. Returns a FetchedPage, or the Location of a redirect."""
    host_for_url = f"[{address}]" if address.version == 6 else str(address)
    path = parts.path or "/"
    target = f"{parts.scheme}://{host_for_url}:{port}{path}" + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    host_header = parts.hostname if port == default_port else f"{parts.hostname}:{port}"
    if ":" in parts.hostname and not parts.hostname.startswith("["):
        host_header = f"[{parts.hostname}]" if port == default_port else f"[{parts.hostname}]:{port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    request = client.build_request("GET", target, headers={"Host": host_header}, extensions=extensions)
    try:
        response = client.send(request, stream=True)
    except httpx.TimeoutException as error:
        raise FetchError(
            f"{parts.hostname} did not answer in time.", code="timeout", retryable=True
        ) from error
    except httpx.HTTPError as error:
        raise FetchError(
            f"Could not connect to {parts.hostname} ({error}).", code="connect", retryable=True
        ) from error
    try:
        if response.status_code in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FetchError("A redirect without a Location header.", code="bad_redirect")
            return location
        if response.status_code == 429 or response.status_code >= 500:
            raise FetchError(
                f"{parts.hostname} answered {response.status_code}.", code="http_status", retryable=True
            )
        if response.status_code >= 400 or response.status_code < 200:
            raise FetchError(f"{parts.hostname} answered {response.status_code}.", code="http_status")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(max_bytes)
        body = bytearray()
        try:
            for piece in response.iter_bytes():
                body.extend(piece)
                if len(body) > max_bytes:
                    raise _too_large(max_bytes)
                if time.monotonic() - started > deadline:
                    raise FetchError(
                        f"Fetching took longer than {deadline:.0f} seconds.", code="timeout", retryable=True
                    )
        except httpx.TimeoutException as error:
            raise FetchError(f"{parts.hostname} stopped sending.", code="timeout", retryable=True) from error
        except httpx.HTTPError as error:
            raise FetchError(f"The download failed ({error}).", code="connect", retryable=True) from error
        content_type = response.headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip().lower()
        return FetchedPage(
            url="",
            status_code=response.status_code,
            content_type=media_type,
            charset=response.charset_encoding,
            body=bytes(body),
        )
    finally:
        response.close()


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"The page is larger than the {human_size(max_bytes)} limit.", code="too_large")


def human_size(size: int) -> str:
    if size >= 1_048_576:
        return f"{size / 1_048_576:.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"
