"""On every built-in family the traced channel groups (Torch-Pruning's dependency graph) are exactly the
family's own `Arch.tied_groups()`, and the traced MACs polynomial equals the family's count (issue 18)."""
import pytest
import torch

from width_transfer.arch import FAMILIES, base_arch
from width_transfer.channels import channel_layers
from width_transfer.flops import count_flops
from width_transfer.models import build_model
from width_transfer.trace import trace


@pytest.mark.parametrize("name", list(FAMILIES))
def test_traced_groups_are_the_built_in_ones(name):
    a = base_arch(name, num_classes=10, small_input=True)
    m = build_model(a)
    names = {mod: n for n, mod in m.named_modules()}
    index = {names[l.conv]: l.index for l in channel_layers(m, a)}
    cg = trace(m, torch.zeros(1, 3, 32, 32))
    got = sorted(sorted(index[n] for n in g.outs if n in index) for g in cg.groups)
    assert got == sorted(map(sorted, a.tied_groups()))
    assert abs(cg.flops(cg.widths) / count_flops(a, 32) - 1) <= 1e-3
