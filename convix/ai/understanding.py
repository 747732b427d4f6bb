"""Understanding a shopper's message: intent, buying intent, sentiment, anger, entities.

``understand(text, history=...)`` is pure (no database, no network) and runs on the CPU: one
MiniLM embedding of the message (~5 ms, cached per text) plus light models and rules.

- Intent: an ``ExampleClassifier`` fitted on the example utterances in ``convix/ai/data/``
  (``intent_examples.json``, written by the Convix team, and ``intent_examples_bitext.json``,
  from Bitext's train data). Its logistic-regression probabilities are temperature-scaled
  (``INTENT_TEMPERATURE``, fitted on held-out examples) so ``intent_confidence`` is a
  probability. Rules win where they are more reliable than a model: a message that is only a
  greeting or thanks, an explicit request for a person, a bare order number.
- Anger: a logistic regression over the MiniLM embedding and VADER/lexical cues, trained on
  GoEmotions train (anger + annoyance + disgust vs the rest), weights in ``anger_head.json``
  (reproduce with ``convix.ai.evaluation.datasets.train_anger_head``). Its probability is
  rescaled so the threshold chosen on GoEmotions dev maps to 0.5: ``is_angry`` is ``anger >= 0.5``.
- Sentiment: VADER's compound score (its lexicon ships in the wheel).
- Entities: regular expressions (order numbers, emails, money, quantities) and a small
  stop-word chunker for product-ish noun phrases.

Models load lazily, once per process, under a lock; nothing is computed when Django imports
this module. The intent examples' embeddings are cached on disk (``<data>/cache``) so a new
process is ready in about a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import numpy as np

from convix.ai.intents import Intent

DATA = Path(__file__).resolve().parent / "data"
INTENT_EXAMPLE_FILES = ("intent_examples.json", "intent_examples_bitext.json")

# Fitted by convix.ai.evaluation.datasets.fit_intent_temperature (5-fold out-of-fold
# probabilities on the intent examples, minimising the negative log-likelihood).
INTENT_TEMPERATURE = 0.75
AMBIGUOUS_MARGIN = 0.3  # top-two probabilities closer than this: ambiguous
AMBIGUOUS_CONFIDENCE = 0.45  # best probability below this: ambiguous
# A message this far (similarity) from every in-scope intent example is out of scope.
OUT_OF_SCOPE_SIMILARITY = 0.30


@dataclass(frozen=True)
class Entities:
    order_numbers: tuple[str, ...] = ()  # e.g. "AP-10421", "#1001", "10421" when said as an order
    emails: tuple[str, ...] = ()
    quantities: tuple[int, ...] = ()
    money: tuple[Decimal, ...] = ()  # "$200", "under 150 dollars"
    product_terms: tuple[str, ...] = ()  # noun phrases that may name a product (no catalog access here)


@dataclass(frozen=True)
class Understanding:
    intent: Intent
    intent_confidence: float  # 0..1, calibrated probability of `intent`
    alternatives: tuple[tuple[Intent, float], ...]  # next best intents with probabilities
    is_ambiguous: bool  # two intents nearly tied, or the text is too vague
    purchase_intent: float  # 0..1
    sentiment: float  # -1..1
    anger: float  # 0..1
    is_angry: bool
    wants_human: bool  # explicit request for a person
    entities: Entities


@dataclass(frozen=True)
class IntentResult:
    intent: Intent
    confidence: float
    alternatives: tuple[tuple[Intent, float], ...]
    is_ambiguous: bool
    probabilities: dict[Intent, float]


# -- rules ------------------------------------------------------------------------------------

_GREETING_WORDS = (
    r"hi+|hey+|hello+|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|"
    r"thanks?(?: you)?(?: (?:so|very) much)?|thank u|thx|ty|cheers|much appreciated|"
    r"bye|goodbye|see (?:you|ya)(?: later)?|have a (?:nice|good|great) (?:day|one|evening)|"
    r"ok(?:ay)?|cool|great|perfect|awesome|sounds good|got it|nice|that'?s (?:all|everything)|"
    r"no(?:pe)?,? that'?s (?:all|it)|how are you(?: doing)?|how'?s it going|nice to meet you|"
    r"anyone there|is anyone there|hello again|there|team|all|folks|guys"
)
_GREETING_ONLY = re.compile(rf"^(?:(?:{_GREETING_WORDS})[\s,.!?:;)(-]*)+$", re.IGNORECASE)
_GREETING_PREFIX = re.compile(
    r"^\s*(?:hi+|hey+|hello+|hiya|howdy|good (?:morning|afternoon|evening))(?: there| team| all)?[\s,.!:;-]+",
    re.IGNORECASE,
)
_PERSON = (
    r"(?:a |an |the |some |your |real |actual |live )*"
    r"(?:human(?: being| agent)?|person|people|someone|somebody|agent|representative|rep|"
    r"operator|manager|supervisor|staff(?: member)?|employee|customer (?:service|care|support)(?: agent| team| rep)?|"
    r"support (?:agent|team|staff)|associate|team member)"
)
_HUMAN_REQUEST = re.compile(
    rf"\b(?:(?:talk|speak|chat|connect|transfer|put|escalate|get|give|want|need|reach|contact|call|"
    rf"get me|let me|can i|could i|i'?d like)\b[^.?!]{{0,25}}?\b{_PERSON}\b|"
    rf"\b(?:human|real person|live agent|live person|representative|operator)\b\s*(?:please|pls|now|asap)?\s*[.!?]*$|"
    rf"^\s*(?:an? )?(?:agent|human|person|representative|operator|manager)\s*(?:please|pls|now)?\s*[.!?]*\s*$|"
    rf"\b(?:not|don'?t|do not) (?:want|wanna) (?:to )?(?:talk|speak|chat)(?: to| with)? (?:a |the |this )?(?:bot|machine|ai)\b|"
    rf"\bcall me back\b|\bcall ?back\b)",
    re.IGNORECASE,
)
_HUMAN_NEGATED = re.compile(
    rf"\b(?:no|don'?t|do not|never|doesn'?t)\s+(?:really\s+)?(?:need|want|wanna|have to)\b[^.?!]{{0,20}}{_PERSON}"
    rf"|\bwithout\s+{_PERSON}",
    re.IGNORECASE,
)


def _wants_human(text: str) -> bool:
    if not _HUMAN_REQUEST.search(text):
        return False
    # "I don't need a human, just tell me ..." is not a request; "I don't want a bot" is.
    return not (_HUMAN_NEGATED.search(text) and not re.search(r"\bbot|machine|ai\b", text, re.IGNORECASE))


# -- entities -----------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ORDER_CODE = re.compile(r"(?<![\w@.-])([A-Z]{1,4}-\d{3,10})(?![\w-])")
_ORDER_HASH = re.compile(r"(?<![\w&])#\s?(\d{3,12})\b")
_ORDER_SAID = re.compile(
    r"\border(?:\s+(?:number|no\.?|num|nr|id|ref(?:erence)?)|\s*#)?\s*(?:is|was|:)?\s*#?\s*(\d{3,12})\b",
    re.IGNORECASE,
)
_CURRENCY = r"(?:\$|US\$|USD\s?|€|EUR\s?|£|GBP\s?|CA\$|A\$)"
_AMOUNT = r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
_MONEY = re.compile(
    rf"{_CURRENCY}\s?{_AMOUNT}(k)?\b|\b{_AMOUNT}(k)?\s?(?:dollars?|bucks|usd|euros?|eur|pounds|gbp|quid)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "a pair of": 2,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a dozen": 12,
    "dozen": 12,
}
# Words after a number that make it a measurement or an attribute, not a count of items.
_UNITS = (
    r"(?:%|percent|degrees?|°|deg|f\b|c\b|person|people|p\b|man|l\b|liters?|litres?|ml|kg|g\b|grams?|lbs?|"
    r"pounds?|oz|ounces?|mm|cm|m\b|meters?|metres?|km|miles?|mi\b|in\b|inch(?:es)?|ft|feet|foot|"
    r"days?|nights?|weeks?|months?|years?|yrs?|hours?|hrs?|minutes?|mins?|seconds?|am\b|pm\b|"
    r"dollars?|bucks|usd|euros?|season|times|x\b|k\b|st\b|nd\b|rd\b|th\b)"
)
_QUANTITY = re.compile(
    r"(?:\b(?:qty|quantity)\s*[:=]?\s*(\d{1,4})\b)|(?:\b(\d{1,3})\s?x\b(?!\s?\d))|(?:\bx\s?(\d{1,3})\b)|"
    rf"(?:(?<![\w$#.,-])(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})\s+(?!{_UNITS})(?:(?:more|extra|of (?:the|these|those|them)|"
    r"of|new|more of the)\s+)?([a-z][a-z-]*))",
    re.IGNORECASE,
)
_QUANTITY_NOUN_BLOCK = {
    "and",
    "or",
    "to",
    "in",
    "on",
    "at",
    "for",
    "by",
    "is",
    "are",
    "was",
    "weeks",
    "days",
    "business",
    "more",
    "star",
    "stars",
    "ago",
    "minute",
    "time",
    "times",
    "season",
    "way",
    "year",
    "degree",
    "person",
    "people",
    "man",
    "dollars",
    "percent",
    "hour",
    "hours",
}

_STOPWORDS = frozenset(
    """
a about above after again against all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more
most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same
shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves
then there there's these they they'd they'll they're they've this those through to too under until up very
was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's
whom why why's with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
u ur pls please plz thanks thank hi hello hey ok okay also just really still yet any anything something
""".split()
)
# Words that are about the conversation or the shop, never a product.
_NOT_PRODUCT = frozenset(
    """
want wanted need needs needed looking look find buy buying bought purchase purchased get got order ordered
orders ordering return returned returns returning refund refunded refunds exchange exchanged ship shipped
shipping delivery deliver delivered arrive arrived tracking track status cancel cancelled canceled help
know tell show recommend suggest suggestion suggestions recommendation recommendations question questions
price prices cost costs much many available availability stock sale discount code coupon money card payment
pay paid charge charged account password login email address phone number store shop website site day days
week weeks month months time today tomorrow yesterday someone somebody person human agent people thing things
stuff item items product products size sizes color colour good best better great nice new cheap cheaper
like love think hope sure way lot bit kind sort one ones can could would should will may might must do did
does done make made go going come came use used using work works working wear wearing fit fits try tried
under over around about between less more least most than budget spend dollars bucks usd cheapest expensive
hour hours policy policies warranty info information details hour minutes still again back right wrong
trip family weekend beginners beginner kids wife husband son daughter night nights qty quantity feet foot tall
call zip postcode since until ago back tomorrow pair dozen x2 x3 x4 one two three four five six seven eight nine
ten eleven twelve
forgot forget let talk speak chat real actual ridiculous nobody anybody anyone everyone answer answers answered
sent send sending received receive bye goodbye ago late early first last next small large big little tight
loose broke broken leaked leaking says said asked ask reply replied emails email messages message wait waiting
waited happy unhappy angry terrible awful worst bad fine okay thanks capital weather joke yes
""".split()
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'&+/-]*", re.IGNORECASE)


def _money(text: str) -> list[Decimal]:
    amounts = []
    for match in _MONEY.finditer(text):
        raw = match.group(1) or match.group(3)
        thousands = match.group(2) or match.group(4)
        try:
            value = Decimal(raw.replace(",", ""))
        except (InvalidOperation, AttributeError):
            continue
        if thousands:
            value *= 1000
        amounts.append(value)
    return amounts


def extract_entities(text: str) -> Entities:
    """Order numbers, emails, quantities, money amounts and product-ish phrases in ``text``.

    Pure and fast (regular expressions). Order numbers keep the form the shopper wrote ("AP-10421",
    "#1001", "10421"); bare numbers count only when said as an order ("order 10421", "order no.
    10421") or written with "#". Money amounts are Decimals without the currency.
    """
    emails = tuple(dict.fromkeys(_EMAIL.findall(text)))
    without_emails = _EMAIL.sub(" ", text)
    order_numbers: list[str] = []
    order_spans: list[tuple[int, int]] = []
    for pattern, group in ((_ORDER_CODE, 1), (_ORDER_HASH, 0), (_ORDER_SAID, 1)):
        for match in pattern.finditer(without_emails):
            value = match.group(group).replace("# ", "#").upper()
            digits = re.sub(r"\D", "", value)
            if any(re.sub(r"\D", "", known) == digits for known in order_numbers):
                continue
            order_numbers.append(value)
            order_spans.append(match.span())
    order_numbers = [value for _, value in sorted(zip(order_spans, order_numbers, strict=True))]
    money = _money(without_emails)
    masked = _MONEY.sub(" ", without_emails)
    for pattern in (_ORDER_CODE, _ORDER_HASH, _ORDER_SAID):
        masked = pattern.sub(" ", masked)
    quantities: list[int] = []
    for match in _QUANTITY.finditer(masked):
        explicit = match.group(1) or match.group(2) or match.group(3)
        if explicit:
            quantities.append(int(explicit))
            continue
        number, noun = match.group(4).lower(), match.group(5).lower()
        if noun in _QUANTITY_NOUN_BLOCK or noun in _STOPWORDS and noun not in {"of"}:
            continue
        value = _NUMBER_WORDS.get(number) if not number.isdigit() else int(number)
        if value and 0 < value <= 500:
            quantities.append(value)
    return Entities(
        order_numbers=tuple(order_numbers),
        emails=emails,
        quantities=tuple(quantities),
        money=tuple(money),
        product_terms=tuple(_product_terms(masked)),
    )


def _product_terms(text: str) -> list[str]:
    """Runs of content words between stop words and shop words, e.g. "waterproof 2-person tent"."""
    terms: list[str] = []
    run: list[str] = []

    def flush() -> None:
        while run and not _is_name_word(run[-1]):
            run.pop()
        while run and not _is_name_word(run[0]):
            run.pop(0)
        phrase = " ".join(run)
        if run and len(phrase) > 2 and phrase not in terms:
            terms.append(phrase)
        run.clear()

    # "2 person tent" names a capacity, like "2-person tent".
    text = re.sub(r"\b(\d+)\s+(person|man|people)\b", r"\1-\2", text, flags=re.IGNORECASE)
    for token in re.split(r"(\s+|[,.;:!?()\"]+)", text):
        if not token or token.isspace():
            continue
        if re.fullmatch(r"[,.;:!?()\"]+", token):
            flush()
            continue
        for word in _WORD.findall(token):
            lowered = word.lower().strip("'")
            if lowered in _STOPWORDS or lowered in _NOT_PRODUCT or re.fullmatch(r"[\d-]{7,}|&", lowered):
                flush()
            else:
                run.append(lowered)
    flush()
    return [term for term in terms if len(term.split()) <= 5][:5]


def _is_name_word(word: str) -> bool:
    """A word that can start or end a product phrase: not a bare number or a unit-less count."""
    return not re.fullmatch(r"\d+(?:[.,]\d+)?|x\d+|\d+x", word)


# -- models (lazy, once per process) --------------------------------------------------------------


class _Models:
    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        from convix.ai.classifier import ExampleClassifier, KnownVectors, offline_embedder

        self.embedder = offline_embedder()
        examples: dict[str, list[str]] = {}
        for name in INTENT_EXAMPLE_FILES:
            path = DATA / name
            if path.exists():
                for label, texts in json.loads(path.read_text(encoding="utf-8"))["examples"].items():
                    examples.setdefault(label, []).extend(texts)
        texts = [text for label in examples for text in examples[label]]
        vectors = _cached_example_vectors(texts, self.embedder)
        self.intents = ExampleClassifier(
            examples, embedder=KnownVectors(texts, vectors, fallback=self.embedder)
        )
        self.intent_labels = [Intent(label) for label in self.intents.labels]
        self.in_scope_columns = [
            i for i, label in enumerate(self.intent_labels) if label != Intent.OUT_OF_SCOPE
        ]
        head = json.loads((DATA / "anger_head.json").read_text(encoding="utf-8"))
        self.anger_weights = np.asarray(head["coef"], dtype=np.float64)
        self.anger_bias = float(head["intercept"])
        self.anger_threshold = float(head["threshold"])
        self.vader = SentimentIntensityAnalyzer()


def _cached_example_vectors(texts: list[str], embedder) -> np.ndarray:
    """The intent examples' embeddings, from a disk cache keyed by model and texts when possible."""
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:20]
    path = None
    try:
        from convix import embedded_pg

        path = embedded_pg.data_dir().parent / "cache" / f"intent-examples-{embedder.model_id}-{digest}.npy"
        if path.exists():
            vectors = np.load(path)
            if vectors.shape == (len(texts), embedder.dimensions):
                return vectors
    except (OSError, ValueError):
        path = None
    vectors = embedder.embed(texts)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
            np.save(temporary, vectors)
            temporary.replace(path)
        except OSError:
            pass  # a read-only data folder only costs the next process a few seconds
    return vectors


_models: _Models | None = None
_models_lock = threading.Lock()


def _get_models() -> _Models:
    global _models
    if _models is None:
        with _models_lock:
            if _models is None:
                _models = _Models()
    return _models


def warm_up() -> None:
    """Load every model now (for a worker's start-up) instead of on the first message."""
    understand("hello, where is my order?")


def text_vector(text: str) -> np.ndarray:
    """The offline embedding of ``text``, shared with (and cached by) ``understand``."""
    return _vector(text)


@lru_cache(maxsize=2048)
def _vector(text: str) -> np.ndarray:
    vector = _get_models().embedder.embed([text])[0]
    vector.setflags(write=False)
    return vector


# -- intent -------------------------------------------------------------------------------------


def _is_vague(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    content = [w for w in words if w not in _STOPWORDS and len(w) > 1]
    return all(w in _VAGUE_WORDS for w in content)


_VAGUE_WORDS = frozenset(
    "help question questions issue issues problem problems info information something thing stuff query support "
    "yes no maybe hmm what have has got need want ask asking quick".split()
)


def _calibrate(probabilities: np.ndarray) -> np.ndarray:
    logits = np.log(np.clip(probabilities, 1e-9, 1.0)) / INTENT_TEMPERATURE
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def classify_intents(texts: Sequence[str], *, vectors: np.ndarray | None = None) -> list[IntentResult]:
    """The intent of each text (rules first, then the calibrated classifier), batched.

    ``vectors`` may pass the texts' offline MiniLM embeddings.
    """
    models = _get_models()
    stripped = [_GREETING_PREFIX.sub("", text).strip() or text for text in texts]
    if vectors is None:
        vectors = np.stack([_vector(text) for text in stripped]) if texts else None
    elif any(a != b for a, b in zip(stripped, texts, strict=True)):
        changed = [i for i, (a, b) in enumerate(zip(stripped, texts, strict=True)) if a != b]
        vectors = np.array(vectors, copy=True)
        vectors[changed] = np.stack([_vector(stripped[i]) for i in changed])
    if not texts:
        return []
    probabilities = _calibrate(models.intents.probabilities(stripped, vectors=vectors))
    similarity = models.intents.similarities(stripped, vectors=vectors)
    results = []
    for index, text in enumerate(texts):
        row = probabilities[index].copy()
        forced: Intent | None = None
        vague = _is_vague(stripped[index])
        if _GREETING_ONLY.match(text.strip()):
            forced, vague = Intent.GREETING, False
        elif _wants_human(text):
            forced = Intent.HUMAN_REQUEST
        elif _HUMAN_NEGATED.search(text):
            # "I don't need a human, just ..." reads like the human examples; it is not a request.
            row[models.intent_labels.index(Intent.HUMAN_REQUEST)] = 0.0
            row = row / row.sum()
        elif similarity[index, models.in_scope_columns].max() < OUT_OF_SCOPE_SIMILARITY and not vague:
            forced = Intent.OUT_OF_SCOPE
        if forced is not None:
            column = models.intent_labels.index(forced)
            # The rule is trusted: the forced intent gets at least 0.9 and the rest share the remainder.
            rest = row.sum() - row[column]
            target = max(row[column], 0.9)
            row = row * ((1 - target) / rest if rest > 0 else 0.0)
            row[column] = target
        results.append(_intent_result(row, models.intent_labels, vague=vague))
    return results


def _intent_result(row: np.ndarray, labels: list[Intent], *, vague: bool) -> IntentResult:
    order = np.argsort(-row)
    best, second = int(order[0]), int(order[1])
    confidence = float(row[best])
    ambiguous = (
        vague or (confidence - float(row[second]) < AMBIGUOUS_MARGIN) or confidence < AMBIGUOUS_CONFIDENCE
    )
    return IntentResult(
        intent=labels[best],
        confidence=round(confidence, 4),
        alternatives=tuple((labels[int(i)], round(float(row[int(i)]), 4)) for i in order[1:4]),
        is_ambiguous=bool(ambiguous),
        probabilities={label: float(row[i]) for i, label in enumerate(labels)},
    )


# -- anger and sentiment --------------------------------------------------------------------------

_PROFANITY = re.compile(
    r"\b(?:f+u+c+k+\w*|fck\w*|wtf|shit\w*|bullshit|crap\w*|damn\w*|dammit|hell|bastard\w*|"
    r"ass(?:hole)?s?|bitch\w*|piss(?:ed)?|screw (?:you|this|it)|sucks?|stfu|idiots?|morons?|stupid|"
    r"pathetic|useless|scam\w*|rip-?off|ripped off|thie(?:f|ves)|garbage|trash|joke)\b",
    re.IGNORECASE,
)
_ANGER_WORDS = re.compile(
    r"\b(?:angry|furious|livid|outraged|pissed|fed up|sick of|tired of|unacceptable|ridiculous|"
    r"disgusting|disgusted|appalled|infuriat\w*|annoy\w*|irritat\w*|frustrat\w*|worst|terrible|horrible|"
    r"awful|incompetent|never again|hate|hated|liars?|lied|lying|sue|lawyer|report you|chargeback|"
    r"how dare|what the hell|are you kidding|seriously\?|third time|again\?!?|still (?:no|not|nothing))\b",
    re.IGNORECASE,
)


def anger_features(text: str, *, vader) -> list[float]:
    """The lexical cues the anger head adds to the embedding (the training code uses this too)."""
    scores = vader.polarity_scores(text)
    letters = [c for c in text if c.isalpha()]
    upper_words = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.isupper()]
    return [
        scores["compound"],
        scores["neg"],
        1.0 if _PROFANITY.search(text) else 0.0,
        min(len(_ANGER_WORDS.findall(text)), 3) / 3,
        min(text.count("!"), 3) / 3,
        1.0 if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.6 else 0.0,
        min(len(upper_words), 3) / 3,
    ]


def _anger_probability(text: str, vector: np.ndarray, models: _Models) -> float:
    features = np.concatenate([vector, anger_features(text, vader=models.vader)])
    logit = float(features @ models.anger_weights + models.anger_bias)
    return 1.0 / (1.0 + math.exp(-logit))


def _rescale(probability: float, threshold: float) -> float:
    """Map the head's probability so that its decision threshold becomes 0.5."""
    if probability < threshold:
        return 0.5 * probability / threshold
    return 0.5 + 0.5 * (probability - threshold) / (1 - threshold)


def anger_score(text: str, *, vector: np.ndarray | None = None) -> float:
    """Anger 0..1 of one message (0.5 = the decision threshold chosen on GoEmotions dev).

    The learned head decides, except that abuse or an explicit anger word in a clearly negative
    message ("this is a scam, give me my money back") is always at least 0.55: Reddit comments
    say that less often than shoppers do, and missing it costs a handoff.
    """
    models = _get_models()
    if vector is None:
        vector = _vector(text)
    anger = _rescale(_anger_probability(text, vector, models), models.anger_threshold)
    if (_PROFANITY.search(text) or _ANGER_WORDS.search(text)) and models.vader.polarity_scores(text)[
        "compound"
    ] <= -0.4:
        anger = max(anger, 0.55)
    return anger


# -- buying intent --------------------------------------------------------------------------------

_BUY_STRONG = re.compile(
    r"\b(?:buy|buying|purchase|purchasing|order (?:one|two|a|an|it|this|that|some)|add (?:it |this |that )?to (?:my )?cart|"
    r"check ?out|i'?ll take|take (?:it|two|one)|ready to (?:buy|order)|want to get|gift for|shopping for|"
    r"in the market for|place an order)\b",
    re.IGNORECASE,
)
_BUY_SOFT = re.compile(
    r"\b(?:price|prices|cost|how much|in stock|available|availability|on sale|discount|deal|budget|"
    r"looking for|need (?:a|an|some|new)|recommend|suggest|which (?:one|is best)|best|compare|sizes?|colou?rs?)\b",
    re.IGNORECASE,
)
_PURCHASE_PRIOR = {
    Intent.PRODUCT_QUESTION: 0.55,
    Intent.RECOMMENDATION: 0.65,
    Intent.SHIPPING: 0.25,
    Intent.PAYMENT: 0.2,
    Intent.POLICY_FAQ: 0.15,
    Intent.GREETING: 0.05,
    Intent.ACCOUNT: 0.05,
    Intent.ORDER_STATUS: 0.05,
    Intent.HUMAN_REQUEST: 0.05,
    Intent.RETURN: 0.0,
    Intent.REFUND: 0.0,
    Intent.COMPLAINT: 0.0,
    Intent.OUT_OF_SCOPE: 0.0,
}


def _purchase_intent(text: str, result: IntentResult, entities: Entities) -> float:
    """0..1: the intent mix's prior, raised by buying words, a budget or a quantity, and lowered
    by after-sale intents (a return is not a sale)."""
    score = sum(_PURCHASE_PRIOR[intent] * p for intent, p in result.probabilities.items())
    if _BUY_STRONG.search(text):
        score += 0.35
    if _BUY_SOFT.search(text):
        score += 0.12
    if entities.money:
        score += 0.1
    if entities.quantities:
        score += 0.05
    after_sale = sum(
        result.probabilities.get(intent, 0.0)
        for intent in (Intent.RETURN, Intent.REFUND, Intent.COMPLAINT, Intent.ORDER_STATUS)
    )
    score *= 1 - 0.8 * after_sale
    return round(min(max(score, 0.0), 1.0), 4)


# -- the entry point ------------------------------------------------------------------------------


def understand(text: str, *, history: Sequence[str] = ()) -> Understanding:
    """Understand one shopper message, given the shopper's earlier messages (oldest first).

    History matters in two ways: a vague follow-up ("what about the blue one?", a bare order
    number) inherits the intent of the previous message, and anger fades over a message or two
    rather than vanishing. Pure: no database, no network; thread-safe.
    """
    models = _get_models()
    text = (text or "").strip()
    if not text:
        return Understanding(
            intent=Intent.OUT_OF_SCOPE,
            intent_confidence=0.0,
            alternatives=(),
            is_ambiguous=True,
            purchase_intent=0.0,
            sentiment=0.0,
            anger=0.0,
            is_angry=False,
            wants_human=False,
            entities=Entities(),
        )
    entities = extract_entities(text)
    result = classify_intents([text])[0]
    previous = [message.strip() for message in history if message and message.strip()][-2:]
    only_references = _only_references(text, entities)
    if previous and (result.is_ambiguous or only_references) and result.intent != Intent.HUMAN_REQUEST:
        result = _with_context(text, result, previous[-1], models)
    elif only_references and entities.order_numbers:
        result = _forced(result, Intent.ORDER_STATUS, models)
    vector = _vector(text)
    anger = anger_score(text, vector=vector)
    sentiment = float(models.vader.polarity_scores(text)["compound"])
    if previous and sentiment < 0.3:
        # Frustration carries over a short follow-up ("and?", "hello??"), fading with distance.
        for message, carry in zip(reversed(previous), (0.85, 0.7), strict=False):
            anger = max(anger, carry * anger_score(message))
    return Understanding(
        intent=result.intent,
        intent_confidence=result.confidence,
        alternatives=result.alternatives,
        is_ambiguous=result.is_ambiguous,
        purchase_intent=_purchase_intent(text, result, entities),
        sentiment=round(sentiment, 4),
        anger=round(anger, 4),
        is_angry=anger >= 0.5,
        wants_human=_wants_human(text),
        entities=entities,
    )


def _only_references(text: str, entities: Entities) -> bool:
    """The message is nothing but an order number and/or an email (an answer to a question)."""
    rest = text
    for value in (*entities.order_numbers, *entities.emails):
        rest = rest.replace(value, " ").replace(value.lower(), " ")
    rest = re.sub(
        r"\b(?:order|number|no|num|id|email|is|it'?s|my|here|the|and|#)\b|[^\w]", " ", rest, flags=re.I
    )
    return bool(entities.order_numbers or entities.emails) and not rest.strip()


def _with_context(text: str, result: IntentResult, previous: str, models: _Models) -> IntentResult:
    before = classify_intents([previous])[0]
    if before.intent in (Intent.GREETING, Intent.OUT_OF_SCOPE):
        return result
    labels = models.intent_labels
    row = np.array(
        [0.5 * result.probabilities[label] + 0.5 * before.probabilities[label] for label in labels]
    )
    return _intent_result(row / row.sum(), labels, vague=False)


def _forced(result: IntentResult, intent: Intent, models: _Models) -> IntentResult:
    labels = models.intent_labels
    row = np.array([result.probabilities[label] for label in labels])
    column = labels.index(intent)
    rest = row.sum() - row[column]
    row = row * (0.1 / rest if rest > 0 else 0.0)
    row[column] = 0.9
    return _intent_result(row, labels, vague=False)
