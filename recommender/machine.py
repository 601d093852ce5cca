"""What an evaluation's figures depend on besides the code and the data, written into its
report so that two runs on two machines can be compared.

Every method here is deterministic on one machine, but figures used to move between machines,
for three reasons (measured on 2026-12-07):

- LightFM compiled itself for the CPU it was installed on (``-march=native -ffast-math``: other
  instructions, other float sums). The Makefile now builds it without those flags.
- On a CPU with AVX-512, numpy 1.23 computes float64 ``exp``, ``log``, ``log1p``, ``expm1`` and
  ``sin`` with Intel's SVML, whose last bits differ from the other machines' results. The
  evaluation and the benchmarks re-run themselves with those paths off
  (:func:`rerun_with_portable_floats`): with them off, an Intel Xeon gave the timing section
  of an AMD EPYC's report to the last digit (6,170 figures), against 0.7403 for 0.7406 with
  them on.
- OpenBLAS picks its kernels by CPU (SkylakeX on that Xeon), and ``implicit``'s ALS factors
  came out different with SkylakeX's and with Haswell's. The re-run pins the Haswell kernels
  on every CPU with AVX2 and FMA.

If two reports carry the same LightFM fingerprints, every LightFM float was the same in both
runs.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from recommender.hybrid import HybridModel


def fingerprint(model: HybridModel) -> str:
    """A short hash of every learned array of a LightFM model: equal hashes, equal floats."""
    digest = hashlib.sha256()
    for array in (
        model.user_ids,
        model.item_ids,
        model.user_vectors,
        model.user_biases,
        model.item_vectors,
        model.item_biases,
        model.feature_vectors,
        model.feature_biases,
    ):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's model name (Linux), or None where the file or the line is missing."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return None


def blas_kernels() -> list[str]:
    """The kernel set each loaded OpenBLAS chose (numpy's and scipy's each bundle one)."""
    from threadpoolctl import threadpool_info

    return sorted(
        {
            str(pool.get("architecture"))
            for pool in threadpool_info()
            if pool.get("internal_api") == "openblas"
        }
    )


def _numpy_cpu() -> tuple[list[str], dict[str, bool]]:
    """numpy's dispatch targets and the CPU features it found (and left on)."""
    try:
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy 2 moved them; Rasa pins 1.23
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return list(__cpu_dispatch__), dict(__cpu_features__)


def numpy_avx512() -> list[str]:
    """numpy's AVX-512 code paths this process uses (empty where the CPU has none or they are
    turned off)."""
    dispatch, features = _numpy_cpu()
    return [f for f in dispatch if f.startswith("AVX512") and features.get(f)]


#: OpenBLAS's kernel set for every CPU with AVX2 and FMA (Intel since 2013, AMD since 2015).
BLAS_KERNELS = "Haswell"


def has_avx2() -> bool:
    """Whether the CPU can run OpenBLAS's Haswell kernels (numpy's own CPU detection)."""
    features = _numpy_cpu()[1]
    return bool(features.get("AVX2") and features.get("FMA3"))


def portable_floats_env(
    environ: Mapping[str, str], paths: list[str] | None = None, avx2: bool | None = None
) -> dict[str, str] | None:
    """The environment to run in for machine-independent floats, or None when this process
    already has them (``paths``: numpy's AVX-512 paths in use, ``avx2``: whether OpenBLAS can
    use the Haswell kernels; by default this process's). Settings already made are left as
    they are: ``NPY_DISABLE_CPU_FEATURES`` (empty keeps numpy's fastest paths) and
    ``OPENBLAS_CORETYPE``."""
    changes = {}
    paths = numpy_avx512() if paths is None else paths
    if "NPY_DISABLE_CPU_FEATURES" not in environ and paths:
        changes["NPY_DISABLE_CPU_FEATURES"] = " ".join(paths)
    avx2 = has_avx2() if avx2 is None else avx2
    if "OPENBLAS_CORETYPE" not in environ and avx2:
        changes["OPENBLAS_CORETYPE"] = BLAS_KERNELS
    return {**environ, **changes} if changes else None


def rerun_with_portable_floats(module: str, argv: list[str]) -> None:
    """Replaces this process with ``python -m module *argv`` without numpy's AVX-512 paths and
    with OpenBLAS's Haswell kernels; returns where there is nothing to do. For command-line
    entry points only: numpy and OpenBLAS read these settings once, when they are loaded."""
    env = portable_floats_env(os.environ)
    if env is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, "-m", module, *argv], env)


def describe(models: dict[str, HybridModel]) -> dict:
    """The report's ``machine`` entry: CPU, numpy's AVX-512 paths, OpenBLAS's kernels and
    each LightFM fingerprint."""
    return {
        "cpu": cpu_model(),
        "numpy_avx512": numpy_avx512(),
        "openblas_kernels": blas_kernels(),
        "lightfm_fingerprints": {name: fingerprint(model) for name, model in models.items()},
    }
