"""The peer library's baseline: implicit-feedback ALS (``implicit``) on basket counts, ranked
and padded like the other baselines in ``recommender.baselines``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.baselines import _basket_lines, _ids, _pad, _popularity_rank, _weighted_matrix


def _fit_als(user_items: sp.csr_matrix, **params: float | int) -> object:
    """A fitted CPU ALS model, built and fitted with BLAS held to one thread: implicit runs its
    own threads, and warns (and slows down) when OpenBLAS spawns more inside each of them."""
    from implicit.cpu.als import AlternatingLeastSquares

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1, "blas")
    with limits:
        model = AlternatingLeastSquares(num_threads=2, **params)
        model.fit(user_items, show_progress=False)
    return model


def als(
    train: pd.DataFrame,
    households: Iterable[int],
    k: int,
    *,
    factors: int = 64,
    iterations: int = 15,
    regularization: float = 0.05,
    alpha: float = 1.0,
    random_state: int = 42,
) -> dict[int, list[int]]:
    """Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) on basket counts,
    with confidence 1 + ``alpha`` x log(1 + baskets) so that staples do not swamp the rest.
    Already-bought items stay in: repeats are most of a grocery basket."""
    users, counts, items = _weighted_matrix(_basket_lines(train), 1.0)
    counts.data = np.log1p(counts.data)
    counts = counts.astype(np.float32)
    model = _fit_als(
        counts,
        factors=factors,
        iterations=iterations,
        regularization=regularization,
        alpha=alpha,
        random_state=random_state,
    )
    wanted = _ids(households)
    position = pd.Series(np.arange(len(users)), index=users).reindex(wanted)
    known = position.notna().to_numpy()
    rows = position.to_numpy()[known].astype(np.int64)
    personal: dict[int, list[int]] = {}
    if len(rows):
        ids, _ = model.recommend(rows, counts[rows], N=k, filter_already_liked_items=False)
        for h, row in zip(wanted[known], np.atleast_2d(ids), strict=True):
            personal[int(h)] = [int(items[i]) for i in row if 0 <= i < len(items)]
    popular = _popularity_rank(train).index.to_numpy()
    return {int(h): _pad(personal.get(int(h), []), popular, k) for h in wanted}
