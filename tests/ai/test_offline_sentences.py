"""Sentence selection in the offline engine: blended meaning + shared words, and the per-process
cache of sentence embeddings (a store's documents are embedded once, not per message)."""

from __future__ import annotations

from convix.ai import offline_engine as compose
from convix.ai.embeddings import get_embedder
from tests.training.conftest import CountingEmbedder

POLICY = (
    "Refunds always go back to the original payment method. "
    "We can't redirect a refund to a different card. "
    "Klarna: refunds reduce your remaining installments first. "
    "Store credit is issued as an e-gift card."
)


def test_blended_selection_picks_the_sentence_that_means_and_names_the_question():
    embedder = CountingEmbedder(get_embedder())
    question = "how do refunds work if I paid with klarna"
    picked = compose.relevant_sentences(
        embedder.embed([question])[0],
        POLICY,
        embedder,
        limit=1,
        query_text=question,
        ignore_text="Refunds Policy",
        blend=True,
    )
    assert picked == ["Klarna: refunds reduce your remaining installments first."]


def test_sentence_embeddings_are_computed_once_per_process():
    compose._sentence_cache.clear()  # another test may have embedded these sentences already
    embedder = CountingEmbedder(get_embedder())
    vector = embedder.embed(["where does my refund go"])[0]
    first = compose.relevant_sentences(vector, POLICY, embedder, blend=True, query_text="refund go")
    embedded_once = len(embedder.texts)
    second = compose.relevant_sentences(vector, POLICY, embedder, blend=True, query_text="refund go")
    assert first == second
    assert embedded_once == 1 + 4  # the question, then the policy's four sentences
    assert len(embedder.texts) == embedded_once  # the second pass embedded nothing


def test_content_stems_meet_across_word_forms_and_skip_stopwords():
    assert compose.content_stems("Returns are returned") == {"retur"}
    assert compose.content_stems("what is the") == set()
