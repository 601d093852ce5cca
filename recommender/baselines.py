"""Next-basket baselines: the bar any learned recommender has to clear on the same split.

Every method takes the training purchases (lines before the cutoff, in the shape of
``recommender.data``), the households to recommend for and ``k``, and returns ``k`` distinct
product ids per household, best first. Personal methods that know fewer than ``k`` items for a
household are topped up with global popularity, so that every method fills the same number of
slots and the comparison is about ranking, not about coverage.

Scores are built as sparse household x product matrices and ranked in row chunks, so the whole of
Complete Journey (a few thousand households, ~60k products) takes seconds per method.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: Upper bound on dense cells (rows x products) materialised at once while ranking.
_CHUNK_CELLS = 8_000_000


# --- shared pieces ---------------------------------------------------------------------------


def _basket_lines(train: pd.DataFrame) -> pd.DataFrame:
    """One row per product per basket: buying two jars in one trip is one purchase occasion."""
    return train[["household", "basket", "product"]].drop_duplicates()


def _baskets(train: pd.DataFrame) -> pd.DataFrame:
    """Each basket's household and time (its first line), oldest first within each household."""
    baskets = train.groupby(["household", "basket"], as_index=False, sort=False)["ts"].min()
    return baskets.sort_values(["household", "ts", "basket"], kind="stable").reset_index(drop=True)


def _popularity_rank(train: pd.DataFrame) -> pd.Series:
    """Rank (0 = best) of each product by the number of baskets holding it; ties go to the lower
    id so that results do not depend on row order."""
    counts = _basket_lines(train)["product"].value_counts()
    order = counts.rename_axis("product").reset_index(name="n")
    order = order.sort_values(["n", "product"], ascending=[False, True], kind="stable")
    return pd.Series(np.arange(len(order)), index=order["product"].to_numpy(), name="rank")


def _matrix(
    households: np.ndarray, products: np.ndarray, values: np.ndarray, rows: int, cols: int
) -> sp.csr_matrix:
    """Sum ``values`` into a (rows x cols) csr matrix; duplicates add up."""
    matrix = sp.coo_matrix((values, (households, products)), shape=(rows, cols), dtype=np.float64)
    return matrix.tocsr()


def _weighted_matrix(
    lines: pd.DataFrame, weight: np.ndarray | float
) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """Household x product matrix of summed ``weight`` over basket lines, with its row and
    column ids (both sorted)."""
    users, user_idx = np.unique(lines["household"].to_numpy(), return_inverse=True)
    items, item_idx = np.unique(lines["product"].to_numpy(), return_inverse=True)
    values = np.broadcast_to(np.asarray(weight, dtype=np.float64), user_idx.shape)
    return users, _matrix(user_idx, item_idx, values, len(users), len(items)), items


def _chunks(n_rows: int, n_cols: int) -> Iterable[slice]:
    step = max(1, _CHUNK_CELLS // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _top_dense(dense: np.ndarray, k: int, tiebreak: np.ndarray) -> list[np.ndarray]:
    """Column indices of the ``k`` best positive scores in each row, ties to the lower
    ``tiebreak``.

    A full partition of every row is the slow part, so each row's k-th best score among only the
    first max(1024, k) columns in ``tiebreak`` order serves as a floor instead: the true top k
    are all at or above it, and only the few entries that clear it are sorted, exactly.
    """
    probe = np.argsort(tiebreak, kind="stable")[: max(1024, k)]
    sample = dense[:, probe]
    kth = min(k, sample.shape[1]) - 1
    floor = -np.partition(-sample, kth, axis=1)[:, kth : kth + 1]
    row, col = np.nonzero((dense >= floor) & (dense > 0))
    order = np.lexsort((tiebreak[col], -dense[row, col], row))
    row, col = row[order], col[order]
    starts = np.searchsorted(row, np.arange(dense.shape[0] + 1))
    return [col[starts[i] : starts[i + 1]][:k] for i in range(dense.shape[0])]


def _top_rows(scores: sp.csr_matrix, k: int, tiebreak: np.ndarray) -> list[np.ndarray]:
    """``_top_dense`` over a sparse matrix, densifying a bounded chunk of rows at a time."""
    out: list[np.ndarray] = []
    for rows in _chunks(scores.shape[0], scores.shape[1]):
        out.extend(_top_dense(scores[rows].toarray(), k, tiebreak))
    return out


def _ids(households: Iterable[int]) -> np.ndarray:
    """Household ids as int64, each once, in the order given."""
    return np.asarray(list(dict.fromkeys(int(h) for h in households)), dtype=np.int64)


def _pad(ranked: list[int], popular: np.ndarray, k: int) -> list[int]:
    """``ranked`` followed by the most popular products not already in it, ``k`` in all."""
    if len(ranked) >= k:
        return ranked[:k]
    taken = set(ranked)
    extra = [int(p) for p in popular[: k + len(ranked)] if p not in taken]
    return ranked + extra[: k - len(ranked)]


def _recommend_from_scores(
    users: np.ndarray,
    scores: sp.csr_matrix,
    items: np.ndarray,
    households: Iterable[int],
    k: int,
    popularity: pd.Series,
) -> dict[int, list[int]]:
    """Rank each wanted household's row of ``scores`` (rows ``users``, columns ``items``);
    households without a row get popularity alone."""
    wanted = _ids(households)
    position = pd.Series(np.arange(len(users)), index=users).reindex(wanted)
    known = position.notna().to_numpy()
    rows = position.to_numpy()[known].astype(np.int64)
    tiebreak = popularity.reindex(items).to_numpy()
    ranked = _top_rows(scores[rows], k, tiebreak)
    popular = popularity.index.to_numpy()
    personal = {
        int(h): [int(p) for p in items[r]] for h, r in zip(wanted[known], ranked, strict=True)
    }
    return {int(h): _pad(personal.get(int(h), []), popular, k) for h in wanted}


# --- simple baselines ------------------------------------------------------------------------


def popularity(train: pd.DataFrame, households: Iterable[int], k: int) -> dict[int, list[int]]:
    """The same ``k`` products for everyone: those in the most baskets."""
    top = [int(p) for p in _popularity_rank(train).index[:k]]
    return {int(h): list(top) for h in households}


def personal_frequency(
    train: pd.DataFrame, households: Iterable[int], k: int
) -> dict[int, list[int]]:
    """Products in the most of the household's own baskets: the strong grocery baseline, since
    most of a next basket repeats history."""
    users, counts, items = _weighted_matrix(_basket_lines(train), 1.0)
    return _recommend_from_scores(users, counts, items, households, k, _popularity_rank(train))


def recency_frequency(
    train: pd.DataFrame,
    households: Iterable[int],
    k: int,
    half_life_days: float = 60.0,
    now: pd.Timestamp | None = None,
) -> dict[int, list[int]]:
    """Personal frequency with each basket weighted ``0.5 ** (age_days / half_life_days)``, so
    habits the household dropped fade and new ones count sooner."""
    baskets = _baskets(train)
    now = train["ts"].max() if now is None else pd.Timestamp(now)
    age_days = (now - baskets["ts"]).dt.total_seconds().to_numpy() / 86_400.0
    baskets["weight"] = 0.5 ** (age_days / half_life_days)
    lines = _basket_lines(train).merge(baskets[["household", "basket", "weight"]])
    users, scores, items = _weighted_matrix(lines, lines["weight"].to_numpy())
    return _recommend_from_scores(users, scores, items, households, k, _popularity_rank(train))


# --- TIFU-KNN --------------------------------------------------------------------------------


def _tifu_basket_weights(
    baskets: pd.DataFrame, group_size: int, within_decay: float, group_decay: float
) -> np.ndarray:
    """Each basket's weight in its household's TIFU vector, as in the authors' code
    (github.com/HaojiHu/TIFUKNN, ``temporal_decay_sum_history``/``group_history_list``).

    That code's ``group_size`` is the number of groups: a history of n baskets is cut, oldest
    first, into ``group_size`` runs of n // group_size baskets, the newest n % group_size runs
    one basket longer; with fewer baskets than groups, each basket is its own group. A basket
    weighs within_decay ** (baskets after it in the whole history) / (its group's length), a
    group weighs group_decay ** (group_size - 1 - group index), and the sum is divided by the
    number of groups actually formed.
    """
    n = baskets.groupby("household")["ts"].transform("size").to_numpy()
    pos = baskets.groupby("household").cumcount().to_numpy()
    base = n // group_size
    longer = n % group_size
    boundary = (group_size - longer) * base
    many = n >= group_size
    safe_base = np.maximum(base, 1)
    group = np.where(
        pos < boundary,
        pos // safe_base,
        (group_size - longer) + (pos - boundary) // (base + 1),
    )
    group = np.where(many, group, pos)
    length = np.where(many, np.where(pos < boundary, base, base + 1), 1)
    real_groups = np.where(many, group_size, n)
    weight = within_decay ** (n - 1 - pos) / length
    weight *= group_decay ** (group_size - 1 - group)
    return weight / real_groups


def tifu_vectors(
    train: pd.DataFrame,
    *,
    group_size: int = 3,
    within_decay: float = 0.98,
    group_decay: float = 0.9,
) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """TIFU household vectors: (household ids, csr household x product, product ids).

    A decayed, grouped item frequency (Hu et al., SIGIR 2020); exported because it is also a
    good per-(household, product) feature for a learned ranker.
    """
    baskets = _baskets(train)
    baskets["weight"] = _tifu_basket_weights(baskets, group_size, within_decay, group_decay)
    lines = _basket_lines(train).merge(baskets[["household", "basket", "weight"]])
    return _weighted_matrix(lines, lines["weight"].to_numpy())


def _row_norms_sq(matrix: sp.csr_matrix) -> np.ndarray:
    return np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel()


def _nearest(
    queries: sp.csr_matrix, vectors: sp.csr_matrix, self_rows: np.ndarray, m: int, metric: str
) -> np.ndarray:
    """Indices of the ``m`` nearest rows of ``vectors`` to each query row (brute force, as the
    paper's ``NearestNeighbors(algorithm="brute")``), never the query's own row (``self_rows``,
    -1 for none). Household vectors are sparse, so the sparse Gram block is cheap."""
    dot = (queries @ vectors.T).toarray().astype(np.float64)
    q_sq = _row_norms_sq(queries)[:, None]
    v_sq = _row_norms_sq(vectors)
    if metric == "cosine":
        distance = -dot / np.maximum(np.sqrt(q_sq * v_sq), 1e-12)
    elif metric == "euclidean":
        distance = q_sq + v_sq - 2.0 * dot
    else:
        raise ValueError(f"unknown metric {metric!r}")
    has_self = self_rows >= 0
    distance[np.flatnonzero(has_self), self_rows[has_self]] = np.inf
    return np.argpartition(distance, m - 1, axis=1)[:, :m]


def _tifu_chunks(
    train: pd.DataFrame,
    wanted: np.ndarray,
    params: dict,
) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """Dense TIFU-KNN score rows for ``wanted``, a bounded chunk at a time, then the product ids.

    The neighbours' mean is taken as ``vectors.T @ pick.T`` (sparse x dense, float32), which is
    far cheaper than a sparse x sparse product whose result would be nearly dense anyway.
    """
    alpha, neighbours, metric = params["alpha"], params["neighbours"], params["metric"]
    users, vectors, items = tifu_vectors(
        train,
        group_size=params["group_size"],
        within_decay=params["within_decay"],
        group_decay=params["group_decay"],
    )
    rows = pd.Series(np.arange(len(users)), index=users).reindex(wanted).fillna(-1).to_numpy()
    rows = rows.astype(np.int64)
    m = min(neighbours, len(users) - 1)
    vectors = vectors.astype(np.float32)
    vectors_t = vectors.T.tocsr()
    for chunk in _chunks(len(wanted), max(len(users), len(items))):
        own_rows = rows[chunk]
        own_sparse = vectors[np.maximum(own_rows, 0)]
        own = own_sparse.toarray()
        own[own_rows < 0] = 0.0
        if m >= 1 and alpha < 1.0:
            near = _nearest(own_sparse, vectors, own_rows, m, metric)
            pick = np.zeros((len(own_rows), len(users)), dtype=np.float32)
            np.put_along_axis(pick, near, np.float32((1.0 - alpha) / m), axis=1)
            mixed = (vectors_t @ pick.T).T
            mixed[own_rows < 0] = 0.0
        else:
            mixed = np.zeros_like(own)
        own *= np.float32(alpha)
        mixed += own
        yield mixed, items


#: TIFU-KNN settings for ``tifu_knn`` and ``tifu_top``: the paper's best on grocery data.
_TIFU_DEFAULTS: dict = dict(
    group_size=3, within_decay=0.98, group_decay=0.9, neighbours=300, alpha=0.6, metric="euclidean"
)


def _tifu_settings(params: dict) -> dict:
    unknown = set(params) - set(_TIFU_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown TIFU-KNN parameters: {', '.join(sorted(unknown))}")
    return {**_TIFU_DEFAULTS, **params}


def tifu_top(
    train: pd.DataFrame, households: Iterable[int], n: int, **params: float | int | str
) -> pd.DataFrame:
    """Each household's ``n`` best TIFU-KNN products (``tifu_knn``'s scores: ``alpha`` x own
    vector + (1 - ``alpha``) x the mean of the ``neighbours`` nearest households') with scores
    and ranks (1 = best), positive scores only, so a household absent from ``train`` has none.
    The candidates of the next-basket ranker; rows with many neighbours are nearly dense, so
    only the top ``n`` of each chunk is kept."""
    wanted = _ids(households)
    settings = _tifu_settings(params)
    parts, offset = [], 0
    for dense, items in _tifu_chunks(train, wanted, settings):
        width = min(n, dense.shape[1])
        if width == 0:
            offset += len(dense)
            continue
        top = np.argpartition(-dense, width - 1, axis=1)[:, :width]
        values = np.take_along_axis(dense, top, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        top, values = np.take_along_axis(top, order, axis=1), np.take_along_axis(values, order, 1)
        rows = np.repeat(np.arange(len(dense)), width)
        ranks = np.tile(np.arange(1, width + 1), len(dense))
        keep = values.ravel() > 0
        parts.append(
            pd.DataFrame(
                {
                    "household": wanted[offset + rows[keep]],
                    "product": items[top.ravel()[keep]],
                    "tifu": values.ravel()[keep].astype(np.float64),
                    "tifu_rank": ranks[keep],
                }
            )
        )
        offset += len(dense)
    if not parts:
        return pd.DataFrame(columns=["household", "product", "tifu", "tifu_rank"])
    return pd.concat(parts, ignore_index=True)


def tifu_knn(
    train: pd.DataFrame, households: Iterable[int], k: int, **params: float | int | str
) -> dict[int, list[int]]:
    """TIFU-KNN (Hu et al., SIGIR 2020): the household's own decayed item frequency blended with
    that of similar households, which adds the items its neighbours buy and it has not yet.
    ``params`` override ``_TIFU_DEFAULTS`` (group_size, within_decay, group_decay, neighbours,
    alpha, metric)."""
    wanted = _ids(households)
    params = _tifu_settings(params)
    popularity = _popularity_rank(train)
    ranked: list[list[int]] = []
    for dense, items in _tifu_chunks(train, wanted, params):
        tiebreak = popularity.reindex(items).to_numpy()
        ranked.extend([int(p) for p in items[top]] for top in _top_dense(dense, k, tiebreak))
    popular = popularity.index.to_numpy()
    return {int(h): _pad(r, popular, k) for h, r in zip(wanted, ranked, strict=True)}
