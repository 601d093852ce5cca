"""The LightFM hybrid: households and products described by features as well as by identity.

On Complete Journey, LightFM on its own loses to "the household's usual product" (FIELD-NOTES),
so it is not asked to pick a household's ketchup. It is used where history is thin: a new
household known only by its demographics, a product type the household never bought, and
discovery of items outside the household's repeats. Its scores are one feature among many in
the rankers (``recommender.ranker``).

The trained model is stored as plain arrays (``.npz``) plus a JSON file of id and feature maps:
no pickle, and loading needs no LightFM at all (a score is a dot product plus two biases).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm import tqdm

from recommender.data import DEMOGRAPHICS

UNKNOWN_USER = "demo:unknown"


def user_features(households: pd.DataFrame) -> dict[int, list[str]]:
    """Demographic features as ``column:value`` strings; unknown households share one marker."""
    out: dict[int, list[str]] = {}
    columns = [c for c in DEMOGRAPHICS if c in households.columns]
    values = households[columns].to_numpy(dtype=object) if columns else None
    for row, hid in enumerate(households.index):
        feats = []
        if values is not None:
            for col, value in zip(columns, values[row], strict=True):
                if isinstance(value, str) and value.strip():
                    feats.append(f"{col}:{value.strip()}")
        out[int(hid)] = feats or [UNKNOWN_USER]
    return out


def household_features(row: Mapping[str, object]) -> list[str]:
    """Features of one household given as a mapping (a new household, not in training): the
    same strings ``user_features`` makes, without a frame per call (rankers ask per row)."""
    feats = []
    for col in DEMOGRAPHICS:
        value = row.get(col)
        if isinstance(value, str) and value.strip():
            feats.append(f"{col}:{value.strip()}")
    return feats or [UNKNOWN_USER]


def features_of(households: pd.DataFrame, household: int) -> list[str]:
    """The features of one household of ``households`` (none when it is not there)."""
    return household_features(households.loc[household]) if household in households.index else []


def item_features(products: pd.DataFrame) -> dict[int, list[str]]:
    """Brand, label, department, category, type, and size and price bands within the type."""
    p = products
    rel_price = p["price"] / p.groupby("type")["price"].transform("median").replace(0, np.nan)
    price_band = pd.cut(rel_price.fillna(1.0), [0, 0.7, 0.9, 1.1, 1.4, np.inf], labels=False)
    size_num = pd.to_numeric(p["size"].str.extract(r"([\d.]+)")[0], errors="coerce")
    rel_size = size_num / size_num.groupby(p["type"]).transform("median")
    size_band = pd.cut(rel_size, [0, 0.6, 0.9, 1.1, 1.8, np.inf], labels=False)
    cols = zip(
        p.index,
        p["manufacturer"].astype(str),
        p["private_label"].astype(bool),
        p["department"],
        p["category"],
        p["type"],
        price_band.fillna(-1).astype(int),
        size_band.fillna(-1).astype(int),
        strict=True,
    )
    out = {}
    for pid, mfr, private, dept, cat, typ, pband, sband in cols:
        out[int(pid)] = [
            f"mfr:{mfr}",
            "label:private" if private else "label:national",
            f"dept:{dept}",
            f"cat:{cat}",
            f"type:{typ}",
            f"price:{pband}",
            f"size:{sband}",
        ]
    return out


@dataclass
class HybridSettings:
    components: int = 32
    epochs: int = 10
    loss: str = "warp"
    learning_rate: float = 0.05
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    random_state: int = 42
    #: One thread by default: the same history gives the same model, bit for bit (LightFM's
    #: threads update shared vectors without locks, so two threads differ run to run, moving
    #: the evaluation's figures by about 0.002). `dash train` runs it beside the frames anyway.
    threads: int = 1
    refresh_epochs: int = 3  # continuing a fitted model on later history (HybridTrainer)


@dataclass
class HybridModel:
    """Trained representations: a score is ``user_vec @ item_vec + user_bias + item_bias``."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    user_biases: np.ndarray
    item_vectors: np.ndarray
    item_biases: np.ndarray
    feature_vectors: np.ndarray  # user-feature embeddings, for households not in training
    feature_biases: np.ndarray
    feature_index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._user_row = {int(u): i for i, u in enumerate(self.user_ids)}
        self._item_col = {int(p): i for i, p in enumerate(self.item_ids)}

    # -- scoring --------------------------------------------------------------------------
    def knows(self, household: int) -> bool:
        return int(household) in self._user_row

    def user_vector(self, household: int | None, features: Sequence[str] = ()) -> tuple:
        """A known household's trained vector, else one composed from its features."""
        if household is not None and int(household) in self._user_row:
            row = self._user_row[int(household)]
            return self.user_vectors[row], float(self.user_biases[row])
        idx = [self.feature_index[f] for f in features if f in self.feature_index]
        if not idx:
            idx = [self.feature_index[UNKNOWN_USER]] if UNKNOWN_USER in self.feature_index else []
        if not idx:
            return np.zeros(self.item_vectors.shape[1], dtype=np.float32), 0.0
        weight = 1.0 / len(idx)  # LightFM normalises feature rows to sum to one
        return (
            self.feature_vectors[idx].sum(axis=0) * weight,
            float(self.feature_biases[idx].sum() * weight),
        )

    def item_columns(self, product_ids: Iterable[int]) -> np.ndarray:
        return np.array([self._item_col.get(int(p), -1) for p in product_ids], dtype=np.int64)

    def scores(
        self, household: int | None, product_ids: Sequence[int], features: Sequence[str] = ()
    ) -> np.ndarray:
        """Scores for ``product_ids`` (``-inf`` for products the model has never seen)."""
        vec, bias = self.user_vector(household, features)
        cols = self.item_columns(product_ids)
        known = cols >= 0
        out = np.full(len(cols), -np.inf, dtype=np.float64)
        out[known] = self.item_vectors[cols[known]] @ vec + self.item_biases[cols[known]] + bias
        return out

    def score_matrix(self, households: Sequence[int]) -> np.ndarray:
        """Scores of every item for known households (rows follow ``households``)."""
        rows = np.array([self._user_row[int(h)] for h in households], dtype=np.int64)
        return (
            self.user_vectors[rows] @ self.item_vectors.T
            + self.item_biases[None, :]
            + self.user_biases[rows, None]
        )

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "hybrid.npz",
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            user_vectors=self.user_vectors,
            user_biases=self.user_biases,
            item_vectors=self.item_vectors,
            item_biases=self.item_biases,
            feature_vectors=self.feature_vectors,
            feature_biases=self.feature_biases,
        )
        (directory / "hybrid.json").write_text(json.dumps({"feature_index": self.feature_index}))

    @classmethod
    def load(cls, directory: Path) -> HybridModel:
        with np.load(directory / "hybrid.npz", allow_pickle=False) as arrays:
            parts = {k: arrays[k] for k in arrays.files}
        meta = json.loads((directory / "hybrid.json").read_text())
        return cls(**parts, feature_index=meta["feature_index"])


def train_hybrid(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    settings: HybridSettings | None = None,
    *,
    progress: bool = True,
) -> HybridModel:
    """Fit LightFM on household x product interactions (weight: log of baskets bought in)."""
    trainer = HybridTrainer(products, households, purchases["household"].unique(), settings)
    return trainer.fit(purchases, progress=progress)


class HybridTrainer:
    """One LightFM model with its id and feature maps, fitted and then refreshed.

    `dash train` needs two models: one on history before the rankers' training window (their
    LightFM scores must not have seen the labels) and the live one on all history. The live
    one continues the first with a few epochs over all history (``refresh``) instead of a
    second fit from scratch: the maps, feature matrices and learned vectors carry over."""

    def __init__(
        self,
        products: pd.DataFrame,
        households: pd.DataFrame,
        buyers: Iterable[int],
        settings: HybridSettings | None = None,
    ) -> None:
        from lightfm import LightFM
        from lightfm.data import Dataset

        self.settings = settings or HybridSettings()
        users = np.sort(households.index.union(pd.Index(list(buyers))).to_numpy())
        ufeats = user_features(households.reindex(users))
        ifeats = item_features(products)
        self.dataset = Dataset(user_identity_features=True, item_identity_features=True)
        self.dataset.fit(
            users,
            products.index.to_numpy(),
            # Sorted: LightFM numbers features in the order given, and a set's order of strings
            # changes with every process's hash seed, which gave a different model each run.
            user_features=sorted({f for fs in ufeats.values() for f in fs}),
            item_features=sorted({f for fs in ifeats.values() for f in fs}),
        )
        self.user_matrix = self.dataset.build_user_features(ufeats.items())
        self.item_matrix = self.dataset.build_item_features(ifeats.items())
        s = self.settings
        self.model = LightFM(
            no_components=s.components,
            loss=s.loss,
            learning_rate=s.learning_rate,
            item_alpha=s.item_alpha,
            user_alpha=s.user_alpha,
            random_state=s.random_state,
        )

    def fit(
        self,
        purchases: pd.DataFrame,
        epochs: int | None = None,
        *,
        progress: bool = True,
        on_epoch: Callable[[], None] | None = None,
    ):
        """Train on ``purchases`` (every household in them must have been given as a buyer)
        for ``epochs`` (the settings' by default) from wherever the model is now. ``progress``
        shows a tqdm bar; ``on_epoch`` is called after each epoch instead, for a display that
        runs elsewhere (`dash train` fits in a thread of its own)."""
        interactions, weights = self.interactions(purchases)
        epochs = self.settings.epochs if epochs is None else epochs
        bar = progress and on_epoch is None
        for _ in tqdm(range(epochs), desc="LightFM epochs", disable=not bar):
            self.model.fit_partial(
                interactions,
                user_features=self.user_matrix,
                item_features=self.item_matrix,
                sample_weight=weights,
                num_threads=self.settings.threads,
            )
            if on_epoch is not None:
                on_epoch()
        return _export(self.model, self.dataset, self.user_matrix, self.item_matrix)

    def interactions(self, purchases: pd.DataFrame) -> tuple[sp.coo_matrix, sp.coo_matrix]:
        """Household x product: 1, weighted by 1 + log(baskets bought in). What
        ``Dataset.build_interactions`` returns, built with arrays instead of its per-row Python
        loop (2.7 s of each fit on Complete Journey)."""
        counts = purchases.groupby(["household", "product"])["basket"].nunique()
        user_map, _, item_map, _ = self.dataset.mapping()
        rows = pd.Series(user_map).reindex(counts.index.get_level_values(0)).to_numpy()
        cols = pd.Series(item_map).reindex(counts.index.get_level_values(1)).to_numpy()
        unknown = np.isnan(rows) | np.isnan(cols)
        if unknown.any():
            h, p = counts.index[int(np.argmax(unknown))]
            raise ValueError(f"household {h} or product {p} was not given to the trainer")
        shape = (len(user_map), len(item_map))
        rows, cols = rows.astype(np.int32), cols.astype(np.int32)
        ones = np.ones(len(counts), dtype=np.float32)
        weights = (1.0 + np.log(counts.to_numpy())).astype(np.float32)
        return (
            sp.coo_matrix((ones, (rows, cols)), shape=shape),
            sp.coo_matrix((weights, (rows, cols)), shape=shape),
        )

    def refresh(
        self,
        purchases: pd.DataFrame,
        *,
        progress: bool = True,
        on_epoch: Callable[[], None] | None = None,
    ) -> HybridModel:
        """Continue on (more) history for ``settings.refresh_epochs``."""
        return self.fit(
            purchases, self.settings.refresh_epochs, progress=progress, on_epoch=on_epoch
        )


def _export(model, dataset, user_matrix: sp.csr_matrix, item_matrix: sp.csr_matrix) -> HybridModel:
    user_map, user_feature_map, item_map, _ = dataset.mapping()
    user_ids = np.array(sorted(user_map, key=user_map.get), dtype=np.int64)
    item_ids = np.array(sorted(item_map, key=item_map.get), dtype=np.int64)
    user_vectors = np.asarray(user_matrix @ model.user_embeddings, dtype=np.float32)
    user_biases = np.asarray(user_matrix @ model.user_biases, dtype=np.float32)
    item_vectors = np.asarray(item_matrix @ model.item_embeddings, dtype=np.float32)
    item_biases = np.asarray(item_matrix @ model.item_biases, dtype=np.float32)
    # Pure-feature embeddings (identity features excluded) let new households be scored.
    feature_index = {name: col for name, col in user_feature_map.items() if isinstance(name, str)}
    return HybridModel(
        user_ids=user_ids,
        item_ids=item_ids,
        user_vectors=user_vectors,
        user_biases=user_biases,
        item_vectors=item_vectors,
        item_biases=item_biases,
        # copies: the model may go on training (HybridTrainer.refresh) after this export
        feature_vectors=np.array(model.user_embeddings, dtype=np.float32),
        feature_biases=np.array(model.user_biases, dtype=np.float32),
        feature_index={str(k): int(v) for k, v in feature_index.items()},
    )
