"""The cpu scale's keys on each CPU class: ResNet18's training precision is the engine's choice
(`auto`), so an AVX512-BF16 CPU computes the keys of the committed bf16 trainings and a CPU
without native bf16 computes fp32 keys of its own; its searches are fixed to fp32 NCHW, so the
study's searches (made on AVX2 machines) are found on every CPU (nbs/17_scales). The CPU is
simulated by its flags."""
from pathlib import Path
from unittest import mock

import pytest
import torch

import width_transfer.device as device
from width_transfer.results import config_hash
from width_transfer.runs import search_key, train_argv
from width_transfer.scales import get_scale, network
from width_transfer.train import get_args_parser, make_config

STORE = Path(__file__).resolve().parents[1] / "results" / "cpu"
CPU = get_scale("cpu")
BF16 = {"avx2", "avx512f", "avx512_bf16"}   # the AVX512-BF16 EPYC of the committed records
AVX2 = {"avx2"}                              # an AVX2-only EPYC


def _train_key(flags, name="resnet18", seed=0):
    "(config of the uniform target's training at the cpu scale, its hash) on a CPU with `flags`."
    point = CPU.targets[name]
    with mock.patch.object(device, "cpu_flags", lambda *a: set(flags)):
        args = get_args_parser().parse_args(train_argv(CPU, network(CPU, name, point), point, seed))
        cfg = make_config(args, torch.device("cpu"), world=1)
    return cfg, config_hash(cfg)


def _search_key(flags, algorithm, seed, name="resnet18"):
    with mock.patch.object(device, "cpu_flags", lambda *a: set(flags)):
        cfg = search_key(CPU, algorithm, name, CPU.targets[name], seed=seed, device="cpu")
    return cfg, config_hash(cfg)


def test_bf16_cpu_finds_the_committed_resnet18_records():
    cfg, h = _train_key(BF16)
    assert (cfg["precision"], cfg["channels_last"]) == ("bf16", True)
    assert (STORE / f"{h}.json").exists(), f"uniform ResNet18 training {h} not in {STORE}"


@pytest.mark.parametrize("algorithm", ["dmcp", "morphnet", "autoslim"])
def test_resnet18_searches_are_fp32_nchw_on_every_cpu(algorithm):
    keys = set()
    for flags in (BF16, AVX2, {"avx2", "avx512f"}):
        cfg, h = _search_key(flags, algorithm, 0)
        assert (cfg["settings"]["precision"], cfg["channels_last"]) == ("fp32", False)
        keys.add(h)
    assert len(keys) == 1


def test_study_searches_made_on_avx2_are_found_on_a_bf16_cpu():
    for algorithm, seed in (("dmcp", 0), ("dmcp", 1), ("morphnet", 0), ("morphnet", 1)):
        cfg, h = _search_key(BF16, algorithm, seed)
        assert (STORE / f"{h}.json").exists(), f"{algorithm} direct seed {seed} ({h}) not in {STORE}"


def test_avx2_cpu_trains_resnet18_in_fp32_nchw():
    cfg, h = _train_key(AVX2)
    assert (cfg["precision"], cfg["channels_last"]) == ("fp32", False)


def test_pinned_networks_keep_their_key_on_every_cpu():
    for flags in (BF16, AVX2):
        assert _train_key(flags, "mobilenetv2")[0]["precision"] == "fp32"
        cfg, h = _search_key(flags, "dmcp", 1, "mobilenetv2")
        assert (cfg["settings"]["precision"], cfg["channels_last"]) == ("fp32", False)
        assert (STORE / f"{h}.json").exists()   # made on the AVX2 EPYC, found on both


def test_avx512_cpu_without_bf16_computes_fp32_keys_of_its_own():
    "The one loss of leaving ResNet18 to `auto`: such a CPU no longer finds the bf16 records."
    cfg, h = _train_key({"avx2", "avx512f"})
    assert (cfg["precision"], cfg["channels_last"]) == ("fp32", True)
    assert h != _train_key(BF16)[1]
