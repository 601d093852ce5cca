"""The evaluation's three sections, run side by side: the recommender tables in this process,
repurchase timing and offers in a forked one.

Each section fits its own models on history before the cutoff and most of their steps run on
one core (LightFM with one thread so that a run is reproducible, the brand ranker beside it in
`dash train`), so one after the other they left the second core idle for most of the run: on a
slower 2-core machine the whole evaluation took 20 min 55 s, over issue 4's 15. Side by side,
one thread per process, it took 11 min 12 s there, with the same figures to the last digit
(each section's models are the same, whichever process fits them and with how many threads).

The child is forked, not spawned: it inherits the loaded data set without a copy or a pickle.
Where fork is not the platform's safe default (macOS, Windows) the sections run in turn.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import traceback
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from recommender.data import RetailData
    from recommender.evaluate import Options

SECTIONS = ("recommender", "timing", "offers")
BESIDE = ("timing", "offers")  # what the forked process runs while the tables are built


def run_sections(
    data: RetailData,
    options: Options,
    sections: list[str],
    console: Console,
    *,
    side_by_side: bool | None = None,
) -> dict:
    """The recommender tables, repurchase timing with the demand forecast, and offers: the same
    data, households and cutoff for all. ``side_by_side`` (default: on Linux, when the
    recommender section runs with another) forks a process for the timing and offer sections;
    their progress is not shown, the recommender section's is."""
    report: dict = {"cutoff": str(options.cutoff.date())}
    seconds: dict[str, dict] = {}
    beside = [s for s in BESIDE if s in sections]
    if side_by_side is None:
        side_by_side = sys.platform.startswith("linux")
    tables = "recommender" in sections
    child = None
    if tables and beside and side_by_side:
        child = _Beside(data, replace(options, progress=False), beside)
        console.print(f"[dim]{' and '.join(beside)} run beside the recommender tables[/dim]")
    if tables:
        from recommender.evaluate import evaluate

        try:
            with _one_thread(child is not None):
                part = evaluate(
                    data, options if child is None else _one_thread_rankers(options), console
                )
        except BaseException:
            if child is not None:
                child.stop()  # or the interpreter would wait for it at exit
            raise
        seconds["recommender"] = part.pop("seconds", {})
        report.update(part)
    parts = child.result() if child is not None else _run(data, options, beside, console)
    for name in beside:
        part = parts[name]
        seconds[name] = part.pop("seconds", {})
        _merge(report, part, name)
    report["seconds"] = seconds
    return report


def _run(
    data: RetailData, options: Options, sections: list[str], console: Console | None = None
) -> dict[str, dict]:
    parts = {}
    if "timing" in sections:
        from recommender.timing_eval import evaluate_timing

        parts["timing"] = evaluate_timing(
            data,
            options.cutoff,
            options.end,
            households=options.households,
            progress=options.progress,
            console=console,
        )
    if "offers" in sections:
        from recommender.offers_eval import evaluate_offers

        parts["offers"] = evaluate_offers(
            data,
            options.cutoff,
            households=options.households,
            progress=options.progress,
            console=console,
        )
    return parts


class _Beside:
    """Sections running in a forked process; ``result`` waits for their reports."""

    def __init__(self, data: RetailData, options: Options, sections: list[str]) -> None:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child, args=(send, data, options, sections), name="dash-eval-beside"
        )
        self._process.start()
        send.close()  # the child holds the only writer: a dead child reads as end of file

    def stop(self) -> None:
        self._process.kill()
        self._process.join()
        self._receive.close()

    def result(self) -> dict[str, dict]:
        try:
            kind, payload = self._receive.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(
                f"the process running the sections beside the recommender tables died "
                f"(exit code {self._process.exitcode}; out of memory?)"
            ) from None
        finally:
            self._receive.close()
        self._process.join()
        if kind == "error":
            raise RuntimeError(f"a section beside the recommender tables failed:\n{payload}")
        return payload


def _child(send, data: RetailData, options: Options, sections: list[str]) -> None:
    try:
        with _one_thread(True):
            send.send(("ok", _run(data, options, sections)))
    except BaseException:  # reported to the parent, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


def _one_thread(on: bool):
    """Side by side, each process keeps to one core: OpenMP and BLAS pools sized for the
    whole machine spin while they wait for each other, and two such processes on two cores
    made the timing model 6.6x slower (15 s -> 100 s on a 150-household slice)."""
    if not on:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _one_thread_rankers(options: Options) -> Options:
    """LightGBM's trees take their thread count from the settings, not from OpenMP's limit;
    its deterministic mode gives the same trees with one thread as with two (checked on the
    cold-pair ranker: identical scores)."""
    one = {
        name: replace(getattr(options, name), threads=1)
        for name in ("basket_ranker", "household_ranker", "brand_ranker", "cold_ranker")
    }
    return replace(options, **one)


def _merge(report: dict, part: dict, section: str) -> None:
    """Add a section's tables; its own description of the data goes under ``dataset_<name>``."""
    if "dataset" in part:
        report[f"dataset_{section}"] = part.pop("dataset")
    report.update(part)
