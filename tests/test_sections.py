"""The evaluation's sections side by side: a failure in the forked process reaches the
parent as an error that says what failed, instead of a hang or a half-written report."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from recommender.evaluate import Options
from recommender.sections import _Beside

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux")


def test_a_failing_section_beside_the_tables_raises_with_its_traceback():
    beside = _Beside(None, Options(cutoff=pd.Timestamp("2017-11-01")), ["timing"])
    with pytest.raises(RuntimeError, match="(?s)failed.*AttributeError"):
        beside.result()
    assert beside._process.exitcode == 0  # reported and exited, not killed


def test_when_the_tables_fail_the_process_beside_them_is_stopped():
    import multiprocessing

    from rich.console import Console

    from recommender.sections import run_sections

    options = Options(cutoff=pd.Timestamp("2017-11-01"), progress=False)
    with pytest.raises(AttributeError):
        run_sections(
            None, options, ["recommender", "timing"], Console(quiet=True), side_by_side=True
        )
    assert multiprocessing.active_children() == []
