"""Evaluate the understanding layer on the public datasets in ``DATA_DIR`` and train its weights.

Every ``evaluate_*`` function takes ``split`` in {"dev", "test"} and returns a plain dict with at
least ``dataset``, ``split``, ``n``, its metrics and the ``threshold`` it used. Thresholds and
hyper-parameters are chosen on train/dev data only; a test split is only ever reported.

The datasets live in ``DATA_DIR`` (``CONVIX_EVAL_DATA_DIR``, else ``shared/data`` next to the
project, else ``/work/shared/data``); each folder's SOURCE.md documents the format and the license. The product never
reads them at run time: what it needs is committed in ``convix/ai/data/``, and the functions
here that wrote those files (``build_bitext_examples``, ``train_anger_head``) reproduce them.

Embeddings of dataset texts are cached on disk, keyed by model and texts, so reruns are fast.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parents[3]
# The team's checkout keeps shared/ next to the project; /work/shared/data is the workstation path.
DEFAULT_DATA_DIR = next(
    (path for path in (PROJECT_DIR.parent / "shared" / "data", Path("/work/shared/data")) if path.exists()),
    Path("/work/shared/data"),
)
DATA_DIR = Path(os.environ.get("CONVIX_EVAL_DATA_DIR") or DEFAULT_DATA_DIR)
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("dev", "test")


class DatasetMissing(FileNotFoundError):
    """The dataset's files are not in DATA_DIR."""


def data_dir() -> Path:
    """Where the datasets are (read at call time, so tests may set ``CONVIX_EVAL_DATA_DIR``)."""
    return Path(os.environ.get("CONVIX_EVAL_DATA_DIR") or DATA_DIR)


def _require(path: Path) -> Path:
    if not path.exists():
        raise DatasetMissing(f"{path} is missing; set CONVIX_EVAL_DATA_DIR to the datasets folder.")
    return path


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")


# -- embeddings with a disk cache ---------------------------------------------------------------


def cache_dir() -> Path:
    """``CONVIX_EVAL_CACHE_DIR``, else ``<data folder>/cache/eval`` next to the embedded database."""
    configured = os.environ.get("CONVIX_EVAL_CACHE_DIR")
    if configured:
        return Path(configured)
    from convix import embedded_pg

    return embedded_pg.data_dir().parent / "cache" / "eval"


def embed_cached(texts: Sequence[str], *, namespace: str) -> np.ndarray:
    """Offline MiniLM embeddings of ``texts``, cached on disk by model and exact texts."""
    from convix.ai.classifier import offline_embedder

    embedder = offline_embedder()
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:20]
    path = cache_dir() / f"{namespace}-{embedder.model_id}-{len(texts)}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = embedder.embed(list(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(temporary, vectors)
    temporary.replace(path)  # atomic: two evaluations at once never read half a file
    return vectors


# -- metrics ------------------------------------------------------------------------------------


def _round(value: float) -> float:
    return round(float(value), 4)


def _auroc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(len(positive_scores)), np.zeros(len(negative_scores))]
    return float(roc_auc_score(labels, np.r_[positive_scores, negative_scores]))


def oos_metrics(gold: Sequence[str], predicted: Sequence[str], *, oos_label: str) -> dict:
    """HINT3's metrics: accuracy over all queries (an out-of-scope query is right when predicted
    out of scope), in-scope accuracy (an in-scope query predicted out of scope is wrong), OOS
    recall, and the multi-class Matthews correlation over all labels including out-of-scope."""
    from sklearn.metrics import f1_score, matthews_corrcoef

    gold_array, predicted_array = np.asarray(gold), np.asarray(predicted)
    in_scope = gold_array != oos_label
    return {
        "accuracy": _round((gold_array == predicted_array).mean()),
        "in_scope_accuracy": _round((gold_array[in_scope] == predicted_array[in_scope]).mean()),
        "oos_recall": _round((predicted_array[~in_scope] == oos_label).mean()) if (~in_scope).any() else None,
        "mcc": _round(matthews_corrcoef(gold_array, predicted_array)),
        "weighted_f1": _round(f1_score(gold_array, predicted_array, average="weighted", zero_division=0)),
    }


# -- bitext: intent detection -------------------------------------------------------------------

# Bitext's 27 intents -> Convix's Intent values. Order changes (cancel, change) go to
# ORDER_STATUS because the agent handles them by looking the order up; address changes are
# SHIPPING; invoices and payment methods are PAYMENT; the refund policy is a REFUND question;
# the cancellation fee and reviews are store FAQ/policy questions; newsletter subscriptions are
# ACCOUNT (subscription management); "contact customer service" asks for a person just as
# "contact human agent" does; "place order" is the buying intent (PRODUCT_QUESTION).
BITEXT_TO_INTENT = {
    "cancel_order": "order_status",
    "change_order": "order_status",
    "track_order": "order_status",
    "change_shipping_address": "shipping",
    "set_up_shipping_address": "shipping",
    "delivery_options": "shipping",
    "delivery_period": "shipping",
    "check_cancellation_fee": "policy_faq",
    "review": "policy_faq",
    "check_invoices": "payment",
    "get_invoice": "payment",
    "check_payment_methods": "payment",
    "payment_issue": "payment",
    "check_refund_policy": "refund",
    "get_refund": "refund",
    "track_refund": "refund",
    "complaint": "complaint",
    "contact_customer_service": "human_request",
    "contact_human_agent": "human_request",
    "create_account": "account",
    "delete_account": "account",
    "edit_account": "account",
    "recover_password": "account",
    "registration_problems": "account",
    "switch_account": "account",
    "newsletter_subscription": "account",
    "place_order": "product_question",
}
BITEXT_DEV_SHARE = 10  # percent of the 20K file held out as the dev split (by a hash of the text)
BITEXT_EXAMPLES_PER_INTENT = 20  # train examples per bitext intent added to the intent examples


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _is_bitext_dev(text: str) -> bool:
    digest = hashlib.sha256(_normalise(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < BITEXT_DEV_SHARE


def load_bitext(part: str) -> list[tuple[str, str, str]]:
    """``(utterance, bitext intent, flags)`` rows of part "train" (20K file minus the dev slice),
    "dev" (the held-out slice of the 20K file) or "test" (the 8K file minus the 20K overlap)."""
    folder = data_dir() / "bitext_customer_support"
    if part == "test":
        path = _require(folder / "derived" / "test_8k_minus_20k_overlap.csv")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [(r["utterance"], r["intent_normalized"], r["flags"]) for r in csv.DictReader(handle)]
    path = _require(folder / "bitext_customer_support_20k.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [(r["utterance"], r["intent"], r["flags"]) for r in csv.DictReader(handle)]
    want_dev = part == "dev"
    return [row for row in rows if _is_bitext_dev(row[0]) == want_dev]


def build_bitext_examples(*, per_intent: int = BITEXT_EXAMPLES_PER_INTENT, write: bool = True) -> dict:
    """Pick ``per_intent`` utterances of each bitext intent from the TRAIN part (never dev or
    test), deterministically (lowest text hash first), mapped to Convix intents. Writes
    ``convix/ai/data/intent_examples_bitext.json`` (CDLA-Sharing-1.0, like its source)."""
    by_intent: dict[str, list[str]] = {}
    for text, intent, _flags in load_bitext("train"):
        by_intent.setdefault(intent, []).append(text.strip())
    examples: dict[str, list[str]] = {}
    for intent in sorted(by_intent):
        unique = sorted(set(by_intent[intent]), key=lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest())
        examples.setdefault(BITEXT_TO_INTENT[intent], []).extend(unique[:per_intent])
    document = {
        "about": (
            "Utterances from the Bitext customer-support 20K release (train part only), mapped to "
            "Convix intents by convix.ai.evaluation.datasets.BITEXT_TO_INTENT and chosen by "
            "build_bitext_examples()."
        ),
        "license": "CDLA-Sharing-1.0 (Bitext Innovations); redistribute under the same license",
        "examples": examples,
    }
    if write:
        path = PACKAGE_DATA / "intent_examples_bitext.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return document


def evaluate_bitext(split: str = "dev", *, limit: int | None = None) -> dict:
    """Intent accuracy and macro-F1 of ``understand()``'s intent over bitext's intents mapped to
    Convix intents (``BITEXT_TO_INTENT``), with recall of the human and complaint intents and
    accuracy by Bitext's flags (Q colloquial, Z noisy, W offensive). ``limit`` takes the first
    rows (for fast tests)."""
    from sklearn.metrics import f1_score

    from convix.ai.understanding import classify_intents

    _check_split(split)
    rows = load_bitext(split)
    if limit:
        rows = sorted(rows, key=lambda r: hashlib.sha256(r[0].encode("utf-8")).hexdigest())[:limit]
    texts = [text for text, _, _ in rows]
    gold = np.array([BITEXT_TO_INTENT[intent] for _, intent, _ in rows])
    vectors = embed_cached(texts, namespace=f"bitext-{split}")
    predicted = np.array([result.intent.value for result in classify_intents(texts, vectors=vectors)])
    labels = sorted(str(label) for label in set(gold))
    correct = predicted == gold
    by_flag = {}
    for flag, name in (("Q", "colloquial"), ("Z", "noisy"), ("W", "offensive")):
        mask = np.array([flag in flags for _, _, flags in rows])
        if mask.any():
            by_flag[name] = {"n": int(mask.sum()), "accuracy": _round(correct[mask].mean())}
    source = np.array([intent for _, intent, _ in rows])
    return {
        "dataset": "bitext",
        "split": split,
        "n": len(rows),
        "accuracy": _round(correct.mean()),
        "macro_f1": _round(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "per_intent_f1": {
            label: _round(f1_score(gold == label, predicted == label, zero_division=0)) for label in labels
        },
        "recall_contact_human_agent": _round(correct[source == "contact_human_agent"].mean()),
        "recall_complaint": _round(correct[source == "complaint"].mean()),
        "by_flag": by_flag,
        "mapping": dict(BITEXT_TO_INTENT),
        "threshold": None,
    }


# -- GoEmotions: anger --------------------------------------------------------------------------

GOEMOTIONS_ANGER_IDS = frozenset({2, 3, 11})  # anger, annoyance, disgust


def load_goemotions(part: str) -> list[tuple[str, bool]]:
    """``(text, is_anger)`` for part "train", "dev" or "test"; anger = anger, annoyance or disgust."""
    path = _require(data_dir() / "goemotions" / f"{part}.tsv")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            ids = {int(x) for x in record[1].split(",") if x}
            rows.append((record[0], bool(ids & GOEMOTIONS_ANGER_IDS)))
    return rows


# -- CLINC150 -----------------------------------------------------------------------------------


def load_clinc150() -> dict[str, list[tuple[str, str]]]:
    """data_full.json: train / val / test (150 intents) and oos_train / oos_val / oos_test."""
    path = _require(data_dir() / "clinc150_oos" / "data_full.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {key: [(text, label) for text, label in value] for key, value in raw.items()}


def _anger_design(texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from convix.ai.understanding import anger_features

    vader = SentimentIntensityAnalyzer()
    lexical = np.array([anger_features(text, vader=vader) for text in texts], dtype=np.float64)
    return np.hstack([vectors.astype(np.float64), lexical])


def _best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    best = int(np.nanargmax(f1[:-1]))
    return float(thresholds[best]), float(f1[best])


def train_anger_head(*, write: bool = True, regularisations: Sequence[float] = (0.1, 0.3, 1.0, 3.0)) -> dict:
    """Train the anger head on GoEmotions TRAIN (anger + annoyance + disgust vs the rest).

    Features: the MiniLM embedding plus ``understanding.anger_features`` (VADER and lexical cues).
    The regularisation C is chosen on DEV by average precision, and the decision threshold on DEV
    by F1. Writes ``convix/ai/data/anger_head.json`` (coef, intercept, threshold, provenance).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    train, dev = load_goemotions("train"), load_goemotions("dev")
    train_x = _anger_design(
        [t for t, _ in train], embed_cached([t for t, _ in train], namespace="goemotions-train")
    )
    dev_x = _anger_design([t for t, _ in dev], embed_cached([t for t, _ in dev], namespace="goemotions-dev"))
    train_y = np.array([y for _, y in train])
    dev_y = np.array([y for _, y in dev])
    best = None
    for regularisation in regularisations:
        model = LogisticRegression(C=regularisation, max_iter=4000)
        model.fit(train_x, train_y)
        scores = model.predict_proba(dev_x)[:, 1]
        precision = average_precision_score(dev_y, scores)
        if best is None or precision > best[0]:
            best = (precision, regularisation, model, scores)
    average_precision, regularisation, model, scores = best
    threshold, dev_f1 = _best_f1_threshold(dev_y, scores)
    head = {
        "about": (
            "Anger head of convix.ai.understanding: logistic regression over the all-MiniLM-L6-v2 "
            "embedding (384) + 7 lexical cues, trained on GoEmotions train (Apache-2.0; positives: "
            "anger, annoyance, disgust) by convix.ai.evaluation.datasets.train_anger_head."
        ),
        "C": regularisation,
        "dev_average_precision": round(float(average_precision), 4),
        "dev_f1": round(dev_f1, 4),
        "threshold": round(threshold, 6),
        "intercept": float(model.intercept_[0]),
        "coef": [round(float(value), 6) for value in model.coef_[0]],
    }
    if write:
        path = PACKAGE_DATA / "anger_head.json"
        path.write_text(json.dumps(head) + "\n", encoding="utf-8")
    return head


def evaluate_goemotions(split: str = "dev", *, limit: int | None = None) -> dict:
    """Anger detection by ``understanding.anger_score`` (positives: anger, annoyance or disgust):
    precision, recall and F1 at ``is_angry`` (score >= 0.5, the threshold chosen on dev), AUROC,
    and recall at 0.8 precision."""
    from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support

    from convix.ai.understanding import anger_score

    _check_split(split)
    rows = load_goemotions(split)
    if limit:
        rows = rows[:limit]
    texts = [t for t, _ in rows]
    vectors = embed_cached(texts, namespace=f"goemotions-{split}")
    gold = np.array([y for _, y in rows])
    scores = np.array([anger_score(text, vector=vector) for text, vector in zip(texts, vectors, strict=True)])
    predicted = scores >= 0.5
    precision, recall, f1, _ = precision_recall_fscore_support(
        gold, predicted, average="binary", zero_division=0
    )
    curve_precision, curve_recall, _ = precision_recall_curve(gold, scores)
    at_precision = curve_recall[curve_precision >= 0.8]
    return {
        "dataset": "goemotions",
        "split": split,
        "n": len(rows),
        "positives": int(gold.sum()),
        "positive_labels": "anger+annoyance+disgust",
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
        "auroc": _round(_auroc(scores[gold], scores[~gold])) if gold.any() and (~gold).any() else None,
        "recall_at_precision_0.8": _round(at_precision.max()) if at_precision.size else 0.0,
        "threshold": 0.5,
    }


# -- HINT3: real shopper queries, out of scope ----------------------------------------------------

HINT3_OOS = "NO_NODES_DETECTED"
HINT3_BOTS = ("sofmattress", "curekart", "powerplay11")
HINT3_PUBLISHED_BERT = {  # published_results/bert_*.csv at threshold 0.9 (v1 test)
    "sofmattress": {"accuracy": 0.690, "in_scope_accuracy": 0.636, "oos_recall": 0.765, "mcc": 0.617},
    "curekart": {"accuracy": 0.651, "in_scope_accuracy": 0.803, "oos_recall": 0.523, "mcc": 0.553},
}


def load_hint3(bot: str, part: str, *, version: str = "v1") -> list[tuple[str, str]]:
    """``(sentence, label)`` rows of ``<version>/<part>/<bot>_<part>.csv`` (part "train" or "test")."""
    path = _require(data_dir() / "hint3" / version / part / f"{bot}_{part}.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(row[0], row[1]) for row in reader if row]


def _hint3_pseudo_dev(rows: list[tuple[str, str]], vectors: np.ndarray, threshold: float, namespace: str):
    """A dev set made from the train split alone: each example predicted by a classifier fitted
    without it (5 folds; its label stays in), and, for out-of-scope, the examples of up to twelve
    labels each predicted by a classifier fitted without that whole label."""
    from sklearn.model_selection import StratifiedKFold

    from convix.ai.classifier import ExampleClassifier, KnownVectors

    texts = np.array([t for t, _ in rows], dtype=object)
    labels = np.array([y for _, y in rows], dtype=object)
    embedder = KnownVectors(list(texts), vectors)

    def fit(indices: np.ndarray) -> ExampleClassifier:
        examples: dict[str, list[str]] = {}
        for i in indices:
            examples.setdefault(labels[i], []).append(texts[i])
        return ExampleClassifier(examples, embedder=embedder, threshold=threshold)

    gold, predicted = [], []
    counts = {label: int((labels == label).sum()) for label in set(labels)}
    foldable = np.array([counts[label] >= 5 for label in labels])
    rows_in_folds = np.flatnonzero(foldable)
    always_train = np.flatnonzero(~foldable)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    for train_part, test_part in folds.split(rows_in_folds, labels[rows_in_folds]):
        train_idx = np.r_[rows_in_folds[train_part], always_train]
        test_idx = rows_in_folds[test_part]
        for i, prediction in zip(
            test_idx,
            fit(train_idx).predict_detailed(list(texts[test_idx]), vectors=vectors[test_idx]),
            strict=True,
        ):
            gold.append(labels[i])
            predicted.append(prediction.label or HINT3_OOS)
    # Twelve held-out labels (chosen by a hash of their names) are enough for the OOS half and
    # keep a 57-label bot to seventeen fits.
    held_out_labels = sorted(counts, key=lambda name: hashlib.sha256(name.encode("utf-8")).hexdigest())[:12]
    for label in sorted(held_out_labels):
        held_out = np.flatnonzero(labels == label)
        for prediction in fit(np.flatnonzero(labels != label)).predict_detailed(
            list(texts[held_out]), vectors=vectors[held_out]
        ):
            gold.append(HINT3_OOS)
            predicted.append(prediction.label or HINT3_OOS)
    return gold, predicted


def evaluate_hint3(
    split: str = "dev", *, bots: Sequence[str] = HINT3_BOTS, version: str = "v1", limit: int | None = None
) -> dict:
    """HINT3 (real shopper queries, 36-68% out of scope) with an ExampleClassifier fitted on each
    bot's train split: accuracy, in-scope accuracy, OOS recall, MCC and weighted F1 as the paper
    defines them. The threshold is ``classifier.DEFAULT_THRESHOLD``, chosen on CLINC150's
    validation split (no HINT3 test data involved).

    split "test": the bot's test queries (``version`` v1 reproduces the paper's setting; v2 has
    corrected labels). split "dev": a pseudo dev set from train only (see ``_hint3_pseudo_dev``).
    The top-level metrics are the first bot's; ``bots`` has each bot's. ``limit`` caps the test
    queries (or the train rows for dev) per bot, for fast tests.
    """
    from convix.ai.classifier import DEFAULT_THRESHOLD, ExampleClassifier, KnownVectors

    _check_split(split)
    threshold = DEFAULT_THRESHOLD
    per_bot = {}
    for bot in bots:
        train = load_hint3(bot, "train", version=version)
        namespace = f"hint3-{version}-{bot}"
        if split == "dev":
            if limit:
                train = sorted(train, key=lambda r: hashlib.sha256(r[0].encode("utf-8")).hexdigest())[:limit]
            vectors = embed_cached([t for t, _ in train], namespace=f"{namespace}-train")
            gold, predicted = _hint3_pseudo_dev(train, vectors, threshold, f"{namespace}-dev")
        else:
            test = (
                load_hint3(bot, "test", version=version)[:limit]
                if limit
                else load_hint3(bot, "test", version=version)
            )
            examples: dict[str, list[str]] = {}
            for text, label in train:
                examples.setdefault(label, []).append(text)
            train_texts = [t for t, _ in train]
            classifier = ExampleClassifier(
                examples,
                embedder=KnownVectors(train_texts, embed_cached(train_texts, namespace=f"{namespace}-train")),
                threshold=threshold,
            )
            texts = [t for t, _ in test]
            predictions = classifier.predict_detailed(
                texts, vectors=embed_cached(texts, namespace=f"{namespace}-test")
            )
            gold = [label for _, label in test]
            predicted = [p.label or HINT3_OOS for p in predictions]
        metrics = oos_metrics(gold, predicted, oos_label=HINT3_OOS)
        metrics["n"] = len(gold)
        metrics["oos_share"] = _round(np.mean([g == HINT3_OOS for g in gold]))
        if split == "test" and version == "v1" and bot in HINT3_PUBLISHED_BERT:
            metrics["published_bert_thr0.9"] = HINT3_PUBLISHED_BERT[bot]
        per_bot[bot] = metrics
    first = per_bot[bots[0]]
    return {
        "dataset": "hint3",
        "split": split,
        "version": version,
        "bot": bots[0],
        "n": first["n"],
        "accuracy": first["accuracy"],
        "in_scope_accuracy": first["in_scope_accuracy"],
        "oos_recall": first["oos_recall"],
        "mcc": first["mcc"],
        "bots": per_bot,
        "threshold": threshold,
        "threshold_source": "classifier.DEFAULT_THRESHOLD (chosen on CLINC150 val)",
    }


# -- CLINC150: 150 intents + out of scope --------------------------------------------------------

CLINC150_TARGET_IN_SCOPE = 0.962  # BERT's in-scope accuracy in the paper (oos-threshold, Full)


def _clinc150_scores(intents_limit: int | None = None):
    """Fit on train; predict val, oos_val, test, oos_test. ``intents_limit`` keeps only the first
    N intents (alphabetically) and a proportional share of the OOS queries, for fast tests."""
    from convix.ai.classifier import ExampleClassifier, KnownVectors

    data = load_clinc150()
    if intents_limit:
        keep = set(sorted({label for _, label in data["train"]})[:intents_limit])
        data = {
            key: rows[: max(1, len(rows) * intents_limit // 150)]
            if key.startswith("oos")
            else [row for row in rows if row[1] in keep]
            for key, rows in data.items()
        }
    suffix = f"-{intents_limit}" if intents_limit else ""
    train_texts = [text for text, _ in data["train"]]
    examples: dict[str, list[str]] = {}
    for text, label in data["train"]:
        examples.setdefault(label, []).append(text)
    classifier = ExampleClassifier(
        examples,
        embedder=KnownVectors(train_texts, embed_cached(train_texts, namespace=f"clinc150-train{suffix}")),
    )
    out = {}
    for key in ("val", "oos_val", "test", "oos_test"):
        rows = data[key]
        texts = [text for text, _ in rows]
        predictions = classifier.predict_detailed(
            texts, vectors=embed_cached(texts, namespace=f"clinc150-{key}{suffix}")
        )
        out[key] = (
            np.array([p.best_label for p in predictions]),
            np.array([p.confidence for p in predictions]),
            np.array([p.score for p in predictions]),
            np.array([label for _, label in rows]),
        )
    return out


def _operating_point(scores, key_in: str, key_oos: str, column: int, threshold: float) -> dict:
    labels, *values, gold = scores[key_in]
    accepted = values[column] >= threshold
    return {
        "in_scope_accuracy": _round(((labels == gold) & accepted).mean()),
        "oos_recall": _round((scores[key_oos][1 + column] < threshold).mean()),
    }


def choose_default_threshold(scores=None) -> float:
    """The ExampleClassifier similarity threshold that maximises (in-scope accuracy + OOS recall)
    / 2 on CLINC150 val, on a 0.025 grid (how ``classifier.DEFAULT_THRESHOLD`` was chosen)."""
    scores = scores or _clinc150_scores()
    grid = np.round(np.arange(0.2, 0.8, 0.025), 3)
    balanced = [sum(_operating_point(scores, "val", "oos_val", 1, float(t)).values()) / 2 for t in grid]
    return float(grid[int(np.argmax(balanced))])


def evaluate_clinc150(split: str = "dev", *, intents_limit: int | None = None) -> dict:
    """CLINC150 (Full): an ExampleClassifier fitted on train; out of scope when its confidence is
    below a threshold chosen on val as the one with the best val OOS recall among those keeping
    val in-scope accuracy >= 96.2% (or the highest in-scope accuracy if none does). Reports
    in-scope accuracy, OOS recall, AUROC (in-scope vs OOS) and accuracy without a threshold on
    val ("dev") or test, plus the operating point of the product's default similarity threshold.
    ``intents_limit`` restricts the task to the first N intents (for fast tests)."""
    from convix.ai.classifier import DEFAULT_THRESHOLD

    _check_split(split)
    scores = _clinc150_scores(intents_limit)
    grid = np.unique(np.r_[scores["val"][1], scores["oos_val"][1]])
    candidates = []
    for threshold in grid:
        point = _operating_point(scores, "val", "oos_val", 0, float(threshold))
        candidates.append(
            (
                point["in_scope_accuracy"] >= CLINC150_TARGET_IN_SCOPE,
                point["oos_recall"],
                point["in_scope_accuracy"],
                float(threshold),
            )
        )
    meets = [c for c in candidates if c[0]]
    chosen = max(meets, key=lambda c: (c[1], c[2]))[3] if meets else max(candidates, key=lambda c: c[2])[3]
    key_in, key_oos = ("val", "oos_val") if split == "dev" else ("test", "oos_test")
    point = _operating_point(scores, key_in, key_oos, 0, chosen)
    default_point = _operating_point(scores, key_in, key_oos, 1, DEFAULT_THRESHOLD)
    labels, confidence, similarity, gold = scores[key_in]
    return {
        "dataset": "clinc150",
        "split": split,
        "n": int(len(gold) + len(scores[key_oos][3])),
        "in_scope_accuracy": point["in_scope_accuracy"],
        "oos_recall": point["oos_recall"],
        "accuracy_without_threshold": _round((labels == gold).mean()),
        "auroc": _round(_auroc(confidence, scores[key_oos][1])),
        "auroc_similarity": _round(_auroc(similarity, scores[key_oos][2])),
        "threshold": round(chosen, 6),
        "threshold_rule": "best val OOS recall with val in-scope accuracy >= 0.962 (confidence score)",
        "default_similarity_threshold": {"threshold": DEFAULT_THRESHOLD, **default_point},
        "published_bert": {"in_scope_accuracy": 0.962, "oos_recall": 0.523},
    }


# -- intent calibration ---------------------------------------------------------------------------


def fit_intent_temperature(*, folds: int = 5) -> dict:
    """The temperature that calibrates the intent classifier's probabilities.

    Out-of-fold probabilities over the intent examples (``understanding.INTENT_EXAMPLE_FILES``,
    stratified folds), then the temperature on a grid that minimises the negative log-likelihood.
    Also returns the expected calibration error before and after, in 10 bins.
    """
    from sklearn.model_selection import StratifiedKFold

    from convix.ai.classifier import ExampleClassifier, KnownVectors
    from convix.ai.understanding import DATA, INTENT_EXAMPLE_FILES

    pairs = []
    for name in INTENT_EXAMPLE_FILES:
        for label, texts in json.loads((DATA / name).read_text(encoding="utf-8"))["examples"].items():
            pairs.extend((label, text) for text in texts)
    labels = np.array([label for label, _ in pairs], dtype=object)
    texts = np.array([text for _, text in pairs], dtype=object)
    vectors = embed_cached(list(texts), namespace="intent-examples")
    names = sorted(set(labels))
    probabilities = np.zeros((len(pairs), len(names)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_idx, test_idx in splitter.split(texts, labels):
        examples: dict[str, list[str]] = {}
        for i in train_idx:
            examples.setdefault(labels[i], []).append(texts[i])
        classifier = ExampleClassifier(examples, embedder=KnownVectors(list(texts), vectors))
        fold = classifier.probabilities(list(texts[test_idx]), vectors=vectors[test_idx])
        columns = [names.index(label) for label in classifier.labels]
        probabilities[np.ix_(test_idx, columns)] = fold
    gold = np.array([names.index(label) for label in labels])

    def scaled(temperature: float) -> np.ndarray:
        logits = np.log(np.clip(probabilities, 1e-9, 1.0)) / temperature
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)

    def nll(temperature: float) -> float:
        return float(-np.log(np.clip(scaled(temperature)[np.arange(len(gold)), gold], 1e-12, None)).mean())

    def ece(matrix: np.ndarray) -> float:
        confidence, predicted = matrix.max(axis=1), matrix.argmax(axis=1)
        correct = predicted == gold
        bins = np.minimum((confidence * 10).astype(int), 9)
        return float(
            sum(
                abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
                for b in range(10)
                if (bins == b).any()
            )
        )

    grid = np.round(np.arange(0.3, 3.01, 0.05), 2)
    best = float(grid[int(np.argmin([nll(t) for t in grid]))])
    return {
        "temperature": best,
        "n": len(gold),
        "out_of_fold_accuracy": _round((probabilities.argmax(axis=1) == gold).mean()),
        "ece_before": _round(ece(scaled(1.0))),
        "ece_after": _round(ece(scaled(best))),
    }
