"""Intent accuracy by 5-fold cross-validation (`rasa test nlu --cross-validation`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shop.config import PROJECT_ROOT


def run(folds: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rasa",
                "test",
                "nlu",
                "--nlu",
                "bot/data/nlu",
                "--config",
                "config.yml",
                "--cross-validation",
                "--folds",
                str(folds),
                "--out",
                out,
            ],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        seconds = time.perf_counter() - start
        report = json.loads((Path(out) / "intent_report.json").read_text())
    per_intent = {
        k: round(v["f1-score"], 3)
        for k, v in report.items()
        if isinstance(v, dict) and "support" in v and not k.endswith("avg")
    }
    return {
        "workload": f"bot/data/nlu, {folds}-fold cross-validation, config.yml",
        "accuracy": round(report["accuracy"], 4),
        "weighted_f1": round(report["weighted avg"]["f1-score"], 4),
        "macro_f1": round(report["macro avg"]["f1-score"], 4),
        "examples": report["weighted avg"]["support"],
        "weakest_intents": dict(sorted(per_intent.items(), key=lambda kv: kv[1])[:5]),
        "seconds": round(seconds, 1),
    }
