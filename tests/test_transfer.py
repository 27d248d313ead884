"""Projection and extrapolation on hand-worked cases, and FLOPs matching across networks."""
import pytest

from width_transfer.arch import NETWORKS, base_arch, scale_depth, scale_width
from width_transfer.flops import count_flops, match_flops
from width_transfer.transfer import Projection, extrapolate, project, width_multipliers


def test_stacking_hand_worked_resnet50():
    # target: resnet50 at depth 1 ([3, 4, 6, 3]); source: depth 0.5 -> [2, 2, 3, 2], width 0.5
    tgt = base_arch("resnet50", 10, 3, True)
    src = project(tgt, Projection(width=0.5, depth=0.5))
    assert src.depths() == [2, 2, 3, 2]
    # stage 3 (index 2) of the source: conv1 multipliers 0.5, 1.0, 2.0 (relative to the source base)
    st = [list(map(list, s)) for s in src.stages]
    st[2][0][0], st[2][1][0], st[2][2][0] = 64, 128, 256          # base conv1 width there is 128
    opt = src.replace(stages=st).validate()
    mult = width_multipliers(opt, src)
    assert mult[1 + 3 * 2 + 3 * 2] == 0.5                           # stage 3 block 0 conv1
    last = extrapolate(opt, src, tgt, "last", resolution=32)
    avg = extrapolate(opt, src, tgt, "average", resolution=32)
    for ex in (last, avg):
        assert ex.depths() == tgt.depths()
        assert abs(count_flops(ex, 32) / count_flops(tgt, 32) - 1) <= 0.01
    # the three added blocks of stage 3: last -> 2.0 x, average -> (1.0 + 2.0) / 2 = 1.5 x the block-1 width ratio
    c_last = [b[0] for b in last.stages[2]]
    c_avg = [b[0] for b in avg.stages[2]]
    assert c_last[3] == c_last[4] == c_last[5] == c_last[2]
    assert abs(c_avg[3] / c_avg[1] - 1.5) < 0.03 and c_avg[3] == c_avg[5]
    assert abs(c_last[0] / c_last[1] - 0.5) < 0.03                 # source blocks keep their own ratios


@pytest.mark.parametrize("name", NETWORKS)
def test_extrapolated_flops_match_target(name):
    tgt = base_arch(name, 10, 3, True)
    src = project(tgt, Projection(width=0.5, depth=0.5))
    ws = src.widths()
    for g in src.tied_groups():                   # a non-uniform "optimized" source: alternate 0.6x / 1.4x
        for i in g:
            ws[i] = max(1, round(ws[i] * (0.6 if g[0] % 2 else 1.4)))
    opt = src.with_widths(ws).validate()
    for stacking in ("last", "average"):
        ex = extrapolate(opt, src, tgt, stacking, resolution=32)
        ex.validate()
        assert ex.depths() == tgt.depths()
        assert abs(count_flops(ex, 32) / count_flops(tgt, 32) - 1) <= 0.01


def test_mobilenet_first_and_last_stage_untouched_by_depth():
    mb = base_arch("mobilenetv2")
    for d in (0.25, 0.5, 2, 4):
        dep = scale_depth(mb, d).depths()
        assert dep[0] == 1 and dep[-1] == 1
    assert scale_depth(mb, 4).depths() == [1, 8, 12, 16, 12, 12, 1]


def test_match_flops_divisor_and_ties():
    a = base_arch("mobilenetv2", 10, 1, True)
    t = count_flops(a, 28) * 1.5
    m = match_flops(a, t, 28, tol=0.02, divisor=8)
    assert all(w % 8 == 0 for w in m.widths())
    assert abs(count_flops(m, 28) / t - 1) <= 0.02
    m.validate()


def test_extrapolate_rejects_mismatched_networks():
    with pytest.raises(ValueError, match="networks differ"):
        extrapolate(base_arch("resnet18"), base_arch("resnet18"), base_arch("resnet50"))
    with pytest.raises(ValueError, match="depths"):
        extrapolate(base_arch("resnet18"), scale_depth(base_arch("resnet18"), 2), base_arch("resnet18"))
    with pytest.raises(ValueError, match="stacking must be one of"):
        extrapolate(base_arch("resnet18"), base_arch("resnet18"), base_arch("resnet18"), stacking="mean")
    with pytest.raises(ValueError, match="too small"):
        extrapolate(base_arch("resnet18"), base_arch("resnet18"), base_arch("resnet18"), resolution=8)
