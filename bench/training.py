"""LightFM training time and peak memory on the full Complete Journey data, beside `implicit`
ALS on the same household x product matrix.

Each model trains in its own child process (``python -m bench.training lightfm|als``), so its
peak resident memory is its own: the figure is the peak during training minus the resident
memory once the data set is loaded. LightFM is Dash's hybrid as `dash train` fits it (WARP,
32 components, 10 epochs, demographic and product features, 2 threads); ALS is the evaluation's
baseline (64 factors, 15 iterations, 2 threads). Both see every transaction of the data set.
``dash_train`` times everything `dash train` fits for the recommender (``train_models``), step
by step, then what loading those models costs a serving process (``reload``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.startup import rss_mb


def child(which: str) -> dict:
    import numpy as np

    from recommender.als import _fit_als
    from recommender.baselines import _basket_lines, _weighted_matrix
    from recommender.data import from_completejourney
    from recommender.hybrid import HybridSettings, train_hybrid

    data = from_completejourney()
    if which == "dash_train":
        return _dash_train(data)
    users, counts, items = _weighted_matrix(_basket_lines(data.purchases), 1.0)
    # Reset the peak (VmHWM) so that it measures training, not loading the data set.
    Path("/proc/self/clear_refs").write_text("5")
    before = rss_mb(os.getpid())["rss_mb"]
    start = time.perf_counter()
    if which == "lightfm":
        settings = HybridSettings(threads=2)  # as ALS: the library's own speed on 2 cores
        train_hybrid(data.purchases, data.products, data.households, settings, progress=False)
        params = {
            "components": settings.components,
            "epochs": settings.epochs,
            "threads": settings.threads,
        }
    else:
        counts.data = np.log1p(counts.data)
        _fit_als(counts.astype(np.float32), factors=64, iterations=15, random_state=42)
        params = {"factors": 64, "iterations": 15}
    seconds = time.perf_counter() - start
    peak = rss_mb(os.getpid())["peak_rss_mb"]
    return {
        "train_s": round(seconds, 1),
        "peak_rss_mb": peak,
        "peak_above_loaded_data_mb": round(peak - before, 1),
        "params": params,
        "matrix": {"households": len(users), "products": len(items), "nonzero": counts.nnz},
    }


def _dash_train(data) -> dict:
    """Everything `dash train` fits for the recommender, on the full data, as it runs live:
    issue 4's "training under 2 minutes" is the recommender's part (both LightFM fits, the
    pair frames, the brand and cold-pair rankers, the neighbours, the item statistics: wall
    time, with LightFM training in a thread beside the frames); the offer ranker and the timing
    model belong to other issues and are reported beside it."""
    import tempfile

    from recommender.training import TrainSettings, train_models

    with tempfile.TemporaryDirectory() as tmp:
        summary = train_models(data, Path(tmp), settings=TrainSettings(progress=False))
        reload = _reload(Path(tmp))
    return {
        "train_s": summary["seconds"],
        "recommender_s": summary["recommender_seconds"],
        "step_seconds": summary["step_seconds"],
        "lightfm_s": summary["lightfm_seconds"],
        "rankers": summary["rankers"],
        "reload": reload,
    }


def _reload(directory: Path, loads: int = 3, quiet_s: float = 3.0) -> dict:
    """What loading the trained models costs a serving process: the load itself, and a small
    scoring call (the cold-pair ranker on 40 candidates) timed alone and then over and over
    in this thread while a retraining loads in another (``ModelWatcher(background=True)``)."""
    import threading

    import numpy as np
    import pandas as pd

    from recommender.live import LiveModels

    models = LiveModels.load(directory)  # imports done, as in a running assistant
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((40, len(models.cold.features))), columns=models.cold.features)

    def call() -> float:
        start = time.perf_counter()
        models.cold.score(frame)
        return (time.perf_counter() - start) * 1000

    alone, end = [], time.perf_counter() + quiet_s
    while time.perf_counter() < end:
        alone.append(call())
    load_s: list[float] = []

    def load_all() -> None:
        for _ in range(loads):
            start = time.perf_counter()
            LiveModels.load(directory)
            load_s.append(time.perf_counter() - start)

    loader = threading.Thread(target=load_all)
    beside: list[float] = []
    loader.start()
    while loader.is_alive():
        beside.append(call())
    loader.join()

    def stats(ms: list[float]) -> dict:
        a = np.array(ms)
        return {
            "calls": len(a),
            "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2),
            "max_ms": round(float(a.max()), 1),
        }

    start = time.perf_counter()
    LiveModels.load(directory)
    return {
        "load_s": round(time.perf_counter() - start, 2),
        "load_beside_calls_s": [round(x, 2) for x in load_s],
        "score_alone": stats(alone),
        "score_while_loading": stats(beside),
    }


def run() -> dict:
    out: dict = {
        "workload": (
            f"full Complete Journey ({os.cpu_count()} cores, 2 threads each): every transaction"
            " as a household x product matrix (baskets per pair); each model in its own process"
        ),
        "cores": os.cpu_count(),
    }
    for which in ("lightfm", "als"):
        print(f"training {which} on the full data set ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.training", which],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        out[which] = json.loads(done.stdout.strip().splitlines()[-1])
    print("dash train's models on the full data set ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.training", "dash_train"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    out["dash_train"] = json.loads(done.stdout.strip().splitlines()[-1])
    out["ratio_lightfm_over_als"] = {
        "train_s": round(out["lightfm"]["train_s"] / out["als"]["train_s"], 2),
        "peak_above_loaded_data_mb": round(
            out["lightfm"]["peak_above_loaded_data_mb"]
            / max(out["als"]["peak_above_loaded_data_mb"], 0.1),
            2,
        ),
    }
    return out


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
