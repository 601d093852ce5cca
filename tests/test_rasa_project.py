"""The Rasa project itself: valid data, and the conversation tests pass on the trained model."""

import os
import subprocess
import sys

import pytest

from shop.config import PROJECT_ROOT

pytestmark = pytest.mark.slow
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_data_validates_without_warnings():
    result = rasa(
        "data",
        "validate",
        "--domain",
        "domain.yml",
        "--data",
        "bot/data",
        "--config",
        "config.yml",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_tests_pass(trained_model, tmp_path):
    result = rasa(
        "test",
        "core",
        "--stories",
        "tests/stories",
        "--model",
        str(trained_model),
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path / "results"),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
