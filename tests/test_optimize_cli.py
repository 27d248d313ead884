"""`wt-optimize` as users run it: a real kill and resume, and a search on 2 processes under torchrun (Gloo)."""
import json
import os
import signal
import subprocess
import sys
import time
import pytest
from pathlib import Path

from width_transfer.arch import Arch
from width_transfer.flops import arch_flops

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def argv(algorithm, tmp, name, *extra):
    return ["--algorithm", algorithm, "--arch", "resnet18", "--width", "0.25", "--dataset", "synthetic",
            "--preset", "smoke", "--results", str(tmp / name / "store"), "--work-dir", str(tmp / name / "work"),
            "--device", "cpu", *extra]


def record(tmp, name):
    (f,) = (tmp / name / "store").glob("*.json")
    return json.loads(f.read_text())


@pytest.mark.parametrize("algo, sets, ck", [("dmcp", ["epochs=3"], "optimize-*.pt"),
                                            ("morphnet", ["epochs=2", "probes=3", "strength=1000.0"], "optimize-*.pt"),
                                            # a narrower network, so the three runs take seconds
                                            ("autoslim", ["epochs=1", "bins=4"], "optimize-*-greedy.pt")])
def test_killed_search_resumes_where_it_stopped(tmp_path, algo, sets, ck):
    """Killed after its first checkpoint `ck`, a search started again ends as an uninterrupted one did
    (MorphNet: its strength sweep resumes inside a probe, each probe with its own checkpoint;
    AutoSlim: killed inside its greedy phase, which checkpoints every step)."""
    cmd = [sys.executable, "-m", "width_transfer.optimize"]
    sets = [x for s in sets for x in ("--set", s)]
    if algo == "autoslim": sets += ["--width", "0.125"]   # the last --width wins
    a = argv(algo, tmp_path, "whole", *sets)
    p = subprocess.run(cmd + a, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    whole = record(tmp_path, "whole")

    b = argv(algo, tmp_path, "killed", *sets)
    ck_dir = tmp_path / "killed" / "work" / "checkpoints"
    proc = subprocess.Popen(cmd + b, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    t0 = time.time()
    while not list(ck_dir.glob(ck)) and proc.poll() is None and time.time() - t0 < 300: time.sleep(0.05)
    assert proc.poll() is None, "the search ended before its first checkpoint: nothing was killed"
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert not list((tmp_path / "killed" / "store").glob("*.json"))        # killed: no record
    p = subprocess.run(cmd + b, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "resumed after epoch" in p.stdout
    again = record(tmp_path, "killed")
    assert again["resumed_after_epoch"] >= 1
    if algo == "autoslim":   # the greedy phase's checkpoint goes with the supernet's once stored
        assert not list(ck_dir.glob("*.pt"))
    for k in ("arch", "cost_flops", "trace", "config"):
        assert again[k] == whole[k], k


def test_search_on_two_processes(tmp_path):
    one = subprocess.run([sys.executable, "-m", "width_transfer.optimize"] + argv("autoslim", tmp_path, "one"),
                         capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "width_transfer.optimize"] + argv("autoslim", tmp_path, "two"),
                       capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("record ") == 1                                   # rank 0 reports and writes, once
    r1, r2 = record(tmp_path, "one"), record(tmp_path, "two")
    assert r2["world_size"] == 2 and r2["config"]["world_size"] == 2 and r1["config"]["world_size"] == 1
    # the 2 processes together trained as many images through the same sub-networks as one process did
    train_cost = lambda r: [t["cost_flops"] for t in r["trace"] if "epoch" in t][-1]
    assert r2["train_images"] == r1["train_images"] and train_cost(r2) == train_cost(r1)
    # every greedy candidate was scored once, on one of the processes, and counted once
    end = r2["trace"][-1]
    assert r2["eval_images"] == sum(t["candidates"] for t in r2["trace"] if "step" in t) * (end["calib_images"] + end["score_images"])
    arch = Arch(**r2["arch"]).validate()
    assert abs(arch_flops(arch, 28) / r2["config"]["target_flops"] - 1) <= 0.01
    assert [t["step"] for t in r2["trace"] if "step" in t] == list(range(1, 1 + sum("step" in t for t in r2["trace"])))


def test_image_folder_from_the_command_line(tmp_path):
    from PIL import Image
    import torch
    g = torch.Generator().manual_seed(0)
    for c in range(3):
        (tmp_path / "data" / "train" / f"c{c}").mkdir(parents=True)
        for k in range(16):
            img = (torch.rand(3, 36, 36, generator=g) * 80 + c * 80).byte().permute(1, 2, 0).numpy()
            Image.fromarray(img).save(tmp_path / "data" / "train" / f"c{c}" / f"{k}.png")
    a = argv("morphnet", tmp_path, "folder", "--set", "batch_size=8", "--workers", "0")
    a[a.index("--dataset") + 1] = "imagefolder"
    a[a.index("--width") + 1] = "0.125"
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", *a, "--resolution", "32",
                        "--data-root", str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    r = record(tmp_path, "folder")
    arch = Arch(**r["arch"]).validate()
    assert arch.num_classes == 3 and arch.in_channels == 3 and r["config"]["resolution"] == 32 and r["config"]["images"] == 48
    assert abs(arch_flops(arch, 32) / r["config"]["target_flops"] - 1) <= 0.01
    missing = subprocess.run([sys.executable, "-m", "width_transfer.optimize", *a], capture_output=True, text=True,
                             cwd=ROOT, env=ENV, timeout=600)
    assert missing.returncode != 0 and "imagefolder needs --data-root" in missing.stderr


import pytest  # noqa: E402


@pytest.mark.parametrize("extra,message", [
    (["--algorithm", "dmcp", "--target-flops", "1e12"], "target_flops 1,000,000,000,000 is outside what dmcp can reach"),
    (["--target-flops", "1e12"], "morphnet's largest network would need about"),   # MorphNet grows: memory bounds it
    (["--target-flops", "nan"], "--target-flops must be a finite number > 0, got nan"),
    (["--width", "1e4"], "would need about"),
    (["--width", "0"], "--width must be a finite number > 0"),
    (["--resolution", "0"], "--resolution must be an integer > 0, got 0"),
    (["--data-fraction", "0"], "data fraction must be in (0, 1]"),
    (["--set", "lr=NaN"], "setting lr must be a finite number, got nan"),
    (["--set", "lr=fast"], "setting lr must be a finite number, got 'fast'"),
    (["--set", "epochs=0"], "epochs and batch_size must be >= 1"),
    (["--divisor", "0"], "--divisor must be an integer >= 1"),
    (["--work-dir", "/dev/null/work"], "work directory /dev/null/work/checkpoints is not writable"),
    (["--results", "/dev/null/store"], "results directory /dev/null/store is not writable"),
])
def test_bad_values_one_line_exit_2_nothing_written(tmp_path, extra, message):
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", *argv("morphnet", tmp_path, "bad"), *extra],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    assert message in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.stderr.startswith("wt-optimize: error: ") and len(p.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "bad").rglob("*.json")) and not list((tmp_path / "bad").rglob("*.pt"))


def test_store_that_is_a_file_fails_before_the_search(tmp_path):
    from width_transfer.arch import base_arch, scale_width
    from width_transfer.data import synthetic
    from width_transfer.optimize import optimize
    f = tmp_path / "store.json"
    f.write_text("{}")
    t0 = time.time()
    with pytest.raises(ValueError, match="is not writable"):
        optimize("morphnet", scale_width(base_arch("resnet18", 10, 1, True), 0.25), synthetic(64), results=f,
                 epochs=50, batch_size=32)
    assert time.time() - t0 < 10                     # refused before 50 epochs, not after


def test_edited_search_record_is_refused(tmp_path):
    a = argv("morphnet", tmp_path, "edit", "--set", "epochs=1")
    subprocess.run([sys.executable, "-m", "width_transfer.optimize", *a], check=True, capture_output=True, env=ENV)
    (f,) = (tmp_path / "edit" / "store").glob("*.json")
    rec = json.loads(f.read_text())
    rec["cost_flops"] //= 10                          # an edited overhead
    f.write_text(json.dumps(rec))
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", *a], capture_output=True, text=True, env=ENV)
    assert p.returncode == 2 and "do not match its checksum" in p.stderr and str(f) in p.stderr, p.stderr[-2000:]


def search_file(tmp, **data):
    "A `wt-optimize --config` file of a smoke search (as runs.search writes it) and its config."
    from width_transfer.arch import base_arch, scale_width
    from width_transfer.optimize import load_search_data, search_config, write_search_file
    spec = dict(dataset="synthetic", root=None, resolution=28, fraction=0.5, seed=0)
    config = search_config("slimming", scale_width(base_arch("resnet18", 10, 1, True), 0.25),
                           load_search_data(**spec), seed=4, device="cpu", epochs=1, batch_size=32)
    return write_search_file(tmp / "search.json", config, {**spec, **data}), config


def where(tmp, name):
    return ["--results", str(tmp / name / "store"), "--work-dir", str(tmp / name / "work"), "--device", "cpu"]


def test_config_file_runs_the_parents_config(tmp_path):
    from width_transfer.results import config_hash
    f, config = search_file(tmp_path)
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", "--config", str(f), *where(tmp_path, "cfg")],
                       capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    rec = record(tmp_path, "cfg")
    assert rec["config"] == config and config_hash(rec["config"]) == config_hash(config)
    assert (tmp_path / "cfg" / "store" / f"{config_hash(config)}.json").exists()   # named by the parent's hash
    assert f"record {tmp_path / 'cfg' / 'store' / config_hash(config)}.json" in p.stdout


def test_config_file_for_other_data_is_refused_before_any_work(tmp_path):
    f, config = search_file(tmp_path, fraction=0.25)      # the file loads other images than the config's
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", "--config", str(f), *where(tmp_path, "bad")],
                       capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stderr.startswith("wt-optimize: error: --config: the images loaded as its file says"), p.stderr
    assert f"the config was made for images with fingerprint {config['data']}" in p.stderr
    assert "fraction 0.25" in p.stderr and "write the file again" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert not list((tmp_path / "bad").rglob("*.json")) and not list((tmp_path / "bad").rglob("*.pt"))


@pytest.mark.parametrize("argv,message", [
    (lambda f, w: ["--config", f, *w, "--seed", "3"], "--seed cannot be given with --config"),
    (lambda f, w: ["--config", f, *w, "--algorithm", "dmcp", "--set", "lr=1"],
     "--algorithm, --set cannot be given with --config"),
    (lambda f, w: ["--config", f, *w, "--data-root", "/data", "--resolution", "14"],
     "--data-root, --resolution cannot be given with --config"),
    (lambda f, w: ["--config", f, *w[2:]], "--config needs --results"),
    (lambda f, w: ["--config", f, *w, "--workers", "-1"], "--workers must be an integer >= 0"),
    (lambda f, w: w, "--algorithm is required (one of dmcp, autoslim, morphnet, slimming), unless --config"),
], ids=["seed", "algorithm-set", "data", "no-results", "workers", "neither"])
def test_config_file_misuse_one_line_exit_2(tmp_path, argv, message):
    f, config = search_file(tmp_path)
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", *argv(str(f), where(tmp_path, "bad"))],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stderr.startswith("wt-optimize: error: ") and message in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "bad").rglob("*.json")) and not list((tmp_path / "bad").rglob("*.pt"))


def test_edited_config_file_is_refused(tmp_path):
    f, config = search_file(tmp_path)
    d = json.loads(f.read_text())
    d["config"]["seed"] = 5                              # edited after runs.search wrote it
    f.write_text(json.dumps(d))
    p = subprocess.run([sys.executable, "-m", "width_transfer.optimize", "--config", str(f), *where(tmp_path, "bad")],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 2 and "its config does not match its hash" in p.stderr, p.stderr[-2000:]
    assert not (tmp_path / "bad").exists() or not list((tmp_path / "bad").rglob("*.json"))
