"""A fake OpenAI-compatible server on 127.0.0.1 for tests: the real HTTP protocol, scripted replies.

Point any OpenAI client at ``server.base_url`` (``http://127.0.0.1:<port>/v1``); the ``openai``
package talks to it exactly as to api.openai.com, Azure, Ollama or vLLM. Usage::

    with FakeOpenAIServer() as server:                    # or the ``openai_server`` fixture below
        server.queue_text("Hello!")                        # next chat completion answers "Hello!"
        server.queue_tool_calls(("search_products", {"query": "boots"}))   # ids call_1, call_2, ...
        server.queue_tool_calls(("lookup_order", '{"number": '))          # malformed, verbatim
        server.queue_error(429, headers={"Retry-After": "1"})  # also 401, 500, ...; endpoint=
        server.queue_stall(5.0)                            # answer only after 5 s (forces timeouts)
        server.queue_disconnect()                          # close the connection, no response
        server.queue(FakeReply(text="a b c", chunk_delay=0.2, disconnect_after_chunks=2))
        ...  # run the code under test with base_url=server.base_url
        assert server.chat_requests[0].body["model"] == "gpt-4o-mini"
        assert server.chat_requests[0].headers["authorization"] == "Bearer sk-test"

The ``openai_server`` fixture at the end of this module yields a running server; make it
available with ``from tests.fakes.openai_server import openai_server  # noqa: F401`` in a
conftest.py (importing it into a test module trips ruff's F811 on every test argument).

Endpoints (any path prefix is accepted, so Azure-style ``/openai/deployments/<name>/...`` works):

- ``POST .../chat/completions``: pops the next scripted chat reply (FIFO). JSON
  ``chat.completion`` with ``choices[0].message`` (``content``, ``tool_calls``), or, when the
  request says ``"stream": true``, Server-Sent Events over chunked transfer encoding:
  ``data: {chat.completion.chunk}`` lines ending with ``data: [DONE]``, text split into word
  pieces and each tool call's ``arguments`` split across several deltas, as OpenAI does. A usage
  chunk (empty ``choices``) is sent when ``stream_options.include_usage`` is true.
- ``POST .../embeddings``: deterministic unit vectors from the text (feature hashing of its words,
  so texts sharing words are similar), ``dimensions`` from the request or
  ``embedding_dimensions``; ``encoding_format`` "float" or "base64" (the SDK's default).
  Scripted embeddings replies (``endpoint="embeddings"``) are for errors, stalls and disconnects.
- ``GET .../models``: lists ``model``.

With ``strict=True`` (the default) a chat request is checked the way OpenAI checks it, and gets a
400 without consuming a scripted reply: ``model`` and ``messages`` present, ``tool_choice`` and
``stream_options`` only with ``tools`` / ``stream``, every assistant ``tool_calls`` answered by
``role="tool"`` messages with matching ``tool_call_id`` and no stray tool message. With
``api_key`` set, a request without ``Authorization: Bearer <api_key>`` (or ``api-key: <api_key>``,
Azure's header) gets OpenAI's 401.

When no scripted reply is left, ``responder(request)`` decides if given, else ``default_text`` is
answered if given, else the server answers 500 ("no scripted reply"), which a test notices.

Usage figures are word counts (prompt: the JSON of ``messages``; completion: the text and the
tool calls' arguments), so tests can predict them.

Every request is recorded before any scripted delay, as a ``RecordedRequest`` (method, path,
query, lower-cased headers, decoded JSON body, ``received_at`` from ``time.monotonic()``), in
``server.requests`` (all) and ``server.chat_requests`` / ``server.embedding_requests``;
``server.pending()`` says how many scripted replies are left.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

CHAT = "chat"
EMBEDDINGS = "embeddings"
_WORD = re.compile(r"\w+", re.UNICODE)
_PIECE = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    received_at: float

    @property
    def is_stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []


@dataclass
class FakeReply:
    """A scripted reply. Build it with the ``queue_*`` helpers or directly.

    status: HTTP status; anything but 200 answers ``error_body`` (OpenAI's error shape by default).
    text / tool_calls: the assistant message; tool_calls items are ``{"id", "name", "arguments"}``
        with ``arguments`` the exact string sent (so malformed JSON can be scripted).
    delay: seconds to wait before answering at all (a stall; the client may time out first).
    chunk_delay: seconds between streamed chunks (a trickle).
    disconnect_after_chunks: when streaming, drop the connection after this many chunks;
        0 with ``disconnect`` drops it before any response.
    argument_chunk_chars: how many characters of a tool call's arguments each streamed delta holds.
    """

    status: int = 200
    text: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    usage: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_body: Any = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    disconnect: bool = False
    disconnect_after_chunks: int | None = None
    argument_chunk_chars: int = 7


def openai_error_body(status: int, message: str | None = None) -> dict:
    """The error object OpenAI returns for ``status``."""
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "unsupported_country_region_territory"),
        404: ("invalid_request_error", "model_not_found"),
        429: ("requests", "rate_limit_exceeded"),
    }
    kind, code = kinds.get(status, ("server_error", None))
    default = {
        400: "Invalid request.",
        401: "Incorrect API key provided.",
        403: "Forbidden.",
        404: "The model does not exist or you do not have access to it.",
        429: "Rate limit reached for requests.",
    }.get(status, "The server had an error while processing your request.")
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector: signed feature hashing of the lower-cased words of ``text``."""
    vector = np.zeros(dimensions, dtype=np.float64)
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        index = int.from_bytes(digest[:8], "little") % dimensions
        vector[index] += 1.0 if digest[8] & 1 else -1.0
    if not vector.any():
        # No words (or they cancelled out): still a stable, non-zero vector per text.
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(dimensions)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tolist()


class FakeOpenAIServer:
    """A threaded OpenAI-compatible HTTP server on 127.0.0.1 (random port). See the module doc."""

    def __init__(
        self,
        *,
        model: str = "fake-model",
        api_key: str | None = None,
        embedding_dimensions: int = 1536,
        strict: bool = True,
        default_text: str | None = None,
        responder: Callable[[RecordedRequest], FakeReply] | None = None,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.embedding_dimensions = embedding_dimensions
        self.strict = strict
        self.default_text = default_text
        self.responder = responder
        self._queues: dict[str, deque[FakeReply]] = {CHAT: deque(), EMBEDDINGS: deque()}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._call_ids = itertools.count(1)
        self._completion_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.stopping = self._stopping
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled replies wake up and drop their connections."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no path)."""
        if self._httpd is None:
            raise RuntimeError("The fake OpenAI server is not running; call start() or use `with`.")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://127.0.0.1:<port>/v1``."""
        return f"{self.root_url}/v1"

    # -- scripting ------------------------------------------------------------------------------

    def queue(self, reply: FakeReply, *, endpoint: str = CHAT) -> FakeReply:
        """Append ``reply`` to the FIFO of ``endpoint`` ("chat" or "embeddings")."""
        if endpoint not in self._queues:
            raise ValueError(f"endpoint must be {CHAT!r} or {EMBEDDINGS!r}")
        with self._lock:
            self._queues[endpoint].append(reply)
        return reply

    def queue_text(self, text: str, **options: Any) -> FakeReply:
        """The next chat completion answers ``text`` (options: FakeReply fields)."""
        options.setdefault("finish_reason", "stop")
        return self.queue(FakeReply(text=text, **options))

    def queue_tool_calls(self, *calls: tuple[str, dict | str], text: str = "", **options: Any) -> FakeReply:
        """The next chat completion calls tools: ``(name, arguments)`` with arguments a dict
        (sent as JSON) or a string (sent verbatim, e.g. malformed JSON). Ids are ``call_1``,
        ``call_2``, ... in the order calls are queued."""
        tool_calls = [
            {
                "id": f"call_{next(self._call_ids)}",
                "name": name,
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            }
            for name, arguments in calls
        ]
        options.setdefault("finish_reason", "tool_calls")
        return self.queue(FakeReply(text=text, tool_calls=tool_calls, **options))

    def queue_error(
        self,
        status: int,
        *,
        message: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        endpoint: str = CHAT,
    ) -> FakeReply:
        """The next request to ``endpoint`` gets HTTP ``status`` (body: OpenAI's error shape)."""
        reply = FakeReply(
            status=status,
            error_body=body if body is not None else openai_error_body(status, message),
            headers=dict(headers or {}),
            delay=delay,
        )
        return self.queue(reply, endpoint=endpoint)

    def queue_stall(self, seconds: float, *, endpoint: str = CHAT) -> FakeReply:
        """The next request to ``endpoint`` waits ``seconds`` before answering (a late "ok")."""
        return self.queue(FakeReply(text="ok", finish_reason="stop", delay=seconds), endpoint=endpoint)

    def queue_disconnect(self, *, endpoint: str = CHAT) -> FakeReply:
        """The next request to ``endpoint`` has its connection closed without any response."""
        return self.queue(FakeReply(disconnect=True), endpoint=endpoint)

    def pending(self, endpoint: str = CHAT) -> int:
        """How many scripted replies of ``endpoint`` are still queued."""
        with self._lock:
            return len(self._queues[endpoint])

    # -- what was received ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def clear(self) -> None:
        """Forget recorded requests and scripted replies."""
        with self._lock:
            self._requests.clear()
            for queue in self._queues.values():
                queue.clear()

    # -- internals used by the handler ----------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, endpoint: str, request: RecordedRequest) -> FakeReply | None:
        with self._lock:
            if self._queues[endpoint]:
                return self._queues[endpoint].popleft()
        if self.responder is not None:
            return self.responder(request)
        if endpoint == CHAT and self.default_text is not None:
            return FakeReply(text=self.default_text, finish_reason="stop")
        return None

    def _new_id(self) -> int:
        return next(self._completion_ids)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; True when it is stopping."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


def check_chat_request(body: Any) -> str | None:
    """Why OpenAI would refuse this chat request with a 400, or None."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not body.get("model"):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    if "tool_choice" in body and not body.get("tools"):
        return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
    if "stream_options" in body and not body.get("stream"):
        return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    awaiting: set[str] = set()
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return f"Invalid value for 'role': {role!r}."
        if role == "tool":
            if message.get("tool_call_id") not in awaiting:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'."
                )
            awaiting.discard(message["tool_call_id"])
            continue
        if awaiting:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding "
                f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                f"{', '.join(sorted(awaiting))}"
            )
        if role == "assistant":
            awaiting = {call.get("id") for call in message.get("tool_calls") or []}
    if awaiting:
        return "An assistant message with 'tool_calls' must be followed by tool messages."
    return None


def _pieces(text: str) -> list[str]:
    """Split text the way a model streams it: a word with its leading whitespace per piece."""
    return _PIECE.findall(text)


def _count_words(value: Any) -> int:
    return len(_WORD.findall(json.dumps(value) if not isinstance(value, str) else value))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    stopping: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, closed pools) are normal here; anything else is shown."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or (
            isinstance(error, OSError | ValueError) and self.stopping.is_set()
        ):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, like the real API
    fake: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: tests assert on ``server.requests`` instead."""

    # -- request parsing ------------------------------------------------------------------------

    def _read(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        self.fake._record(request)
        return request

    def _authorized(self, request: RecordedRequest) -> bool:
        if self.fake.api_key is None:
            return True
        return request.headers.get("authorization") == f"Bearer {self.fake.api_key}" or (
            request.headers.get("api-key") == self.fake.api_key
        )

    # -- responses ------------------------------------------------------------------------------

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        request = self._read()
        if not self._authorized(request):
            return self._send_json(401, openai_error_body(401))
        if request.path.endswith("/models"):
            model = {
                "id": self.fake.model,
                "object": "model",
                "created": 1700000000,
                "owned_by": "convix-fake",
            }
            return self._send_json(200, {"object": "list", "data": [model]})
        return self._send_json(404, openai_error_body(404, f"Unknown path {request.path}"))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        request = self._read()
        try:
            if not self._authorized(request):
                return self._send_json(401, openai_error_body(401))
            if request.path.endswith("/chat/completions"):
                return self._chat(request)
            if request.path.endswith("/embeddings"):
                return self._embeddings(request)
            return self._send_json(404, openai_error_body(404, f"Unknown path {request.path}"))
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout): nothing left to answer.
            self._drop()

    def _answer_scripted_failure(self, reply: FakeReply | None) -> bool:
        """Handle "no reply", stalls, disconnects and error statuses; True when answered."""
        if reply is None:
            self._send_json(500, openai_error_body(500, "fake OpenAI server: no scripted reply left"))
            return True
        if self.fake._wait(reply.delay):
            self._drop()
            return True
        if reply.disconnect:
            self._drop()
            return True
        if reply.status != 200:
            self._send_json(reply.status, reply.error_body, reply.headers)
            return True
        return False

    def _chat(self, request: RecordedRequest) -> None:
        if self.fake.strict and (problem := check_chat_request(request.body)):
            return self._send_json(400, openai_error_body(400, problem))
        reply = self.fake._next_reply(CHAT, request)
        if self._answer_scripted_failure(reply):
            return
        body = request.body if isinstance(request.body, dict) else {}
        model = reply.model or body.get("model") or self.fake.model
        completion_id = f"chatcmpl-fake{self.fake._new_id()}"
        completion_words = _count_words(reply.text) + sum(
            _count_words(c["arguments"]) for c in reply.tool_calls
        )
        usage = reply.usage or {
            "prompt_tokens": _count_words(request.messages),
            "completion_tokens": completion_words,
            "total_tokens": _count_words(request.messages) + completion_words,
        }
        finish_reason = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        if request.is_stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = self._stream_chunks(
                reply, model, completion_id, finish_reason, usage if include_usage else None
            )
            return self._send_stream(reply, chunks)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in reply.tool_calls
            ]
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage,
        }
        self._send_json(200, payload, reply.headers)

    def _stream_chunks(
        self, reply: FakeReply, model: str, completion_id: str, finish_reason: str, usage: dict | None
    ) -> Iterator[dict]:
        created = int(time.time())

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **({"usage": None} if usage is not None else {}),
            }

        yield chunk({"role": "assistant", "content": "" if reply.text else None, "refusal": None})
        for piece in _pieces(reply.text):
            yield chunk({"content": piece})
        size = max(1, reply.argument_chunk_chars)
        for index, call in enumerate(reply.tool_calls):
            head = {"index": index, "id": call["id"], "type": "function"}
            yield chunk({"tool_calls": [{**head, "function": {"name": call["name"], "arguments": ""}}]})
            arguments = call["arguments"]
            for start in range(0, len(arguments), size):
                part = arguments[start : start + size]
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        yield chunk({}, finish_reason)
        if usage is not None:
            yield {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": usage,
            }

    def _send_stream(self, reply: FakeReply, chunks: Iterator[dict]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for sent, payload in enumerate(chunks):
            if reply.disconnect_after_chunks is not None and sent >= reply.disconnect_after_chunks:
                return self._drop()
            if sent and self.fake._wait(reply.chunk_delay):
                return self._drop()
            self._write_chunk(f"data: {json.dumps(payload)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _embeddings(self, request: RecordedRequest) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("model") or "input" not in body:
            return self._send_json(400, openai_error_body(400, "'model' and 'input' are required"))
        with self.fake._lock:
            reply = self.fake._queues[EMBEDDINGS].popleft() if self.fake._queues[EMBEDDINGS] else None
        if reply is not None and self._answer_scripted_failure(reply):
            return
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        texts = [t if isinstance(t, str) else json.dumps(t) for t in texts]
        dimensions = int(body.get("dimensions") or self.fake.embedding_dimensions)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dimensions)
            if as_base64:
                encoded: Any = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        words = sum(_count_words(t) for t in texts)
        payload = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": words, "total_tokens": words},
        }
        self._send_json(200, payload, reply.headers if reply else None)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A running ``FakeOpenAIServer`` (import this name into a test module or conftest)."""
    with FakeOpenAIServer() as server:
        yield server
