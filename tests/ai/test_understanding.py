"""Behaviour of the understanding layer on realistic shopper messages (real MiniLM embeddings)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import numpy as np
import pytest

from convix.ai.classifier import ExampleClassifier, KnownVectors, offline_embedder
from convix.ai.intents import Intent
from convix.ai.understanding import Entities, Understanding, extract_entities, understand


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Is the Summit 2 tent waterproof, and how much does it weigh?", Intent.PRODUCT_QUESTION),
        ("do u have the merino hoodie in XL", Intent.PRODUCT_QUESTION),
        (
            "What sleeping bag would you recommend for camping in the Rockies in October?",
            Intent.RECOMMENDATION,
        ),
        ("Looking for a good daypack for my 10 year old, any suggestions?", Intent.RECOMMENDATION),
        ("Where is my order AP-10421? It was supposed to arrive Monday", Intent.ORDER_STATUS),
        ("has my package shipped yet", Intent.ORDER_STATUS),
        ("The boots are too tight, how do I send them back for a bigger size?", Intent.RETURN),
        ("I mailed the jacket back two weeks ago, when do I get my money?", Intent.REFUND),
        ("How long does delivery to Vermont take and is it free?", Intent.SHIPPING),
        ("I can't log in, the reset password email never arrives", Intent.ACCOUNT),
        ("My card keeps getting declined at checkout", Intent.PAYMENT),
        ("Do you offer a lifetime warranty on your packs?", Intent.POLICY_FAQ),
        ("What are your store hours on Saturday?", Intent.POLICY_FAQ),
        ("Good morning!", Intent.GREETING),
        ("ok thanks, bye", Intent.GREETING),
        ("Can I talk to a real person please", Intent.HUMAN_REQUEST),
        ("The stove you sold me stopped working after two trips, really poor quality", Intent.COMPLAINT),
        ("Who won the World Cup in 2018?", Intent.OUT_OF_SCOPE),
        ("Can you write my history essay for me?", Intent.OUT_OF_SCOPE),
    ],
)
def test_intent_of_realistic_messages(message, intent):
    result = understand(message)

    assert result.intent == intent, (result.intent, result.alternatives)


def test_understanding_has_the_documented_shape():
    result = understand("Do you have a waterproof 2 person tent under $150?")

    assert isinstance(result, Understanding)
    assert result.intent == Intent.PRODUCT_QUESTION
    assert 0.0 <= result.intent_confidence <= 1.0
    assert len(result.alternatives) == 3
    assert all(isinstance(intent, Intent) and 0.0 <= p <= 1.0 for intent, p in result.alternatives)
    # Probabilities of one distribution: the best first, and together at most 1.
    assert result.intent_confidence >= result.alternatives[0][1] >= result.alternatives[1][1]
    assert result.intent_confidence + sum(p for _, p in result.alternatives) <= 1.0 + 1e-6
    assert result.entities.money == (Decimal("150"),)
    assert result.entities.product_terms == ("waterproof 2-person tent",)


def test_a_clear_message_is_confident_and_not_ambiguous():
    result = understand("I forgot my password and can't log in to my account")

    assert result.intent == Intent.ACCOUNT
    assert result.intent_confidence >= 0.8
    assert result.is_ambiguous is False


@pytest.mark.parametrize("message", ["help", "question", "hmm", "I have an issue"])
def test_vague_messages_are_ambiguous(message):
    assert understand(message).is_ambiguous is True


def test_a_message_between_two_intents_is_ambiguous_with_both_on_top():
    result = understand("is it possible to exchange or refund the tent")

    top_two = {result.intent, result.alternatives[0][0]}
    assert top_two == {Intent.RETURN, Intent.REFUND}
    assert result.is_ambiguous is True


def test_greeting_rule_is_confident_and_a_greeting_prefix_does_not_hide_the_request():
    assert understand("Hi!").intent == Intent.GREETING
    assert understand("Hi!").intent_confidence >= 0.9
    result = understand("Hi there, where is my order #4471?")
    assert result.intent == Intent.ORDER_STATUS
    assert result.entities.order_numbers == ("#4471",)


@pytest.mark.parametrize(
    "message",
    [
        "Can I speak to a human?",
        "agent",
        "Transfer me to a live agent now",
        "I don't want to talk to a bot",
        "Please have someone from your team call me back",
        "I'd like to speak with a manager about my refund",
    ],
)
def test_explicit_requests_for_a_person(message):
    result = understand(message)

    assert result.wants_human is True
    assert result.intent == Intent.HUMAN_REQUEST


@pytest.mark.parametrize(
    "message",
    [
        "I don't need a human, just tell me the price of the stove",
        "Is the tent big enough for a tall person?",
        "Which jacket is best for a person who runs cold?",
    ],
)
def test_mentions_of_people_are_not_requests(message):
    result = understand(message)

    assert result.wants_human is False
    assert result.intent != Intent.HUMAN_REQUEST


@pytest.mark.parametrize(
    "message",
    [
        "This is ridiculous, the tent leaked on the first night and nobody answers my emails!!!",
        "I've asked THREE times where my order is. Unacceptable.",
        "wtf is going on with my order",
        "your company is a scam, give me my money back now",
        "I am so angry right now, worst service ever",
    ],
)
def test_angry_messages(message):
    result = understand(message)

    assert result.is_angry is True
    assert result.anger >= 0.5
    assert result.sentiment < 0


@pytest.mark.parametrize(
    "message",
    [
        "Hi, could you tell me if the Summit tent is waterproof?",
        "Thanks so much, you were really helpful!",
        "I'm a bit disappointed the color is different, can I exchange it?",
        "where is my order",
    ],
)
def test_calm_messages(message):
    result = understand(message)

    assert result.is_angry is False
    assert result.anger < 0.5


def test_anger_is_ordered_and_sentiment_has_the_right_sign():
    calm = understand("Thanks, that answers my question perfectly")
    annoyed = understand("Still no reply after two days, this is getting annoying")
    furious = understand("This is the worst company ever, you are thieves and liars!!!")

    assert calm.anger < annoyed.anger < furious.anger
    assert calm.sentiment > 0.3
    assert furious.sentiment < -0.5


def test_anger_carries_over_a_short_follow_up():
    angry = "I've asked THREE times where my order is. Unacceptable."

    assert understand("and?", history=[angry]).is_angry is True
    assert understand("and?").is_angry is False


def test_a_bare_order_number_answers_the_previous_question():
    result = understand("AP-10421", history=["Hello", "where is my package?"])

    assert result.intent == Intent.ORDER_STATUS
    assert result.entities.order_numbers == ("AP-10421",)
    assert understand("#10421").intent == Intent.ORDER_STATUS


def test_a_vague_follow_up_inherits_the_previous_intent():
    first = "I want to return the hiking boots I bought last week"

    assert understand("how?").is_ambiguous is True
    assert understand("how?", history=[first]).intent == Intent.RETURN


def test_purchase_intent_is_high_for_buyers_and_low_after_sale():
    buyer = understand("I want to buy 2 of the Trailblazer packs, are they in stock?")
    browsing = understand("What's the difference between the 35L and 45L packs?")
    returning = understand("I want to return the boots, they don't fit")
    refund = understand("Where is my refund?")

    assert buyer.purchase_intent >= 0.7
    assert 0.3 <= browsing.purchase_intent < buyer.purchase_intent
    assert returning.purchase_intent < 0.1
    assert refund.purchase_intent < 0.1
    assert buyer.entities.quantities == (2,)


def test_empty_message():
    result = understand("   ")

    assert result.intent == Intent.OUT_OF_SCOPE
    assert result.is_ambiguous is True
    assert result.entities == Entities()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Where is order AP-10421?", {"order_numbers": ("AP-10421",)}),
        ("order #1001 hasn't arrived", {"order_numbers": ("#1001",)}),
        ("my order number is 10421", {"order_numbers": ("10421",)}),
        ("Order no. 55812 and AP-20001 please", {"order_numbers": ("55812", "AP-20001")}),
        # A bare number, a phone number or a zip code is not an order.
        ("call me at 555-123-4567", {}),
        ("My zip is 90210, do you ship there?", {"product_terms": ()}),
        ("It's been 10 days since order #4471 shipped", {"order_numbers": ("#4471",)}),
        ("email me at Jane.Doe+gear@example.co.uk", {"emails": ("Jane.Doe+gear@example.co.uk",)}),
        (
            "I need 3 sleeping bags and two headlamps",
            {"quantities": (3, 2), "product_terms": ("sleeping bags", "headlamps")},
        ),
        # "2-person" and "4 nights" are attributes, not counts of items.
        ("a 2-person tent for 4 nights", {"product_terms": ("2-person tent",)}),
        ("qty: 4", {"quantities": (4,)}),
        ("x2 headlamps please", {"quantities": (2,), "product_terms": ("headlamps",)}),
        ("20% off on 3 jackets?", {"quantities": (3,), "product_terms": ("jackets",)}),
        ("I'm 6 feet tall and need boots size 11", {"product_terms": ("boots",)}),
        (
            "Do you have a waterproof 2 person tent under $150?",
            {"money": (Decimal("150"),), "product_terms": ("waterproof 2-person tent",)},
        ),
        ("budget around 200 dollars", {"money": (Decimal("200"),)}),
        ("between $1,299.99 and €80", {"money": (Decimal("1299.99"), Decimal("80"))}),
        ("it was 1.5k bucks", {"money": (Decimal("1500"),)}),
        (
            "I bought 2 of the Trailblazer 45L backpacks",
            {"quantities": (2,), "product_terms": ("trailblazer 45l backpacks",)},
        ),
    ],
)
def test_entities(message, expected):
    entities = extract_entities(message)

    full = {"order_numbers": (), "emails": (), "quantities": (), "money": (), "product_terms": ()}
    full.update(expected)
    assert entities == Entities(**full)


def test_understand_is_thread_safe_and_deterministic():
    messages = [
        "Where is my order AP-10421?",
        "What tent should I buy for a family of four?",
        "This is unacceptable, I want my money back!!!",
        "Hi",
    ] * 5
    expected = [understand(message) for message in messages]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(understand, messages))

    assert results == expected


# -- ExampleClassifier --------------------------------------------------------------------------

FAQ = {
    "returns": ["How do I return an item?"],
    "shipping_time": ["How long does shipping take?"],
    "warranty": ["What does the warranty cover?"],
    "store_hours": ["When is the store open?"],
}


def test_example_classifier_answers_paraphrases_of_single_examples():
    classifier = ExampleClassifier(FAQ)

    predictions = classifier.predict(
        [
            "can i send back something i bought",
            "how many days does delivery take",
            "what time do you open on sunday",
        ]
    )

    assert [label for label, _ in predictions] == ["returns", "shipping_time", "store_hours"]
    assert all(score >= classifier.threshold for _, score in predictions)


def test_example_classifier_says_none_for_questions_the_examples_do_not_cover():
    classifier = ExampleClassifier(FAQ)

    predictions = classifier.predict(["Who painted the Mona Lisa?", "Do you sell kayaks?", "asdfgh"])

    assert [label for label, _ in predictions] == [None, None, None]
    assert all(score < classifier.threshold for _, score in predictions)


def test_example_classifier_with_many_examples_uses_a_model_and_keeps_the_best_label_below_threshold():
    examples = {
        "tents": ["Which tent is waterproof?", "Do you sell 2 person tents?", "tent footprint size?"],
        "boots": ["Are the boots waterproof?", "Do the hiking boots run small?", "boot sizes for wide feet"],
        "stoves": ["Does the stove use butane?", "how hot does the camp stove get", "stove fuel canisters"],
    }
    classifier = ExampleClassifier(examples, threshold=0.99)

    [prediction] = classifier.predict_detailed(["do the boots come in wide sizes"])

    assert prediction.label is None  # nothing is that similar
    assert prediction.best_label == "boots"
    assert prediction.score < 0.99
    assert prediction.confidence > 0.5
    probabilities = classifier.probabilities(["do the boots come in wide sizes"])
    assert probabilities.shape == (1, 3)
    assert abs(probabilities.sum() - 1.0) < 1e-6
    assert classifier.labels[int(probabilities.argmax())] == "boots"


def test_known_vectors_embed_only_unknown_texts():
    embedder = offline_embedder()
    known = embedder.embed(["first text"])
    calls = []

    class Counting:
        model_id = embedder.model_id

        def embed(self, texts):
            calls.append(list(texts))
            return embedder.embed(texts)

    lookup = KnownVectors(["first text"], known, fallback=Counting())
    vectors = lookup.embed(["first text", "second text", "first text"])

    assert calls == [["second text"]]
    assert vectors.shape == (3, 384)
    assert np.allclose(vectors[0], known[0]) and np.allclose(vectors[2], known[0])


def test_example_classifier_needs_an_example():
    with pytest.raises(ValueError, match="at least one"):
        ExampleClassifier({"empty": ["", "  "]})
