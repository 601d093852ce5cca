"""LightFM gives the same model in every process, whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_lightfm_is_the_same_in_every_process(tmp_path):
    """Each process orders a set of strings by its own hash seed; LightFM numbers features in
    the order it is given them, so a set there gave a different model in every run."""
    script = (
        "import sys; from pathlib import Path; from tests.test_recommender import FAST, synthetic;"
        "from recommender.hybrid import train_hybrid; d = synthetic();"
        "train_hybrid(d.purchases, d.products, d.households, FAST.hybrid, progress=False)"
        ".save(Path(sys.argv[1]))"
    )
    for seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / seed)],
            check=True,
            cwd=ROOT,  # the script imports tests.test_recommender
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONWARNINGS": "ignore"},
        )
    one, two = (np.load(tmp_path / seed / "hybrid.npz") for seed in ("1", "2"))
    assert one.files == two.files
    for name in one.files:
        assert np.array_equal(one[name], two[name]), name
