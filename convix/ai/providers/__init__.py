"""LLM providers behind one small interface (see ``base``), chosen by settings.

``get_llm_provider()`` returns the configured provider, or None for the offline engine. The
``openai`` package (about half a second to import) is only imported when a provider is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convix.ai.providers.base import (
    LLMProvider,
    LLMResult,
    ProviderError,
    ProviderTimeout,
    ToolCall,
    ToolSpec,
    run_tool_loop,
)

if TYPE_CHECKING:
    from convix.ai.providers.openai_provider import OpenAIProvider

__all__ = [
    "LLMProvider",
    "LLMResult",
    "OpenAIProvider",
    "ProviderError",
    "ProviderTimeout",
    "ToolCall",
    "ToolSpec",
    "get_llm_provider",
    "run_tool_loop",
]


def get_llm_provider() -> LLMProvider | None:
    """The provider the settings choose (``LLM_PROVIDER``), or None when it is "offline"."""
    from django.conf import settings

    if settings.LLM_PROVIDER == "offline":
        return None
    from convix.ai.providers import openai_provider

    return openai_provider.get_llm_provider()


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from convix.ai.providers.openai_provider import OpenAIProvider

        return OpenAIProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
