"""The training engine end to end: CLI, torchrun with 2 Gloo processes, kill and resume, bad input."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from width_transfer.results import load_checkpoint, load_results

PY = sys.executable
BASE = ["--dataset", "synthetic", "--arch", "resnet18", "--width", "0.125", "--preset", "smoke",
        "--batch-size", "32", "--lr", "0.2", "--data-fraction", "1", "--quiet"]


def env(**kw):
    e = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    e.update({k: str(v) for k, v in kw.items()})
    return e


def train(tmp, *extra, check=True, **envkw):
    cmd = [PY, "-m", "width_transfer.train", *BASE, "--results", str(tmp / "results"),
           "--work-dir", str(tmp / "work"), *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(**envkw), timeout=600)
    if check:
        assert p.returncode == 0, p.stderr[-3000:]
    return p


def records(tmp):
    return [json.loads(p.read_text()) for p in sorted((tmp / "results").glob("*.json"))]


def test_cli_trains_once_and_records(tmp_path):
    p = train(tmp_path, "--epochs", "2")
    assert "top-1" in p.stdout and "record" in p.stdout
    (rec,) = records(tmp_path)
    for k in ("top1", "train_loss", "val_loss", "train_flops", "forward_macs", "samples_seen", "wall_s",
              "package_version", "git_rev", "torch_version", "device", "config", "hash", "seed", "epochs"):
        assert k in rec, k
    assert rec["train_flops"] == 3 * rec["forward_macs"] * rec["samples_seen"]
    mtime = (tmp_path / "results" / f"{rec['hash']}.json").stat().st_mtime
    p2 = train(tmp_path, "--epochs", "2")
    assert "already in the store" in p2.stdout and "epoch 1/2" not in p2.stdout
    assert (tmp_path / "results" / f"{rec['hash']}.json").stat().st_mtime == mtime
    df = load_results(tmp_path / "results")
    assert len(df) == 1 and df["top1"].iloc[0] == rec["top1"]


def test_torchrun_two_gloo_processes(tmp_path):
    cmd = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "width_transfer.train",
           *BASE, "--epochs", "3", "--results", str(tmp_path / "results"), "--work-dir", str(tmp_path / "work")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    (rec,) = records(tmp_path)                       # only rank 0 wrote
    assert rec["world_size"] == 2
    assert rec["val_images"] == 50                   # 10% of 512 (smoke), 25 per rank, summed
    assert rec["samples_seen"] == 3 * 2 * (256 // 16) * 16
    assert rec["top1"] > 50                          # it learned (chance is 10%)
    assert p.stdout.count("record ") == 1            # only rank 0 prints and writes


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(a, "--epochs", "6")
    # the same run in another store, killed with SIGKILL once its second checkpoint exists
    cmd = [PY, "-m", "width_transfer.train", *BASE, "--epochs", "6", "--results", str(b / "results"),
           "--work-dir", str(b / "work")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    ck_dir, deadline, killed_at = b / "work" / "checkpoints", time.time() + 300, None
    while time.time() < deadline and proc.poll() is None:
        cks = list(ck_dir.glob("*.pt")) if ck_dir.exists() else []
        if cks:
            try:
                epoch = load_checkpoint(cks[0])["epoch"]
            except Exception:
                epoch = 0
            if epoch >= 2:
                proc.send_signal(signal.SIGKILL)
                killed_at = epoch
                break
        time.sleep(0.05)
    proc.wait()
    assert killed_at is not None and killed_at < 6, "the run finished before it could be killed"
    assert not list((b / "results").glob("*.json"))  # a killed run leaves no record
    p = train(b, "--epochs", "6")
    assert "resuming" in p.stdout
    (ra,), (rb,) = records(a), records(b)
    assert ra["hash"] == rb["hash"]
    assert ra["top1"] == rb["top1"] and ra["train_loss"] == rb["train_loss"]
    wa, wb = load_checkpoint(ra["checkpoint"])["model"], load_checkpoint(rb["checkpoint"])["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("extra,envkw,message", [
    (["--dataset", "imagenet"], {}, "unknown dataset 'imagenet'"),
    (["--dataset", "fashion_mnist", "--data-root", "/nonexistent"], {}, "Fashion-MNIST not found in /nonexistent"),
    (["--arch", '{"name": "resnet18", "stem": 8, "stages": [[[8, 6]], [[16, 16]], [[32, 32]], [[64, 64]]], '
                '"in_channels": 1, "num_classes": 10, "small_input": true}'], {},
     "stage 1 block 0 has an identity shortcut joining input width 8 and output width 6"),
    (["--batch-size", "64"], {"WORLD_SIZE": 3}, "not divisible by the 3 processes"),
    (["--results", "/dev/null/results"], {}, "is not writable"),
    (["--work-dir", "/dev/null/work"], {}, "work directory /dev/null/work/checkpoints is not writable"),
    (["--epochs", "0"], {}, "--epochs must be an integer > 0, got 0"),
    (["--resolution", "0"], {}, "--resolution must be an integer > 0, got 0"),
    (["--batch-size", "0"], {}, "--batch-size must be an integer > 0, got 0"),
    (["--lr", "nan"], {}, "--lr must be a finite number > 0, got nan"),
    (["--wd", "inf"], {}, "--wd must be a finite number >= 0, got inf"),
    (["--width", "1e4"], {}, "would need about"),
    (["--preset", "huge"], {}, "invalid choice: 'huge'"),
])
def test_bad_input_stops_before_training(tmp_path, extra, envkw, message):
    p = train(tmp_path, "--epochs", "1", *extra, check=False, **envkw)
    assert p.returncode == 2, p.stderr[-2000:]
    assert message in p.stderr
    assert "epoch 1/1" not in p.stdout and "Traceback" not in p.stderr
    assert not list((tmp_path / "results").glob("*.json"))          # nothing written


def test_checkpoint_of_another_config_is_refused(tmp_path):
    train(tmp_path, "--epochs", "1")
    (ck,) = (tmp_path / "work" / "trained").glob("*.pt")
    before = ck.read_bytes()
    p = train(tmp_path / "other", "--epochs", "2", "--resume", str(ck), check=False)
    assert p.returncode == 2 and "belongs to another config" in p.stderr
    assert ck.read_bytes() == before


def test_arch_json_file_and_mismatched_dataset(tmp_path):
    from width_transfer.arch import base_arch, scale_width
    f = tmp_path / "arch.json"
    f.write_text(scale_width(base_arch("resnet18", 10, 1, True), 0.125).to_json())
    train(tmp_path, "--epochs", "1", "--arch", str(f))
    f.write_text(scale_width(base_arch("resnet18", 100, 3, True), 0.125).to_json())
    p = train(tmp_path, "--epochs", "1", "--arch", str(f), check=False)
    assert p.returncode == 2 and "synthetic has 1 and 10" in p.stderr


def test_finished_checkpoint_without_record_gives_the_record(tmp_path):
    train(tmp_path, "--epochs", "2")
    (rec,) = records(tmp_path)
    # killed between the last checkpoint and the record: the checkpoint is still where runs resume from
    ck = tmp_path / "work" / "checkpoints" / f"{rec['hash']}.pt"
    os.replace(rec["checkpoint"], ck)
    (tmp_path / "results" / f"{rec['hash']}.json").rename(tmp_path / "moved.json")
    p = train(tmp_path, "--epochs", "2")
    assert "resuming" in p.stdout
    (again,) = records(tmp_path)
    assert again["top1"] == rec["top1"] and again["samples_seen"] == rec["samples_seen"]


def test_a_record_moved_away_means_a_fresh_training(tmp_path):
    train(tmp_path, "--epochs", "1")
    (rec,) = records(tmp_path)
    assert not list((tmp_path / "work" / "checkpoints").glob("*.pt"))   # moved aside with the record
    assert Path(rec["checkpoint"]).parent.name == "trained"
    (tmp_path / "results" / f"{rec['hash']}.json").rename(tmp_path / "moved.json")
    p = train(tmp_path, "--epochs", "1")
    assert "resuming" not in p.stdout and "already in the store" not in p.stdout and "record" in p.stdout
    assert len(records(tmp_path)) == 1


def test_key_includes_processes(tmp_path):
    """The same flags on 1 and on 2 processes are two computations: the second trains, it is not the first's record."""
    train(tmp_path, "--epochs", "1")
    cmd = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "width_transfer.train",
           *BASE, "--epochs", "1", "--results", str(tmp_path / "results"), "--work-dir", str(tmp_path / "work")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0 and "already in the store" not in p.stdout, p.stderr[-2000:]
    assert sorted(r["config"]["world_size"] for r in records(tmp_path)) == [1, 2]


def test_key_includes_the_image_folder_content(tmp_path):
    from width_transfer.data import _identity
    from width_transfer.train import get_args_parser, make_config
    from width_transfer.results import config_hash
    for name, n in (("imgA", 2), ("imgB", 3)):
        for split in ("train", "val"):
            for c in ("a", "b"):
                d = tmp_path / name / split / c
                d.mkdir(parents=True)
                for i in range(n):
                    (d / f"{i}.png").write_bytes(b"not decoded here")
    key = lambda root: config_hash(make_config(get_args_parser().parse_args(
        ["--dataset", "imagefolder", "--data-root", str(root), "--arch", "resnet18", "--width", "0.125",
         "--resolution", "32", "--preset", "smoke"])))
    _identity.cache_clear()
    assert key(tmp_path / "imgA") != key(tmp_path / "imgB")


def test_edited_record_is_reported_not_used(tmp_path):
    train(tmp_path, "--epochs", "1")
    (f,) = (tmp_path / "results").glob("*.json")
    rec = json.loads(f.read_text())
    f.write_text(f.read_text().replace(f'"top1": {rec["top1"]}', '"top1": 97.1'))
    p = train(tmp_path, "--epochs", "1", check=False)
    assert p.returncode == 2 and f"{f}: its contents do not match its checksum" in p.stderr, p.stderr[-2000:]
    assert "97.1" in f.read_text() and len(list((tmp_path / "results").glob("*.json"))) == 1   # left as it was


@pytest.mark.parametrize("damage", ["truncate", "garbage", "zero_weights"])
def test_damaged_checkpoint_is_named_and_refused(tmp_path, damage):
    train(tmp_path, "--epochs", "1")
    (rec,) = records(tmp_path)
    ck = tmp_path / "work" / "checkpoints" / f"{rec['hash']}.pt"
    data = Path(rec["checkpoint"]).read_bytes()
    (tmp_path / "results" / f"{rec['hash']}.json").rename(tmp_path / "moved.json")
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = b"\x00garbage" * 100
    else:   # the weights zeroed in place, the checksum header left as it was
        c = load_checkpoint(rec["checkpoint"])
        import io
        buf = io.BytesIO()
        torch.save({**c, "model": {k: torch.zeros_like(v) for k, v in c["model"].items()}}, buf)
        data = data.partition(b"\n")[0] + b"\n" + buf.getvalue()
    ck.write_bytes(data)
    p = train(tmp_path, "--epochs", "1", check=False)
    assert p.returncode == 2 and f"checkpoint {ck}" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert len(p.stderr.strip().splitlines()) == 1 and "move it away" in p.stderr
    assert not list((tmp_path / "results").glob("*.json"))


def test_divergence_is_a_recorded_result(tmp_path):
    p = train(tmp_path, "--epochs", "1", "--lr", "1e30", check=False)
    assert p.returncode == 3 and "diverged" in p.stderr, p.stderr[-2000:]
    (f,) = (tmp_path / "results").glob("*.json")
    rec = json.loads(f.read_text(), parse_constant=lambda t: pytest.fail(f"{t} in a record"))   # strict JSON
    assert rec["kind"] == "diverged" and rec["config"]["run"]["lr"] == 1e30
    assert not list((tmp_path / "work" / "checkpoints").glob("*.pt"))                      # nothing of it kept
    p = train(tmp_path, "--epochs", "1", "--lr", "1e30", check=False)
    assert p.returncode == 3 and "diverged when it ran" in p.stderr and "epoch 1/1" not in p.stdout


def test_second_identical_run_refuses_while_the_first_runs(tmp_path):
    cmd = [PY, "-m", "width_transfer.train", *BASE, "--epochs", "30", "--results", str(tmp_path / "results"),
           "--work-dir", str(tmp_path / "work")]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        locks, deadline = tmp_path / "work" / "locks", time.time() + 120
        while time.time() < deadline and not (locks.exists() and list(locks.glob("*.lock"))):
            time.sleep(0.05)
        t0 = time.time()
        p = train(tmp_path, "--epochs", "30", check=False)
        assert p.returncode == 2 and "is already running" in p.stderr, p.stderr[-2000:]
        assert time.time() - t0 < 60 and "epoch 1/30" not in p.stdout
    finally:
        first.kill()
        first.wait()
    # the killed first run left its lock behind: it is stale, and the next run takes it over
    p = train(tmp_path, "--epochs", "1")
    assert "record" in p.stdout


def test_config_file_is_the_run_the_flags_describe(tmp_path):
    """`--config` (how experiments hand a run to torchrun) trains the run make_config built, under the same key."""
    from width_transfer.results import config_hash
    from width_transfer.train import get_args_parser, make_config
    cfg = make_config(get_args_parser().parse_args([*BASE, "--epochs", "1"]))
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps(cfg))

    def given(tmp, *extra):   # the config alone: what defines the run comes from the file
        cmd = [PY, "-m", "width_transfer.train", "--config", str(f), "--preset", "smoke", "--quiet",
               "--results", str(tmp / "results"), "--work-dir", str(tmp / "work"), *extra]
        return subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=600)
    p = given(tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    (rec,) = records(tmp_path)
    assert rec["hash"] == config_hash(cfg) and rec["config"] == cfg
    p = given(tmp_path / "e", "--epochs", "2", "--arch", "resnet50")   # would be ignored: refused
    assert p.returncode == 2 and "--arch, --epochs cannot be given with it" in p.stderr, p.stderr
    f.write_text(json.dumps({**cfg, "version": 99}))
    p = given(tmp_path / "v")
    assert p.returncode == 2 and "engine version 99" in p.stderr
    f.write_text(json.dumps({**cfg, "world_size": 2}))
    p = given(tmp_path / "w")
    assert p.returncode == 2 and "for 2 processes, this run has 1" in p.stderr
