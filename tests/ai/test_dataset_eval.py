"""The dataset evaluations on small, fixed dev subsets (skipped when the datasets are absent).

The full runs (all splits, with test) are what ``manage.py evaluate`` prints; here each
evaluation runs on a slice that takes seconds, and the minimums are set well below what the
full dev split measures, so they catch a broken pipeline, not noise.
"""

from __future__ import annotations

import json

import pytest

from convix.ai.evaluation import datasets
from convix.ai.intents import Intent

pytestmark = pytest.mark.skipif(
    not (datasets.data_dir() / "bitext_customer_support").exists(),
    reason=f"public datasets not found in {datasets.data_dir()} (set CONVIX_EVAL_DATA_DIR)",
)

COMMON_KEYS = {"dataset", "split", "n", "threshold"}


def test_bitext_mapping_covers_every_bitext_intent_with_a_convix_intent():
    bitext_intents = {intent for _, intent, _ in datasets.load_bitext("test")}

    assert set(datasets.BITEXT_TO_INTENT) == bitext_intents
    assert len(bitext_intents) == 27
    assert {Intent(value) for value in datasets.BITEXT_TO_INTENT.values()} <= set(Intent)


def test_bitext_dev_is_held_out_from_train_and_from_the_committed_examples():
    train = {text for text, _, _ in datasets.load_bitext("train")}
    dev = {text for text, _, _ in datasets.load_bitext("dev")}
    committed = json.loads((datasets.PACKAGE_DATA / "intent_examples_bitext.json").read_text())["examples"]

    assert not train & dev
    assert len(dev) > 1500
    assert not {text for texts in committed.values() for text in texts} & dev


def test_committed_bitext_examples_are_reproduced_from_train():
    committed = json.loads((datasets.PACKAGE_DATA / "intent_examples_bitext.json").read_text())

    assert datasets.build_bitext_examples(write=False) == committed


def test_bitext_dev_subset():
    result = datasets.evaluate_bitext("dev", limit=300)

    assert COMMON_KEYS <= result.keys()
    assert (result["dataset"], result["split"], result["n"]) == ("bitext", "dev", 300)
    assert result["accuracy"] >= 0.93
    assert result["macro_f1"] >= 0.9
    assert set(result["per_intent_f1"]) <= {intent.value for intent in Intent}


def test_hint3_dev_beats_the_no_threshold_baseline():
    result = datasets.evaluate_hint3("dev", bots=("sofmattress",))

    assert COMMON_KEYS <= result.keys()
    assert (result["dataset"], result["split"], result["bot"]) == ("hint3", "dev", "sofmattress")
    assert result["threshold"] == pytest.approx(0.5)
    # Without an out-of-scope decision half of this pseudo dev set (the held-out labels) is
    # always wrong: accuracy could not pass 0.5 and OOS recall would be 0.
    assert result["accuracy"] >= 0.68
    assert result["oos_recall"] >= 0.38
    assert result["in_scope_accuracy"] >= 0.8
    assert result["mcc"] >= 0.62


def test_hint3_metrics_follow_the_paper():
    gold = ["A", "A", "B", "OOS", "OOS"]
    predicted = ["A", "OOS", "B", "OOS", "B"]

    metrics = datasets.oos_metrics(gold, predicted, oos_label="OOS")

    assert metrics["accuracy"] == 0.6
    assert metrics["in_scope_accuracy"] == pytest.approx(0.6667)
    assert metrics["oos_recall"] == 0.5


def test_clinc150_dev_subset():
    result = datasets.evaluate_clinc150("dev", intents_limit=15)

    assert COMMON_KEYS <= result.keys()
    assert (result["dataset"], result["split"]) == ("clinc150", "dev")
    assert result["in_scope_accuracy"] >= 0.93
    assert result["oos_recall"] >= 0.6
    assert result["auroc"] >= 0.95
    assert 0 < result["threshold"] < 1


def test_goemotions_dev_subset():
    result = datasets.evaluate_goemotions("dev", limit=800)

    assert COMMON_KEYS <= result.keys()
    assert (result["dataset"], result["split"], result["n"]) == ("goemotions", "dev", 800)
    assert result["positive_labels"] == "anger+annoyance+disgust"
    assert result["positives"] > 40
    assert result["f1"] >= 0.4
    assert result["auroc"] >= 0.83


def test_splits_are_checked():
    with pytest.raises(ValueError, match="split"):
        datasets.evaluate_bitext("train")


def test_scenario_facts_match_whole_amounts():
    from apps.conversations.evaluation import _contains

    assert _contains("Orders of $750 or more ship free.", "$750")
    assert not _contains("Orders of $750 or more ship free.", "$75")
    assert _contains("Standard shipping is $75.00.", "$75")
    assert not _contains("A $1,750 quote", "$1")
    assert _contains("Free shipping over $99.", "$49|$99")
    assert _contains("We ship with USPS Priority.", "priority")
