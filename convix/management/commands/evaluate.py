"""``manage.py evaluate --dataset NAME [--split test] [--json]``: measure the agent.

NAME: bitext, hint3, clinc150, goemotions (public datasets, see /work/shared/data or
CONVIX_EVAL_DATA_DIR), scenarios (the demo store, end to end) or injections (prompt attacks).
With ``--json`` the last line printed is one JSON object of the metrics.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

DATASETS = ("bitext", "hint3", "clinc150", "goemotions", "scenarios", "injections")


class Command(BaseCommand):
    help = "Run the agent on a labelled set and print its metrics."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, choices=DATASETS)
        parser.add_argument(
            "--split",
            default="dev",
            choices=("dev", "test"),
            help="dev for building; test only for reporting",
        )
        parser.add_argument(
            "--json", action="store_true", help="print the metrics as one JSON object on the last line"
        )

    def handle(self, *args, dataset, split, json: bool = False, **options):
        metrics = self.run(dataset, split)
        if json:
            self.stdout.write(dumps(metrics))
            return
        for key, value in metrics.items():
            if key in ("failures", "leaked") and value:
                self.stdout.write(f"{key}:")
                for item in value:
                    self.stdout.write(f"  - {dumps(item)}")
            else:
                self.stdout.write(f"{key}: {value if not isinstance(value, dict) else dumps(value)}")

    def run(self, dataset: str, split: str) -> dict:
        if dataset in ("scenarios", "injections"):
            from apps.conversations import evaluation

            return (
                evaluation.evaluate_scenarios()
                if dataset == "scenarios"
                else evaluation.evaluate_injections()
            )
        from convix.ai.evaluation import datasets

        function = getattr(datasets, f"evaluate_{dataset}")
        try:
            return function(split)
        except FileNotFoundError as error:
            raise CommandError(f"Dataset files not found: {error}. Set CONVIX_EVAL_DATA_DIR.") from None


def dumps(value) -> str:
    return json.dumps(value, default=str, sort_keys=False)
