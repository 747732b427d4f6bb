"""The OpenAI-compatible provider and the tool loop, against the fake server on 127.0.0.1.

No mocks: the real ``openai`` package talks HTTP to ``FakeOpenAIServer``. The only hook is the
provider's ``sleep``, wrapped here to record the waits it asks for while still really sleeping.
"""

from __future__ import annotations

import json
import time

import numpy as np
import openai
import pytest

from convix.ai.providers import (
    LLMProvider,
    LLMResult,
    OpenAIProvider,
    ProviderError,
    ProviderTimeout,
    ToolCall,
    ToolSpec,
    get_llm_provider,
    run_tool_loop,
)
from tests.fakes.openai_server import FakeOpenAIServer, FakeReply, fake_embedding

QUESTION = [
    {"role": "system", "content": "You are the assistant of Store A."},
    {"role": "user", "content": "Do you have red boots under $100?"},
]

SEARCH_PRODUCTS = ToolSpec(
    name="search_products",
    description="Search the store's products.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string"}, "max_price": {"type": "number"}},
        "required": ["query"],
    },
)
LOOKUP_ORDER = ToolSpec(
    name="lookup_order",
    description="Look up an order by number and email.",
    parameters={
        "type": "object",
        "properties": {"number": {"type": "string"}, "email": {"type": "string"}},
        "required": ["number", "email"],
    },
)
CATALOG = [
    {"title": "Red Trail Boot", "price": 89.0},
    {"title": "Red City Boot", "price": 129.0},
    {"title": "Blue Trail Boot", "price": 79.0},
]


@pytest.fixture
def openai_server():
    with FakeOpenAIServer() as server:
        yield server


class RecordingSleep:
    """Really sleeps, and remembers each wait the provider asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


class ToolExecutor:
    """A real tool implementation over an in-memory catalog, recording what it ran."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    def __call__(self, call: ToolCall) -> dict:
        self.calls.append(call)
        if call.name == "search_products":
            words = call.arguments["query"].lower().split()
            limit = call.arguments.get("max_price", float("inf"))
            hits = [p for p in CATALOG if all(w in p["title"].lower() for w in words) and p["price"] <= limit]
            return {"products": hits}
        return {"error": f"{call.name} is not available in this test"}


def make_provider(server: FakeOpenAIServer, **options) -> OpenAIProvider:
    defaults = {
        "api_key": "sk-test",
        "base_url": server.base_url,
        "model": "gpt-4o-mini",
        "timeout": 5.0,
        "max_retries": 2,
        "backoff_base": 0.02,
    }
    return OpenAIProvider(**{**defaults, **options})


# -- plain and streamed completions ------------------------------------------------------------


def test_plain_completion_returns_text_model_and_usage(openai_server):
    openai_server.queue_text("Yes: the Red Trail Boot is $89.", model="gpt-4o-mini-2024-07-18")
    provider = make_provider(openai_server)

    result = provider.complete(QUESTION)

    assert isinstance(provider, LLMProvider)
    assert result == LLMResult(
        text="Yes: the Red Trail Boot is $89.",
        tool_calls=[],
        finish_reason="stop",
        model="gpt-4o-mini-2024-07-18",
        usage={"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27},  # the fake counts words
    )
    [request] = openai_server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body == {"model": "gpt-4o-mini", "messages": QUESTION}


def test_tools_are_offered_with_tool_choice_auto(openai_server):
    openai_server.queue_text("Hello!")
    make_provider(openai_server).complete(QUESTION, tools=[SEARCH_PRODUCTS])

    [request] = openai_server.chat_requests
    assert request.body["tool_choice"] == "auto"
    assert request.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search_products",
                "description": "Search the store's products.",
                "parameters": SEARCH_PRODUCTS.parameters,
            },
        }
    ]


def test_streaming_delivers_tokens_in_order_and_the_same_final_text(openai_server):
    text = "We have the Red Trail Boot at $89, in stock in sizes 38 to 45."
    openai_server.queue_text(text)
    tokens: list[str] = []

    result = make_provider(openai_server).complete(QUESTION, on_token=tokens.append)

    assert tokens == ["We", " have", " the", " Red", " Trail", " Boot", " at", " $89,", " in", " stock"] + [
        " in",
        " sizes",
        " 38",
        " to",
        " 45.",
    ]
    assert result.text == text == "".join(tokens)
    assert result.finish_reason == "stop"
    assert result.tool_calls == []
    assert result.usage == {"prompt_tokens": 20, "completion_tokens": 15, "total_tokens": 35}
    [request] = openai_server.chat_requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


def test_stream_usage_can_be_turned_off_for_servers_that_reject_it(openai_server):
    openai_server.queue_text("Hi there")
    result = make_provider(openai_server, stream_usage=False).complete(QUESTION, on_token=lambda _: None)

    assert result.text == "Hi there"
    assert result.usage == {}
    assert "stream_options" not in openai_server.chat_requests[0].body


# -- tool calls through run_tool_loop ------------------------------------------------------------


def _assert_tool_round_trip(server: FakeOpenAIServer, result: LLMResult, answered, executor: ToolExecutor):
    first_call_id = answered[0][0].id
    assert result.text == "The Red Trail Boot is $89."
    assert result.finish_reason == "stop"
    assert [(call.name, call.arguments, outcome) for call, outcome in answered] == [
        (
            "search_products",
            {"query": "red boot", "max_price": 100},
            {"products": [{"title": "Red Trail Boot", "price": 89.0}]},
        ),
    ]
    assert executor.calls == [answered[0][0]]
    first, second = server.chat_requests
    assert first.messages == QUESTION
    assert second.messages == [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": first_call_id,
                    "type": "function",
                    "function": {
                        "name": "search_products",
                        "arguments": json.dumps({"query": "red boot", "max_price": 100}),
                    },
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": first_call_id,
            "content": json.dumps({"products": [{"title": "Red Trail Boot", "price": 89.0}]}),
        },
    ]


def test_tool_call_round_trip_without_streaming(openai_server):
    openai_server.queue_tool_calls(("search_products", {"query": "red boot", "max_price": 100}))
    openai_server.queue_text("The Red Trail Boot is $89.")
    executor = ToolExecutor()
    messages = list(QUESTION)

    result, answered = run_tool_loop(
        make_provider(openai_server), messages, tools=[SEARCH_PRODUCTS], execute=executor
    )

    _assert_tool_round_trip(openai_server, result, answered, executor)
    assert answered[0][0].id == "call_1"
    assert messages == QUESTION  # the caller's list is left alone
    assert [r.is_stream for r in openai_server.chat_requests] == [False, False]


def test_streamed_tool_call_assembles_arguments_split_across_deltas(openai_server):
    arguments = {"query": "red boot", "max_price": 100}
    # 3 characters per delta: the JSON arrives in 13 pieces, cut mid-key and mid-value.
    openai_server.queue_tool_calls(("search_products", arguments), argument_chunk_chars=3)
    openai_server.queue_text("The Red Trail Boot is $89.")
    executor = ToolExecutor()
    tokens: list[str] = []

    result, answered = run_tool_loop(
        make_provider(openai_server),
        QUESTION,
        tools=[SEARCH_PRODUCTS],
        execute=executor,
        on_token=tokens.append,
    )

    assert len(json.dumps(arguments)) == 39  # so 13 deltas of 3 characters
    _assert_tool_round_trip(openai_server, result, answered, executor)
    assert "".join(tokens) == "The Red Trail Boot is $89."
    assert [r.is_stream for r in openai_server.chat_requests] == [True, True]


def test_two_streamed_tool_calls_in_one_turn_stay_apart(openai_server):
    openai_server.queue_tool_calls(
        ("search_products", {"query": "red boot"}),
        ("search_products", {"query": "blue", "max_price": 80}),
        text="Let me look.",
        argument_chunk_chars=4,
    )
    tokens: list[str] = []

    result = make_provider(openai_server).complete(QUESTION, tools=[SEARCH_PRODUCTS], on_token=tokens.append)

    assert tokens == ["Let", " me", " look."]
    assert result.text == "Let me look."
    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments, c.arguments_error) for c in result.tool_calls] == [
        ("call_1", "search_products", {"query": "red boot"}, None),
        ("call_2", "search_products", {"query": "blue", "max_price": 80}, None),
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_malformed_tool_arguments_become_an_error_result_for_the_model(openai_server, stream):
    openai_server.queue_tool_calls(
        ("search_products", '{"query": "red boot", "max_price": '),  # cut off mid-object
        ("search_products", '["red boot"]'),  # JSON, but not an object
        ("search_products", {"query": "red boot"}),
    )
    openai_server.queue_text("Here is what I found.")
    executor = ToolExecutor()

    result, answered = run_tool_loop(
        make_provider(openai_server),
        QUESTION,
        tools=[SEARCH_PRODUCTS],
        execute=executor,
        on_token=(lambda _: None) if stream else None,
    )

    assert result.text == "Here is what I found."
    assert [call.id for call in executor.calls] == ["call_3"]  # only the valid call ran
    bad_json, not_object, valid = answered
    assert bad_json[0].arguments == {}
    assert bad_json[0].arguments_error.startswith("the arguments are not valid JSON (")
    assert bad_json[1] == {
        "error": f"Invalid arguments for search_products: {bad_json[0].arguments_error}. "
        "Call the tool again with a JSON object that matches its parameters."
    }
    assert not_object[0].arguments_error == "the arguments must be a JSON object, not list"
    assert valid[1] == {
        "products": [{"title": "Red Trail Boot", "price": 89.0}, {"title": "Red City Boot", "price": 129.0}]
    }
    second = openai_server.chat_requests[1]
    assistant, *tool_messages = second.messages[2:]
    # The model's own (broken) text is echoed, so the error is paired with what it wrote.
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == [
        '{"query": "red boot", "max_price": ',
        '["red boot"]',
        '{"query": "red boot"}',
    ]
    assert [(m["tool_call_id"], json.loads(m["content"])) for m in tool_messages] == [
        ("call_1", bad_json[1]),
        ("call_2", not_object[1]),
        ("call_3", valid[1]),
    ]


def test_a_tool_that_was_not_offered_is_answered_with_an_error(openai_server):
    openai_server.queue_tool_calls(("delete_store", {}))
    openai_server.queue_text("I can't do that.")
    executor = ToolExecutor()

    result, answered = run_tool_loop(
        make_provider(openai_server), QUESTION, tools=[SEARCH_PRODUCTS, LOOKUP_ORDER], execute=executor
    )

    assert result.text == "I can't do that."
    assert executor.calls == []
    assert [(call.name, outcome) for call, outcome in answered] == [
        (
            "delete_store",
            {"error": "Unknown tool 'delete_store'. Available tools: lookup_order, search_products."},
        ),
    ]


def test_max_steps_returns_the_last_result_without_running_its_calls(openai_server):
    openai_server.queue_tool_calls(("search_products", {"query": "boot"}))
    openai_server.queue_tool_calls(("search_products", {"query": "red"}))
    openai_server.queue_tool_calls(("search_products", {"query": "never asked"}))
    executor = ToolExecutor()

    result, answered = run_tool_loop(
        make_provider(openai_server), QUESTION, tools=[SEARCH_PRODUCTS], execute=executor, max_steps=2
    )

    assert result.finish_reason == "max_steps"
    assert result.text == ""
    assert [(c.id, c.arguments) for c in result.tool_calls] == [("call_2", {"query": "red"})]
    assert [call.arguments for call in executor.calls] == [{"query": "boot"}]
    assert [call.id for call, _ in answered] == ["call_1"]
    assert len(openai_server.chat_requests) == 2
    assert openai_server.pending() == 1


def test_max_steps_must_be_positive(openai_server):
    with pytest.raises(ValueError, match="max_steps must be at least 1"):
        run_tool_loop(make_provider(openai_server), QUESTION, tools=[], execute=ToolExecutor(), max_steps=0)
    assert openai_server.requests == []


# -- retries, timeouts and permanent errors --------------------------------------------------------


def test_rate_limit_waits_as_retry_after_says_then_succeeds(openai_server):
    openai_server.queue_error(429, headers={"Retry-After": "1"})
    openai_server.queue_text("Back again.")
    sleep = RecordingSleep()

    result = make_provider(openai_server, sleep=sleep).complete(QUESTION)

    assert result.text == "Back again."
    assert sleep.waits == [1.0]  # the server's value, not the (0.02 s) exponential backoff
    first, second = openai_server.chat_requests
    assert first.received_at < second.received_at
    assert first.body == second.body


def test_rate_limit_honours_retry_after_ms_first(openai_server):
    openai_server.queue_error(429, headers={"retry-after-ms": "250", "Retry-After": "9"})
    openai_server.queue_text("ok")
    sleep = RecordingSleep()

    assert make_provider(openai_server, sleep=sleep).complete(QUESTION).text == "ok"
    assert sleep.waits == [0.25]
    assert len(openai_server.chat_requests) == 2


def test_retry_after_is_capped_at_max_backoff(openai_server):
    openai_server.queue_error(429, headers={"Retry-After": "120"})
    openai_server.queue_text("ok")
    sleep = RecordingSleep()

    assert make_provider(openai_server, sleep=sleep, max_backoff=0.3).complete(QUESTION).text == "ok"
    assert sleep.waits == [0.3]


def test_server_errors_are_retried_with_exponential_backoff_then_succeed(openai_server):
    openai_server.queue_error(500)
    openai_server.queue_error(503, message="The engine is currently overloaded.")
    openai_server.queue_text("Third time lucky.")
    sleep = RecordingSleep()

    result = make_provider(openai_server, sleep=sleep, backoff_base=0.04).complete(QUESTION)

    assert result.text == "Third time lucky."
    assert len(openai_server.chat_requests) == 3
    first_wait, second_wait = sleep.waits
    assert 0.02 <= first_wait <= 0.04  # equal jitter: half to all of 0.04 × 2**0
    assert 0.04 <= second_wait <= 0.08  # half to all of 0.04 × 2**1


def test_retries_stop_after_max_retries(openai_server):
    for _ in range(3):
        openai_server.queue_error(502)
    sleep = RecordingSleep()

    with pytest.raises(ProviderError) as raised:
        make_provider(openai_server, sleep=sleep, max_retries=1).complete(QUESTION)

    assert raised.value.retryable is True
    assert raised.value.status_code == 502
    assert not isinstance(raised.value, ProviderTimeout)
    assert len(openai_server.chat_requests) == 2
    assert len(sleep.waits) == 1
    assert openai_server.pending() == 1


def test_a_wrong_api_key_gets_401_and_is_not_retried():
    with FakeOpenAIServer(api_key="sk-right") as server:
        server.queue_text("never sent")
        sleep = RecordingSleep()

        with pytest.raises(ProviderError) as raised:
            make_provider(server, api_key="sk-wrong", sleep=sleep).complete(QUESTION)

        assert raised.value.retryable is False
        assert raised.value.status_code == 401
        assert str(raised.value) == "The LLM answered HTTP 401: Incorrect API key provided."
        assert len(server.requests) == 1
        assert sleep.waits == []
        assert server.pending() == 1


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_permanent_errors_are_not_retried(openai_server, status):
    openai_server.queue_error(status, message="Nope.")
    openai_server.queue_text("never sent")

    with pytest.raises(ProviderError) as raised:
        make_provider(openai_server).complete(QUESTION)

    assert (raised.value.retryable, raised.value.status_code) == (False, status)
    assert str(raised.value) == f"The LLM answered HTTP {status}: Nope."
    assert len(openai_server.chat_requests) == 1


def test_a_stalled_server_times_out_after_every_attempt(openai_server):
    for _ in range(3):
        openai_server.queue_stall(30)
    sleep = RecordingSleep()

    with pytest.raises(ProviderTimeout) as raised:
        make_provider(openai_server, timeout=0.3, max_retries=2, sleep=sleep).complete(QUESTION)

    assert raised.value.retryable is True
    assert raised.value.partial_text == ""
    assert len(openai_server.chat_requests) == 3
    assert len(sleep.waits) == 2
    assert openai_server.pending() == 0


def test_a_stream_that_stalls_before_any_text_is_retried(openai_server):
    openai_server.queue(FakeReply(text="too late", chunk_delay=30))
    openai_server.queue_text("Right on time.")
    tokens: list[str] = []

    result = make_provider(openai_server, timeout=0.3).complete(QUESTION, on_token=tokens.append)

    assert result.text == "Right on time."
    assert tokens == ["Right", " on", " time."]
    assert len(openai_server.chat_requests) == 2


def test_a_dropped_connection_is_retried(openai_server):
    openai_server.queue_disconnect()
    openai_server.queue_text("Reconnected.")
    sleep = RecordingSleep()

    assert make_provider(openai_server, sleep=sleep).complete(QUESTION).text == "Reconnected."
    assert len(openai_server.chat_requests) == 2
    assert len(sleep.waits) == 1


def test_a_stream_dropped_after_text_is_not_retried_and_reports_the_partial_text(openai_server):
    # Chunks: role, "One", " two", then the connection drops.
    openai_server.queue_text("One two three four.", disconnect_after_chunks=3)
    openai_server.queue_text("One two three four.")
    tokens: list[str] = []

    with pytest.raises(ProviderError) as raised:
        make_provider(openai_server).complete(QUESTION, on_token=tokens.append)

    assert tokens == ["One", " two"]
    assert raised.value.partial_text == "One two"
    assert raised.value.retryable is True
    assert len(openai_server.chat_requests) == 1
    assert openai_server.pending() == 1


def test_the_total_deadline_cuts_a_trickling_stream(openai_server):
    text = " ".join(f"word{n}" for n in range(40))
    # Each chunk arrives well within the per-read timeout, but all of them take 4 s.
    openai_server.queue_text(text, chunk_delay=0.1)
    provider = make_provider(openai_server, timeout=0.6, max_retries=0)
    tokens: list[str] = []

    with pytest.raises(ProviderTimeout) as raised:
        provider.complete(QUESTION, on_token=tokens.append)

    assert provider.deadline_seconds == 0.6
    assert raised.value.partial_text == "".join(tokens)
    assert 0 < len(tokens) < 40
    assert text.startswith(raised.value.partial_text)
    assert len(openai_server.chat_requests) == 1


def test_the_deadline_covers_every_attempt_and_wait():
    provider = OpenAIProvider(
        api_key="k", base_url="http://127.0.0.1:9/v1", model="m", timeout=20, max_retries=2, max_backoff=8
    )
    assert provider.deadline_seconds == 20 * 3 + 2 * 8


def test_an_invalid_transcript_is_a_permanent_error(openai_server):
    orphan_tool_result = [*QUESTION, {"role": "tool", "tool_call_id": "call_9", "content": "{}"}]

    with pytest.raises(ProviderError) as raised:
        make_provider(openai_server).complete(orphan_tool_result)

    assert (raised.value.retryable, raised.value.status_code) == (False, 400)
    assert "must be a response to a preceeding message with 'tool_calls'" in str(raised.value)
    assert len(openai_server.chat_requests) == 1


# -- endpoints: Ollama / vLLM, Azure ---------------------------------------------------------------


def test_azure_style_base_url_sends_api_key_header_and_api_version(openai_server):
    openai_server.queue_text("Hello from Azure.")
    base_url = f"{openai_server.root_url}/openai/deployments/support-gpt4o?api-version=2024-10-21"
    provider = make_provider(openai_server, api_key="azure-key", base_url=base_url, model="support-gpt4o")

    assert provider.complete(QUESTION).text == "Hello from Azure."
    [request] = openai_server.chat_requests
    assert request.path == "/openai/deployments/support-gpt4o/chat/completions"
    assert request.query == {"api-version": ["2024-10-21"]}
    assert request.headers["api-key"] == "azure-key"
    assert "authorization" not in request.headers
    assert request.body["model"] == "support-gpt4o"


# -- settings ------------------------------------------------------------------------------------


def test_get_llm_provider_is_none_offline(settings):
    settings.LLM_PROVIDER = "offline"
    settings.OPENAI_API_KEY = "sk-configured-but-unused"

    assert get_llm_provider() is None


def test_get_llm_provider_uses_the_settings(settings, openai_server):
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-from-settings"
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.OPENAI_MODEL = "llama3.1:8b"
    settings.OPENAI_TIMEOUT_SECONDS = 7.5
    settings.OPENAI_MAX_RETRIES = 1
    openai_server.queue_text("From settings.")

    provider = get_llm_provider()

    assert isinstance(provider, OpenAIProvider)
    assert (provider.model, provider.timeout, provider.max_retries) == ("llama3.1:8b", 7.5, 1)
    assert provider.complete(QUESTION).text == "From settings."
    [request] = openai_server.chat_requests
    assert request.body["model"] == "llama3.1:8b"
    assert request.headers["authorization"] == "Bearer sk-from-settings"


def test_get_llm_provider_works_without_a_key_for_a_local_server(settings, openai_server):
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = openai_server.base_url
    openai_server.queue_text("Local model here.")

    provider = get_llm_provider()

    assert provider.complete(QUESTION).text == "Local model here."
    assert openai_server.chat_requests[0].headers["authorization"] == "Bearer unused"


# -- the fake server itself (other suites rely on it) ------------------------------------------------


def test_fake_server_embeddings_are_deterministic_unit_vectors(openai_server):
    client = openai.OpenAI(api_key="sk-test", base_url=openai_server.base_url, max_retries=0)

    response = client.embeddings.create(
        model="text-embedding-3-small",
        input=["red trail boots", "Red boots", "a refund policy"],
        dimensions=384,
    )

    vectors = np.array([item.embedding for item in response.data])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vectors[0], fake_embedding("red trail boots", 384), rtol=1e-6)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert openai_server.embedding_requests[0].body["encoding_format"] == "base64"
    default = client.embeddings.create(model="text-embedding-3-small", input="x", encoding_format="float")
    assert len(default.data[0].embedding) == 1536


def test_fake_server_lists_its_model_and_scripts_embedding_errors(openai_server):
    client = openai.OpenAI(api_key="sk-test", base_url=openai_server.base_url, max_retries=0)
    openai_server.queue_error(429, endpoint="embeddings")

    assert [m.id for m in client.models.list().data] == ["fake-model"]
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert len(client.embeddings.create(model="text-embedding-3-small", input="x").data) == 1


def test_fake_server_answers_500_when_nothing_is_scripted(openai_server):
    with pytest.raises(ProviderError) as raised:
        make_provider(openai_server, max_retries=0).complete(QUESTION)

    assert raised.value.status_code == 500
    assert "no scripted reply left" in str(raised.value)
