"""The paper pipeline end to end: trainings launched under torchrun, papermill notebooks with injected parameters."""
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from width_transfer.scales import SCALES, network
from width_transfer.runs import train, search_key
from width_transfer.results import load_results, config_hash
from width_transfer.transfer import Projection

ROOT = Path(__file__).resolve().parents[1]
SMOKE = SCALES["smoke"]


def test_train_under_torchrun_once(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    arch = network(SMOKE, "resnet18", SMOKE.targets["resnet18"])
    logs = tmp_path / "logs"
    rec = train(SMOKE, arch, SMOKE.targets["resnet18"], seed=3, results=tmp_path / "store", nproc=2, log_dir=logs)
    assert rec["world_size"] == 2 and rec["config"]["seed"] == 3 and 0 <= rec["top1"] <= 100
    assert len(list(logs.glob("train-*.log"))) == 1
    for f in logs.glob("*"): f.unlink()
    t0 = time.time()
    again = train(SMOKE, arch, SMOKE.targets["resnet18"], seed=3, results=tmp_path / "store", nproc=2, log_dir=logs)
    assert time.time() - t0 < 5 and not list(logs.glob("*"))   # found in the store: no process started
    assert again["top1"] == rec["top1"] and len(load_results(tmp_path / "store")) == 1


def test_failed_training_says_where_its_log_is(tmp_path, monkeypatch):
    arch = network(SMOKE, "resnet18", Projection(width=0.125))
    monkeypatch.setenv("WT_WORK", "/dev/null/work")     # the launched process cannot write its checkpoints
    with pytest.raises(RuntimeError, match=r"(?s)train-\w+\.log.*work directory /dev/null/work/checkpoints is not writable"):
        train(SMOKE, arch, Projection(width=0.125), results=tmp_path / "store", nproc=1, log_dir=tmp_path / "logs")


def test_missing_data_root_stops_before_launching(tmp_path):
    scale = dataclasses.replace(SMOKE, dataset="cifar10")   # needs a data root that is not given
    arch = network(scale, "resnet18", Projection(width=0.125))
    with pytest.raises(ValueError, match="cifar10 needs --data-root"):
        train(scale, arch, Projection(width=0.125), results=tmp_path / "store", nproc=1, log_dir=tmp_path / "logs")
    assert not (tmp_path / "logs").exists()


def papermill(nb, out, *params):
    cmd = [sys.executable, "-m", "papermill", "-k", "python3", str(ROOT / "nbs" / "paper" / f"{nb}.ipynb"), str(out)]
    for k, v in params: cmd += ["-p", k, str(v)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-3000:]


def test_paper_notebook_with_papermill_parameters(tmp_path):
    store, fig = tmp_path / "store", tmp_path / "figs" / "fig8"
    papermill("fig8", tmp_path / "out.ipynb", ("save_to", fig), ("results", store))
    df = pd.read_csv(fig.with_suffix(".csv"))
    assert list(df.kind) == ["uniform", "transfer", "direct"] and fig.with_suffix(".png").stat().st_size > 10_000
    n = len(list(store.glob("*.json")))
    recs = load_results(store)
    assert (recs.kind == "optimize").sum() == 2                       # direct + transfer search, in the given store
    assert (recs.kind == "train").sum() == df.arch_json.nunique()     # one training per distinct width vector
    papermill("fig8", tmp_path / "out2.ipynb", ("save_to", fig), ("results", store))
    assert len(list(store.glob("*.json"))) == n   # the second run only redraws
    assert pd.read_csv(fig.with_suffix(".csv")).top1_mean.tolist() == df.top1_mean.tolist()


def test_search_under_torchrun_once(tmp_path, monkeypatch):
    from width_transfer.runs import search
    monkeypatch.setenv("OMP_NUM_THREADS", "1"); monkeypatch.setenv("WT_WORK", str(tmp_path / "work"))
    two = dataclasses.replace(SMOKE, nproc=2)
    logs = tmp_path / "logs"
    r = search(two, "slimming", "resnet18", SMOKE.targets["resnet18"], seed=2, results=tmp_path / "store", log_dir=logs)
    assert r.record["world_size"] == 2 and r.record["config"]["world_size"] == 2 and r.record["config"]["seed"] == 2
    assert len(list(logs.glob("optimize-*.log"))) == 1 and not list((tmp_path / "work" / "checkpoints").glob("*.pt"))
    # the processes ran the parent's config, handed over as a file: the record has the parent's key
    key = config_hash(search_key(two, "slimming", "resnet18", SMOKE.targets["resnet18"], seed=2))
    assert (logs / f"optimize-{key}.json").exists() and (tmp_path / "store" / f"{key}.json").exists()
    assert config_hash(r.record["config"]) == key
    for f in logs.glob("*"): f.unlink()
    again = search(two, "slimming", "resnet18", SMOKE.targets["resnet18"], seed=2, results=tmp_path / "store", log_dir=logs)
    assert not list(logs.glob("*")) and again.arch == r.arch   # found in the store: no process started
    one = search(SMOKE, "slimming", "resnet18", SMOKE.targets["resnet18"], seed=2, results=tmp_path / "store")
    assert one.record["config"]["world_size"] == 1 and len(load_results(tmp_path / "store")) == 2


def test_diverged_search_under_torchrun_is_recorded(tmp_path, monkeypatch):
    from width_transfer.runs import search
    from width_transfer.results import Diverged
    monkeypatch.setenv("OMP_NUM_THREADS", "1"); monkeypatch.setenv("WT_WORK", str(tmp_path / "work"))
    two, logs = dataclasses.replace(SMOKE, nproc=2), tmp_path / "logs"
    bad = dict(lr=1e12, lr_min=1e12)
    with pytest.raises(Diverged, match="the supernet diverged") as e:
        search(two, "dmcp", "resnet18", SMOKE.targets["resnet18"], results=tmp_path / "store", log_dir=logs, **bad)
    recs = load_results(tmp_path / "store")
    assert list(recs.kind) == ["diverged"] and Path(e.value.record) == Path(recs.path[0])   # rank 0 recorded it, once
    for f in logs.glob("*"): f.unlink()
    with pytest.raises(Diverged, match="diverged when it ran"):      # a result: not run again
        search(two, "dmcp", "resnet18", SMOKE.targets["resnet18"], results=tmp_path / "store", log_dir=logs, **bad)
    assert not list(logs.glob("*"))


def test_uncached_search_builds_its_config_once(tmp_path, monkeypatch):
    import width_transfer.optimize as optimize_mod
    import width_transfer.runs as runs_mod
    monkeypatch.setenv("OMP_NUM_THREADS", "1"); monkeypatch.setenv("WT_WORK", str(tmp_path / "work"))
    built, build = [], optimize_mod.search_config

    def counted(*a, **k):
        built.append(a[0])
        return build(*a, **k)
    monkeypatch.setattr(optimize_mod, "search_config", counted)   # every place that could build one
    monkeypatch.setattr(runs_mod, "search_config", counted)
    point = SMOKE.targets["resnet18"]
    r = runs_mod.search(SMOKE, "slimming", "resnet18", point, results=tmp_path / "store", device="cpu")
    assert built == ["slimming"]                                  # built once, in _search_setup, and run as it is
    key = runs_mod.search_key(SMOKE, "slimming", "resnet18", point, device="cpu")
    assert r.record["config"] == key and [p.stem for p in (tmp_path / "store").glob("*.json")] == [config_hash(key)]
    built.clear()
    again = runs_mod.search(SMOKE, "slimming", "resnet18", point, results=tmp_path / "store", device="cpu")
    assert built == ["slimming"] and again.arch == r.arch        # cached: built to look it up, nothing run


def test_search_setup_is_one_frozen_object():
    from width_transfer.runs import SearchSetup, _search_setup
    st = _search_setup(SMOKE, "dmcp", "resnet18", SMOKE.targets["resnet18"], 0, None, "cpu", 2, {"divisor": 2})
    assert isinstance(st, SearchSetup) and st.nproc == 2 and st.config["world_size"] == 2
    assert st.config["divisor"] == 2 and "divisor" not in st.config["settings"]
    assert st.data_spec == dict(dataset="synthetic", root=None, resolution=28, fraction=1.0, seed=0)
    assert st.key == config_hash(st.config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.nproc = 1


def test_fig10_only_cached_draws_what_the_store_holds(tmp_path):
    "With only_cached, fig 10 draws the searches the store holds and names the others 'not run'."
    from width_transfer.study import resolution_of, source_name
    store, fig = tmp_path / "store", tmp_path / "figs" / "fig10"
    papermill("fig10", tmp_path / "empty.ipynb", ("save_to", fig), ("results", store), ("only_cached", True))
    empty = pd.read_csv(fig.with_suffix(".csv"))
    assert empty.status.tolist() == ["not run"] and empty.source.tolist() == ["direct"]
    assert not list(store.glob("*.json"))   # nothing ran
    papermill("fig10", tmp_path / "full.ipynb", ("save_to", fig), ("results", store))
    full = pd.read_csv(fig.with_suffix(".csv")).set_index("source")
    point = SMOKE.points("resnet18", "width")[0]
    src = source_name("width", SMOKE.grids["width"][0], resolution_of(SMOKE, point))
    cfg = search_key(SMOKE, "morphnet", "resnet18", point, seed=0)   # the device the notebook uses
    (store / f"{config_hash(cfg)}.json").rename(tmp_path / "aside.json")   # as if not searched yet
    papermill("fig10", tmp_path / "part.ipynb", ("save_to", fig), ("results", store), ("only_cached", True))
    part = pd.read_csv(fig.with_suffix(".csv")).set_index("source")
    assert part.loc[src, "status"] == "not run" and full.loc[src, "status"] == "ok"
    rest = full.index.drop(src)
    assert (part.loc[rest, "status"] == "ok").all()
    for col in ("to_direct_s0", "noise_floor"):   # the rest is drawn as before
        pd.testing.assert_series_equal(part.loc[rest, col], full.loc[rest, col])
    assert part.noise_floor.notna().sum() == len(rest)
    searched = full.drop("start only")   # every MorphNet search's row says its sparsity
    assert searched.reached.notna().all() and searched.alive_fraction.between(0, 1).all()
