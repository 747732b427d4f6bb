"""The contract every LLM provider meets, and the tool loop built on it.

To add a new provider, implement ``LLMProvider.complete``:

- take chat messages in the OpenAI chat format (``{"role": ..., "content": ...}``, assistant
  messages with ``tool_calls``, ``role="tool"`` messages with ``tool_call_id``), which is the
  lingua franca of Convix's prompts whatever the backend;
- offer the ``tools`` to the model and return every tool call it asks for as a ``ToolCall``,
  decoding the arguments safely (bad JSON sets ``arguments_error``; it never raises);
- when ``on_token`` is given, stream and call it with each piece of text in order, so that the
  pieces joined equal ``LLMResult.text``;
- raise ``ProviderTimeout`` when the call ran out of time and ``ProviderError`` for anything
  else, with ``retryable`` saying whether the same request may succeed later. Retries are the
  provider's own business; a caller only falls back (offline engine or handoff).

Nothing here does network or database work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call. ``parameters`` is a JSON schema of the arguments object."""

    name: str
    description: str
    parameters: dict


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for.

    ``arguments`` is the decoded JSON object ({} when the model sent nothing or something that is
    not a JSON object); ``raw_arguments`` is the exact string the model produced, echoed back in
    the transcript; ``arguments_error`` says why the arguments could not be decoded, if so.
    """

    id: str
    name: str
    arguments: dict
    raw_arguments: str = ""
    arguments_error: str | None = None


@dataclass
class LLMResult:
    """A model's answer: text and/or tool calls.

    ``finish_reason`` is the provider's ("stop", "tool_calls", "length", ...) or "max_steps" when
    ``run_tool_loop`` gave up. ``usage`` holds integer token counts when the provider reports
    them (``prompt_tokens``, ``completion_tokens``, ``total_tokens``), else it is empty.
    """

    text: str
    tool_calls: list[ToolCall]
    finish_reason: str
    model: str
    usage: dict = field(default_factory=dict)


class ProviderError(Exception):
    """The provider could not answer.

    ``retryable`` is True for transient failures (rate limit, 5xx, connection, timeout) and
    False for permanent ones (bad request, bad credentials, unknown model). ``partial_text`` is
    what was already streamed to ``on_token`` before the failure: a caller that retries must not
    show it twice.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        self.partial_text = partial_text


class ProviderTimeout(ProviderError):
    """The call ran out of time (per attempt or the provider's total deadline)."""

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message, retryable=True, partial_text=partial_text)


@runtime_checkable
class LLMProvider(Protocol):
    def complete(
        self,
        messages: list[dict],
        *,
        tools: Sequence[ToolSpec] = (),
        on_token: TokenCallback | None = None,
    ) -> LLMResult:
        """One model turn; streams through ``on_token`` when given. Raises ``ProviderError``."""


def decode_arguments(raw: str | None) -> tuple[dict, str | None]:
    """Decode a tool call's arguments string: (arguments, None) or ({}, why it is invalid).

    An empty string means "no arguments" (some servers send it for parameterless tools).
    """
    text = (raw or "").strip()
    if not text:
        return {}, None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return {}, f"the arguments are not valid JSON ({error})"
    if not isinstance(value, dict):
        return {}, f"the arguments must be a JSON object, not {type(value).__name__}"
    return value, None


def assistant_message(result: LLMResult) -> dict:
    """The assistant turn to append to the transcript after ``result`` (OpenAI chat format)."""
    message: dict[str, Any] = {"role": "assistant", "content": result.text or None}
    if result.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    # Echo what the model wrote, so a malformed call and its error stay paired.
                    "arguments": call.raw_arguments or json.dumps(call.arguments, ensure_ascii=False),
                },
            }
            for call in result.tool_calls
        ]
    return message


def tool_message(call: ToolCall, result: dict) -> dict:
    """The ``role="tool"`` message carrying ``result`` back to the model."""
    return {
        "role": "tool",
        "tool_call_id": call.id,
        "content": json.dumps(result, ensure_ascii=False, default=str),
    }


def run_tool_loop(
    provider: LLMProvider,
    messages: list[dict],
    *,
    tools: Sequence[ToolSpec],
    execute: Callable[[ToolCall], dict],
    max_steps: int = 4,
    on_token: TokenCallback | None = None,
) -> tuple[LLMResult, list[tuple[ToolCall, dict]]]:
    """Let the model call tools until it answers with text, at most ``max_steps`` model calls.

    Each step sends the transcript; every tool call of the answer is executed with
    ``execute(call)`` (or answered with ``{"error": ...}`` without calling it, when the arguments
    are malformed or the tool is not one of ``tools``) and its result appended as a
    ``role="tool"`` message. Returns the last result and every answered (call, result) pair in
    order, error results included. When the model still asks for tools after ``max_steps`` calls, those last calls are not
    executed and the result's ``finish_reason`` is "max_steps".

    ``messages`` is not modified. ``ProviderError`` from the provider and any exception from
    ``execute`` propagate: a tool that can fail in an expected way returns ``{"error": ...}``.
    ``on_token`` receives the text of every step, including any preamble before a tool call.
    """
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    known = {tool.name for tool in tools}
    transcript = list(messages)
    answered: list[tuple[ToolCall, dict]] = []
    for step in range(1, max_steps + 1):
        result = provider.complete(transcript, tools=tools, on_token=on_token)
        # Decide on the calls, not on finish_reason: some servers (Ollama) say "stop" with calls.
        if not result.tool_calls:
            return result, answered
        if step == max_steps:
            result.finish_reason = "max_steps"
            return result, answered
        transcript.append(assistant_message(result))
        for call in result.tool_calls:
            if call.arguments_error:
                outcome = {
                    "error": f"Invalid arguments for {call.name}: {call.arguments_error}. "
                    "Call the tool again with a JSON object that matches its parameters."
                }
            elif call.name not in known:
                outcome = {
                    "error": f"Unknown tool {call.name!r}. Available tools: {', '.join(sorted(known))}."
                }
            else:
                outcome = execute(call)
            answered.append((call, outcome))
            transcript.append(tool_message(call, outcome))
    raise AssertionError("unreachable: the loop returns on its last step")
