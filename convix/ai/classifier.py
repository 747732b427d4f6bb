"""A few-shot text classifier over sentence embeddings, with an out-of-scope decision.

``ExampleClassifier`` learns labels from example utterances (a store's FAQ questions, the intent
examples of ``convix.ai.understanding``, a dataset's train split) and answers, for a new text,
the best label and a score in 0..1. A score below the threshold means "none of these": the
prediction is ``None`` (out of scope).

How it decides, and why:

- Similarity (the out-of-scope score): for each label, the mean of the two best cosine
  similarities between the text and that label's examples. The cosine blends the MiniLM
  embedding (meaning, 80%) with a character n-gram TF-IDF fitted on the examples (spelling,
  20%): real shoppers misspell ("matress", "pliiows"), which MiniLM's word pieces handle poorly.
  Two neighbours rather than one make a single odd example count less.
- The label: when the labels have a median of at least ``min_examples_for_model`` examples, a
  logistic regression over the embedding and word + character TF-IDF features is averaged with
  the similarity to pick the label (this ``confidence`` is reported too). With one or two
  examples per label (a typical FAQ) similarity alone decides.
- Out of scope when the similarity of the chosen label is below the threshold. Similarity,
  unlike a model probability, keeps its meaning from one example set to the next, so one
  threshold calibrated for the embedding model serves every store: 0.50 was chosen on CLINC150's
  validation split and transfers to HINT3's real shopper traffic (see
  ``convix.ai.evaluation.datasets``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Chosen on CLINC150's validation split (3,000 in-scope + 100 out-of-scope queries): the
# similarity threshold that maximises (in-scope accuracy + out-of-scope recall) / 2, on a 0.025
# grid. Reproduce with convix.ai.evaluation.datasets.choose_default_threshold().
DEFAULT_THRESHOLD = 0.50

CHAR_WEIGHT = 0.2  # share of the character TF-IDF cosine in the similarity blend
NEIGHBOURS = 2  # similarities averaged per label
MODEL_WEIGHT = 0.5  # share of the logistic-regression probability in the label choice, when trained


def offline_embedder():
    """The process-wide offline MiniLM embedder (the space every threshold here is calibrated in).

    Reuses the settings' embedder when it is the offline one, so one ONNX session serves
    retrieval and understanding; otherwise (an OpenAI deployment, or no Django settings at all)
    keeps one of its own.
    """
    global _offline
    if _offline is not None:
        return _offline
    with _offline_lock:
        if _offline is None:
            from convix.ai.embeddings import OfflineEmbedder

            embedder = None
            try:
                from django.conf import settings

                if settings.configured:
                    from convix.ai.embeddings import get_embedder

                    candidate = get_embedder()
                    if isinstance(candidate, OfflineEmbedder):
                        embedder = candidate
            except Exception:  # noqa: BLE001, S110 - a misconfigured setting must not stop understanding
                embedder = None
            _offline = embedder or OfflineEmbedder()
    return _offline


_offline = None
_offline_lock = threading.Lock()


class KnownVectors:
    """An embedder that answers from vectors computed earlier and embeds only unknown texts.

    For callers that cache embeddings (on disk, across folds of an evaluation): pass it as
    ``ExampleClassifier(embedder=...)`` so examples and queries are never embedded twice.
    """

    def __init__(self, texts: Sequence[str], vectors: np.ndarray, *, fallback=None) -> None:
        self._known = {text: vectors[i] for i, text in enumerate(texts)}
        self._fallback = fallback
        self.model_id = getattr(fallback, "model_id", "known-vectors")
        self.dimensions = vectors.shape[1] if len(vectors) else 384

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self._known]
        if missing:
            fallback = self._fallback or offline_embedder()
            for text, vector in zip(missing, fallback.embed(missing), strict=True):
                self._known[text] = vector
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._known[text] for text in texts]).astype(np.float32)


@dataclass(frozen=True)
class Prediction:
    label: str | None  # None: out of scope (score below the threshold)
    score: float  # 0..1: similarity of the text to the label's examples, compared with the threshold
    confidence: float  # 0..1: the classifier's belief in the label (similarity blended with the model)
    best_label: str  # the best label even when the score is below the threshold


class ExampleClassifier:
    """Labels from example utterances, with "none of these" below a score threshold.

    ``examples`` maps each label to its example texts (at least one label with one text).
    ``embedder`` defaults to the offline MiniLM embedder; another embedder needs its own
    threshold. Fitting embeds every example once (about 300 short texts a second on two cores).
    Instances are immutable after construction and safe to share between threads.
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        *,
        embedder=None,
        threshold: float | None = None,
        min_examples_for_model: int = 3,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        pairs = [
            (label, text) for label, texts in examples.items() for text in texts if text and text.strip()
        ]
        if not pairs:
            raise ValueError("ExampleClassifier needs at least one non-empty example.")
        self.labels: tuple[str, ...] = tuple(dict.fromkeys(label for label, _ in pairs))
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self._embedder = embedder or offline_embedder()
        self._texts = [text for _, text in pairs]
        label_index = {label: i for i, label in enumerate(self.labels)}
        self._example_labels = np.array([label_index[label] for label, _ in pairs])
        self._vectors = np.asarray(self._embedder.embed(self._texts), dtype=np.float32)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        self._example_chars = self._chars.fit_transform([t.lower() for t in self._texts])
        counts = np.bincount(self._example_labels, minlength=len(self.labels))
        self._model = None
        if len(self.labels) >= 2 and np.median(counts) >= min_examples_for_model:
            self._fit_model()

    # -- fitting -----------------------------------------------------------------------------

    def _fit_model(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self._words.fit([t.lower() for t in self._texts])
        features = self._features(self._texts, self._vectors, self._example_chars)
        self._model = LogisticRegression(C=10.0, max_iter=3000)
        self._model.fit(features, self._example_labels)

    def _features(self, texts, vectors, chars):
        from scipy.sparse import csr_matrix, hstack

        words = self._words.transform([t.lower() for t in texts])
        # The embedding is scaled up so its 384 dense dimensions weigh about as much as the
        # sparse TF-IDF blocks, each of unit norm.
        return hstack([csr_matrix(vectors * 2.0), words, chars]).tocsr()

    # -- scoring -----------------------------------------------------------------------------

    def _scores(self, texts: Sequence[str], vectors: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Two (len(texts), len(labels)) matrices in 0..1: the blended confidence and the similarity."""
        if not texts:
            empty = np.zeros((0, len(self.labels)))
            return empty, empty
        if vectors is None:
            vectors = self._embedder.embed(list(texts))
        chars = self._chars.transform([t.lower() for t in texts])
        similarity = (1 - CHAR_WEIGHT) * (vectors @ self._vectors.T) + CHAR_WEIGHT * (
            chars @ self._example_chars.T
        ).toarray()
        per_label = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        for index in range(len(self.labels)):
            columns = similarity[:, self._example_labels == index]
            best = -np.sort(-columns, axis=1)[:, :NEIGHBOURS]
            if best.shape[1] < NEIGHBOURS:  # a label with one example counts it twice
                best = np.concatenate([best, best[:, :1]], axis=1)
            per_label[:, index] = best.mean(axis=1)
        per_label = np.clip(per_label, 0.0, 1.0)
        if self._model is None:
            return per_label, per_label
        probabilities = self._model.predict_proba(self._features(texts, vectors, chars))
        ordered = np.zeros_like(per_label)
        ordered[:, self._model.classes_] = probabilities
        return (1 - MODEL_WEIGHT) * per_label + MODEL_WEIGHT * ordered, per_label

    def probabilities(self, texts: Sequence[str], *, vectors: np.ndarray | None = None) -> np.ndarray:
        """The model's (len(texts), len(labels)) class probabilities, columns in ``labels`` order.

        Without a trained model (too few examples per label), a softmax of the similarities.
        """
        if vectors is None:
            vectors = self._embedder.embed(list(texts))
        if self._model is None:
            _, similarity = self._scores(texts, vectors)
            weights = np.exp((similarity - similarity.max(axis=1, keepdims=True)) * 20.0)
            return weights / weights.sum(axis=1, keepdims=True)
        chars = self._chars.transform([t.lower() for t in texts])
        ordered = np.zeros((len(texts), len(self.labels)))
        ordered[:, self._model.classes_] = self._model.predict_proba(self._features(texts, vectors, chars))
        return ordered

    def similarities(self, texts: Sequence[str], *, vectors: np.ndarray | None = None) -> np.ndarray:
        """(len(texts), len(labels)) similarity of each text to each label's examples, 0..1."""
        return self._scores(texts, vectors)[1]

    def predict_detailed(
        self, texts: Sequence[str], *, vectors: np.ndarray | None = None
    ) -> list[Prediction]:
        """Best label, its similarity score and its confidence for each text.

        ``label`` is None when the similarity score is below the threshold. ``vectors`` may pass
        the texts' offline embeddings when the caller already has them.
        """
        confidence, similarity = self._scores(texts, vectors)
        out = []
        for confidence_row, similarity_row in zip(confidence, similarity, strict=True):
            best = int(confidence_row.argmax())
            score = float(similarity_row[best])
            out.append(
                Prediction(
                    label=self.labels[best] if score >= self.threshold else None,
                    score=score,
                    confidence=float(confidence_row[best]),
                    best_label=self.labels[best],
                )
            )
        return out

    def predict(
        self, texts: Sequence[str], *, vectors: np.ndarray | None = None
    ) -> list[tuple[str | None, float]]:
        """``(label, or None when out of scope; score)`` for each text."""
        return [(p.label, p.score) for p in self.predict_detailed(texts, vectors=vectors)]
