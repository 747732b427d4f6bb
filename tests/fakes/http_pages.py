"""A tiny web server on 127.0.0.1 serving fixed pages, for fetching URL documents in tests.

    with PageServer() as server:
        server.add("/faq", "<html>...</html>")
        server.add("/moved", "", status=302, headers={"Location": "/faq"})
        url = server.url("/faq")

Each page is (status, headers, body). ``add_stream`` serves a body of a given size in pieces,
without a Content-Length, to test size limits counted while reading. ``hits`` counts requests
per path.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self):  # noqa: N802 - the http.server API
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        self.server.hosts.append(self.headers.get("Host", ""))
        page = self.server.pages.get(path)
        if page is None:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        status, headers, body, stream_size = page
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if stream_size is None:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        piece = b"<p>" + b"x" * 1017 + b"</p>\n"
        sent = 0
        try:
            while sent < stream_size:
                self.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its limit, as it should

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict
    hits: Counter
    hosts: list


class PageServer:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.pages = {}
        self._server.hits = Counter()
        self._server.hosts = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def hits(self) -> Counter:
        return self._server.hits

    @property
    def hosts(self) -> list:
        return self._server.hosts

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: dict | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        self._server.pages[path] = (status, all_headers, data, None)

    def add_stream(self, path: str, *, size: int, content_type: str = "text/html") -> None:
        self._server.pages[path] = (200, {"Content-Type": content_type}, b"", size)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
