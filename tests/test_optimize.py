"""Cross-module checks of the optimizers: gates equal sliced networks, the store caches runs, results build."""
import pytest
import torch
from torchvision.ops import StochasticDepth

from width_transfer.arch import Arch, base_arch, scale_depth, scale_width
from width_transfer.data import synthetic
from width_transfer.flops import count_flops
from width_transfer.models import build_model
from width_transfer.optimize import ALGORITHMS, OPTIMIZER_PRESETS, optimize
from width_transfer.channels import Gates, group_widths, slice_weights
from width_transfer.results import load_results


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenetv2", "efficientnet_b3"])
@pytest.mark.parametrize("train", [False, True])
def test_gates_equal_the_sliced_network(name, train):
    torch.manual_seed(0)
    a = scale_width(base_arch(name, 10, 1, True), 0.25)
    sup = build_model(a)
    gates = Gates(sup, a)
    w = [max(1, x * 2 // 3) for x in group_widths(a)]
    sub_a = gates.sub_arch(w)
    sub = build_model(sub_a)
    slice_weights(sup, a, sub, sub_a)
    for m in (sup, sub):
        m.train(train)
        for d in m.modules():
            if isinstance(d, (torch.nn.Dropout, StochasticDepth)):
                d.p = 0.0
    gates.set_widths(w)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(sup(x), sub(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_store_caches_and_result_builds(tmp_path, algo):
    a = scale_width(base_arch("resnet18", 10, 1, True), 0.125)
    data = synthetic(256)
    r1 = optimize(algo, a, data, results=tmp_path, **OPTIMIZER_PRESETS["smoke"][algo])
    r2 = optimize(algo, a, data, results=tmp_path, **OPTIMIZER_PRESETS["smoke"][algo])
    assert r2.wall_s == r1.wall_s and r2.arch == r1.arch          # read from the store, not run again
    assert len(list(tmp_path.glob("*.json"))) == 1
    df = load_results(tmp_path, kind="optimize")
    rebuilt = Arch.from_json(df["arch_json"].iloc[0])
    assert rebuilt == r1.arch
    assert abs(count_flops(rebuilt, 28) / count_flops(a, 28) - 1) <= 0.01
    assert build_model(rebuilt)(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert r1.cost_flops > 0 and r1.record["config"]["settings"]["precision"] in ("fp32", "bf16")


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_efficientnet_squeeze_widths(algo):
    """EfficientNet-B3: every algorithm returns valid widths at the target FLOPs. DMCP and AutoSlim search the
    squeeze-excitation widths like any other width; MorphNet and slimming rank BN scales, and an SE squeeze has no
    BN, so before their final multiplier every SE width is still the one of the network they trained."""
    a = scale_depth(scale_width(base_arch("efficientnet_b3", 10, 1, True), 0.25), 0.3)   # 1-2 blocks per stage
    cfg = {**OPTIMIZER_PRESETS["smoke"][algo], **({"widen": 1.25} if algo == "autoslim" else {})}   # a shorter greedy path
    r = optimize(algo, a, synthetic(128), **cfg)
    assert abs(count_flops(r.arch, 28) / count_flops(a, 28) - 1) <= 0.01
    se = [i for i, n in enumerate(a.layer_names()) if n.endswith(".se")]
    assert len(se) == sum(a.depths())
    if algo in ("morphnet", "slimming"):
        key, trained = ("shrunk", a) if algo == "morphnet" else ("pruned", scale_width(a, r.record["config"]["settings"]["widen"]))
        before = Arch(**next(t[key] for t in r.trace if key in t))
        assert [before.widths()[i] for i in se] == [trained.widths()[i] for i in se]
        if algo == "slimming": assert before.widths() != trained.widths()   # the global ranking pruned BN widths


def _check_on(rank, world, init, out):
    import torch.distributed as dist
    from width_transfer.results import Diverged
    from width_transfer.search import Session
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        loss = float("nan") if rank == 1 else 0.5        # only the second process sees the NaN
        try:
            Session("cpu").check_finite(dict(loss=loss), "step 3")
            out.put((rank, "no error"))
        except Diverged as e:
            out.put((rank, str(e)))
    finally:
        dist.destroy_process_group()


def test_divergence_on_one_process_stops_every_process(tmp_path):
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    ps = [ctx.Process(target=_check_on, args=(r, 2, f"file://{tmp_path / 'init'}", out)) for r in range(2)]
    for p in ps: p.start()
    got = dict(out.get(timeout=120) for _ in ps)
    for p in ps: p.join(timeout=60)
    assert "loss is nan at step 3" in got[1], got
    assert "the loss of another process is nan at step 3" in got[0], got   # rank 0 does not wait in a collective
