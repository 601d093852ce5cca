"""LightFM gives the same model in every process, whatever the hash seed."""

from __future__ import annotations

import json
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


def test_fingerprint_tells_equal_floats_from_different_ones():
    """The report's fingerprint is how two machines' runs are compared: equal models hash
    equal, and one float's last bit is enough to tell them apart."""
    from dataclasses import replace

    from recommender.hybrid import train_hybrid
    from recommender.machine import fingerprint
    from tests.test_recommender import FAST, synthetic

    d = synthetic()
    model = train_hybrid(d.purchases, d.products, d.households, FAST.hybrid, progress=False)
    again = train_hybrid(d.purchases, d.products, d.households, FAST.hybrid, progress=False)
    assert fingerprint(model) == fingerprint(again)
    nudged = model.item_vectors.copy()
    nudged.flat[0] = np.nextafter(nudged.flat[0], nudged.dtype.type(np.inf))
    assert fingerprint(replace(model, item_vectors=nudged)) != fingerprint(model)


def test_cpu_model_reads_cpuinfo_and_tolerates_its_absence(tmp_path):
    from recommender.machine import cpu_model

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Some CPU @ 2.0GHz\n")
    assert cpu_model(info) == "Some CPU @ 2.0GHz"
    assert cpu_model(tmp_path / "missing") is None
    info.write_text("processor\t: 0\n")
    assert cpu_model(info) is None


def test_lightfm_is_built_for_any_x86_64_cpu():
    """`make venv` builds LightFM without its -march=native (see the Makefile): a native build
    on an AVX machine uses the 256-bit registers, whose float sums differ from other CPUs'."""
    import platform
    import shutil

    import lightfm._lightfm_fast_openmp as fast

    objdump = shutil.which("objdump")
    if platform.machine() != "x86_64" or objdump is None:
        import pytest

        pytest.skip("needs objdump on x86-64")
    code = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", fast.__file__],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "%ymm" not in code and "%zmm" not in code


def test_portable_floats_turn_off_exactly_the_avx512_paths_in_use():
    from recommender.machine import portable_floats_env

    env = {"PATH": "/bin"}
    assert portable_floats_env(env, paths=[], avx2=False) is None
    assert portable_floats_env(env, paths=[], avx2=True) == {
        "PATH": "/bin",
        "OPENBLAS_CORETYPE": "Haswell",
    }
    assert portable_floats_env(env, paths=["AVX512F", "AVX512_SKX"], avx2=True) == {
        "PATH": "/bin",
        "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512_SKX",
        "OPENBLAS_CORETYPE": "Haswell",
    }
    # settings of the user's own (empty: keep numpy's fastest paths) are left alone
    own = {**env, "NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": "SkylakeX"}
    assert portable_floats_env(own, paths=["AVX512F"], avx2=True) is None


def test_a_rerun_process_has_portable_floats_whatever_the_cpu(tmp_path):
    """What `python -m recommender.evaluate` and `python -m bench` do first: on a CPU with
    AVX-512 they replace themselves with a process without numpy's AVX-512 paths (whose float64
    exp and log differ from other machines' in the last bits), and on one with AVX2 with
    OpenBLAS's Haswell kernels; elsewhere they go on as they are."""
    (tmp_path / "probe_rerun.py").write_text(
        "import json, sys\n"
        "from recommender import machine\n"
        "machine.rerun_with_portable_floats('probe_rerun', sys.argv[1:])\n"
        "print(json.dumps([machine.numpy_avx512(), sys.argv[1:], machine.has_avx2(),"
        " machine.blas_kernels()]))\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    out = subprocess.run(
        [sys.executable, "-m", "probe_rerun", "--x", "1"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    avx512, argv, avx2, kernels = json.loads(out)
    assert avx512 == [] and argv == ["--x", "1"]
    if avx2:
        assert kernels == ["Haswell"]


def test_dash_train_parses_its_command_before_click_does():
    from shop.cli import _command

    assert _command(["train", "--only", "recommender"]) == "train"
    assert _command(["--database-url", "sqlite:///x.db", "train"]) == "train"
    assert _command(["--database-url=sqlite:///train.db", "serve"]) == "serve"
    assert _command(["-h"]) is None and _command([]) is None


def test_dash_train_fits_its_models_with_portable_floats(sqlite_demo_store):
    """`dash train` re-runs itself as the evaluation does, so that the models a shop serves
    come out the same on every machine, and says in the manifest how they were made."""
    from recommender.machine import has_avx2

    settings = sqlite_demo_store.settings
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
    }
    env.update(DASH_DATABASE_URL=settings.database_url, DASH_MODELS_DIR=str(settings.models_dir))
    subprocess.run(
        [sys.executable, "-m", "shop.cli", "train", "--only", "recommender"],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    machine = json.loads((settings.models_dir / "manifest.json").read_text())["machine"]
    assert machine["numpy_avx512"] == []
    if has_avx2():
        assert machine["openblas_kernels"] == ["Haswell"]
    assert len(machine["lightfm_fingerprints"]["all history"]) == 16
