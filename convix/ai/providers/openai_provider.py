"""LLM provider for any OpenAI-compatible chat completions endpoint.

One class covers OpenAI, Azure OpenAI, Ollama, vLLM and llama.cpp's server: they differ only by
base URL, credentials header and model name.

- OpenAI: no base URL (or ``https://api.openai.com/v1``).
- Ollama / vLLM / llama.cpp: ``http://host:port/v1``; the API key may be any dummy string.
- Azure: ``https://<resource>.openai.azure.com/openai/v1`` (the v1 API), or the classic
  ``https://<resource>.openai.azure.com/openai/deployments/<deployment>?api-version=<version>``.
  For Azure the key is sent in the ``api-key`` header, and a query string on the base URL
  (``api-version``) is sent with every request. ``model`` is the deployment name.

Retries are ours, not the SDK's (the client is built with ``max_retries=0``), so the policy is in
one place and testable: exponential backoff with jitter on 408/409/429/5xx, connection errors
and timeouts, honouring ``Retry-After`` / ``retry-after-ms`` up to ``max_backoff``; none on other
statuses (400, 401, 403, 404, 422: permanent). A total deadline of
``timeout × (max_retries + 1) + max_retries × max_backoff`` bounds one ``complete`` call.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import openai

from convix.ai.providers.base import (
    LLMResult,
    ProviderError,
    ProviderTimeout,
    TokenCallback,
    ToolCall,
    ToolSpec,
    decode_arguments,
)

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 409, 429})
AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def is_azure_url(base_url: str | None) -> bool:
    """True for an Azure OpenAI endpoint (by host, or by the classic deployments path)."""
    if not base_url:
        return False
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    return host.endswith(AZURE_HOST_SUFFIXES) or "/openai/deployments/" in parts.path


def client_options(*, api_key: str, base_url: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keyword arguments for ``openai.OpenAI`` besides timeout and retries, per-request headers).

    A query string on the base URL becomes ``default_query`` (the SDK would drop it when joining
    paths). Azure gets its ``api-key`` header instead of ``Authorization``; the SDK only lets a
    request, not the client, omit ``Authorization``, hence the per-request headers.
    """
    options: dict[str, Any] = {"api_key": api_key}
    if not base_url:
        return options, {}
    parts = urlsplit(base_url)
    query = dict(parse_qsl(parts.query))
    options["base_url"] = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    if query:
        options["default_query"] = query
    if is_azure_url(base_url):
        options["default_headers"] = {"api-key": api_key}
        return options, {"Authorization": openai.Omit()}
    return options, {}


def retry_after_seconds(headers: Any) -> float | None:
    """The server's requested wait from ``retry-after-ms`` or ``Retry-After`` (seconds or a date)."""
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _StreamFailed(Exception):
    """A failure after text reached ``on_token``: never retried (the shopper already saw it)."""

    def __init__(self, error: Exception, partial_text: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.partial_text = partial_text


class OpenAIProvider:
    """``LLMProvider`` over the ``openai`` package's chat completions. Thread-safe.

    ``timeout`` bounds each attempt (for a stream: connecting and each wait for the next chunk);
    ``max_retries`` is how many times a transient failure is retried. ``sleep`` is the function
    used to wait between attempts (tests pass a recording wrapper around ``time.sleep``).
    ``stream_usage`` asks for token usage in streams (``stream_options``); turn it off for a
    server that rejects the option.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        timeout: float,
        max_retries: int,
        backoff_base: float = 0.5,
        max_backoff: float = 8.0,
        stream_usage: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0 or max_retries < 0 or backoff_base < 0 or max_backoff < 0:
            raise ValueError("timeout must be positive; retries and backoff must not be negative")
        self.model = model
        self.base_url = base_url
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.max_backoff = float(max_backoff)
        self.stream_usage = stream_usage
        self._sleep = sleep
        options, self._request_headers = client_options(api_key=api_key or "unused", base_url=base_url)
        self._client = openai.OpenAI(
            **options,
            timeout=self.timeout,
            max_retries=0,  # the retry policy is ours (see the module docstring)
        )

    @property
    def deadline_seconds(self) -> float:
        """The most one ``complete`` call may take, retries and waits included."""
        return self.timeout * (self.max_retries + 1) + self.max_retries * self.max_backoff

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0-based): "equal jitter" exponential backoff,
        between half and all of ``min(max_backoff, backoff_base × 2**retry)``."""
        ceiling = min(self.max_backoff, self.backoff_base * 2**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def complete(
        self,
        messages: list[dict],
        *,
        tools: Sequence[ToolSpec] = (),
        on_token: TokenCallback | None = None,
    ) -> LLMResult:
        """One chat completion (streamed through ``on_token`` when given), retried per the policy.

        Raises ``ProviderTimeout`` when attempts time out or the deadline passes, and
        ``ProviderError`` otherwise; after text was streamed a failure is raised at once, with
        ``partial_text``, since retrying would repeat what the shopper already saw.
        """
        request: dict[str, Any] = {"model": self.model, "messages": messages}
        if self._request_headers:
            request["extra_headers"] = self._request_headers
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in tools
            ]
            request["tool_choice"] = "auto"
        deadline = time.monotonic() + self.deadline_seconds
        retry = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderTimeout(f"The LLM call passed its {self.deadline_seconds:.1f}s deadline.")
            attempt_timeout = min(self.timeout, remaining)
            try:
                if on_token is None:
                    return self._complete_once(request, attempt_timeout)
                return self._stream_once(request, attempt_timeout, deadline, on_token)
            except _StreamFailed as failure:
                raise self._translate(failure.error, partial_text=failure.partial_text) from failure.error
            except (openai.OpenAIError, ProviderTimeout) as error:
                failure = error if isinstance(error, ProviderError) else self._translate(error)
                wait = self._wait_before_retry(error, retry)
                if not failure.retryable or retry >= self.max_retries or time.monotonic() + wait >= deadline:
                    if failure is error:
                        raise
                    raise failure from error
                logger.info(
                    "LLM call failed (%s); retry %d of %d in %.2fs",
                    failure,
                    retry + 1,
                    self.max_retries,
                    wait,
                )
                self._sleep(wait)
                retry += 1

    # -- one attempt ----------------------------------------------------------------------------

    def _complete_once(self, request: dict, timeout: float) -> LLMResult:
        completion = self._client.chat.completions.create(**request, timeout=timeout)
        if not completion.choices:
            raise ProviderError("The LLM returned no choices.", retryable=False)
        choice = completion.choices[0]
        message = choice.message
        calls = []
        for raw in message.tool_calls or []:
            function = getattr(raw, "function", None)
            if function is None:  # a non-function ("custom") tool call: not something we offered
                continue
            calls.append(_tool_call(raw.id, function.name, function.arguments))
        return LLMResult(
            text=message.content or "",
            tool_calls=calls,
            finish_reason=choice.finish_reason or ("tool_calls" if calls else "stop"),
            model=completion.model or self.model,
            usage=_usage(completion.usage),
        )

    def _stream_once(
        self, request: dict, timeout: float, deadline: float, on_token: TokenCallback
    ) -> LLMResult:
        options: dict[str, Any] = {"stream": True}
        if self.stream_usage:
            options["stream_options"] = {"include_usage": True}
        stream = self._client.chat.completions.create(**request, **options, timeout=timeout)
        pieces: list[str] = []
        builders: list[dict[str, Any]] = []
        by_index: dict[int, dict[str, Any]] = {}
        finish_reason = None
        model = self.model
        usage: dict = {}
        try:
            for chunk in stream:
                if time.monotonic() > deadline:
                    raise ProviderTimeout(
                        f"The LLM stream passed its {self.deadline_seconds:.1f}s deadline.",
                        partial_text="".join(pieces),
                    )
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                finish_reason = choice.finish_reason or finish_reason
                delta = choice.delta
                if delta is None:
                    continue
                if delta.content:
                    pieces.append(delta.content)
                    on_token(delta.content)
                for part in delta.tool_calls or []:
                    builder = by_index.get(part.index)
                    # A new id at a known index is a new call (some servers reuse index 0).
                    if builder is None or (part.id and builder["id"] and part.id != builder["id"]):
                        builder = {"id": part.id or "", "name": "", "arguments": []}
                        by_index[part.index] = builder
                        builders.append(builder)
                    builder["id"] = builder["id"] or part.id or ""
                    if part.function is not None:
                        builder["name"] += part.function.name or ""
                        builder["arguments"].append(part.function.arguments or "")
        except ProviderTimeout as error:
            if pieces:
                raise _StreamFailed(error, "".join(pieces)) from error
            raise
        except openai.OpenAIError as error:
            if pieces:
                raise _StreamFailed(error, "".join(pieces)) from error
            raise
        finally:
            stream.close()
        calls = [_tool_call(b["id"], b["name"], "".join(b["arguments"])) for b in builders]
        return LLMResult(
            text="".join(pieces),
            tool_calls=calls,
            finish_reason=finish_reason or ("tool_calls" if calls else "stop"),
            model=model,
            usage=usage,
        )

    # -- failures -------------------------------------------------------------------------------

    def _wait_before_retry(self, error: Exception, retry: int) -> float:
        if isinstance(error, openai.APIStatusError):
            requested = retry_after_seconds(error.response.headers)
            if requested is not None:
                return min(requested, self.max_backoff)
        return self.backoff(retry)

    def _translate(self, error: Exception, *, partial_text: str = "") -> ProviderError:
        if isinstance(error, ProviderError):
            error.partial_text = error.partial_text or partial_text
            return error
        if isinstance(error, openai.APITimeoutError):
            return ProviderTimeout(
                f"The LLM call timed out after {self.timeout:.1f}s.", partial_text=partial_text
            )
        if isinstance(error, openai.APIConnectionError):
            return ProviderError(
                f"Could not reach the LLM: {error}", retryable=True, partial_text=partial_text
            )
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            return ProviderError(
                f"The LLM answered HTTP {status}: {_error_message(error)}",
                retryable=status in RETRYABLE_STATUSES or status >= 500,
                status_code=status,
                partial_text=partial_text,
            )
        # An error event inside a stream, or an unparseable response: the request itself is fine
        # as far as we know, but retrying the same thing is unlikely to help.
        return ProviderError(f"The LLM call failed: {error}", retryable=False, partial_text=partial_text)


def _error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return error.message


def _tool_call(call_id: str | None, name: str | None, raw_arguments: str | None) -> ToolCall:
    arguments, problem = decode_arguments(raw_arguments)
    return ToolCall(
        # Some local servers send no id; the transcript still needs one to pair the result.
        id=call_id or f"call_{uuid.uuid4().hex[:24]}",
        name=name or "",
        arguments=arguments,
        raw_arguments=raw_arguments or "",
        arguments_error=problem,
    )


def _usage(usage: Any) -> dict:
    if usage is None:
        return {}
    return {key: int(value) for key in USAGE_KEYS if isinstance(value := getattr(usage, key, None), int)}


def get_llm_provider() -> OpenAIProvider | None:
    """The LLM provider the settings choose, or None when ``LLM_PROVIDER`` is "offline".

    Reads LLM_PROVIDER, OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_TIMEOUT_SECONDS and
    OPENAI_MAX_RETRIES on every call; one provider (one connection pool) per distinct
    configuration is kept per process.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if settings.LLM_PROVIDER == "offline":
        return None
    if settings.LLM_PROVIDER != "openai":
        raise ImproperlyConfigured(f"Unknown LLM_PROVIDER {settings.LLM_PROVIDER!r}.")
    api_key = settings.OPENAI_API_KEY or ""
    base_url = settings.OPENAI_BASE_URL or None
    if not api_key and not base_url:
        raise ImproperlyConfigured(
            "LLM_PROVIDER is 'openai' but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set."
        )
    return _provider_for(
        api_key=api_key,
        base_url=base_url,
        model=settings.OPENAI_MODEL,
        timeout=float(settings.OPENAI_TIMEOUT_SECONDS),
        max_retries=int(settings.OPENAI_MAX_RETRIES),
    )


@lru_cache(maxsize=8)
def _provider_for(
    *, api_key: str, base_url: str | None, model: str, timeout: float, max_retries: int
) -> OpenAIProvider:
    return OpenAIProvider(
        api_key=api_key, base_url=base_url, model=model, timeout=timeout, max_retries=max_retries
    )
