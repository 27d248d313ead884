"""Our builders against torchvision: parameters, state dicts, outputs and thop FLOPs."""
import random

import pytest
import torch
import torchvision

from width_transfer.arch import NETWORKS, base_arch, scale_depth, scale_width
from width_transfer.flops import count_flops, thop_flops
from width_transfer.models import build_model

TV = {"resnet18": torchvision.models.resnet18, "resnet34": torchvision.models.resnet34, "resnet50": torchvision.models.resnet50,
      "resnet101": torchvision.models.resnet101, "mobilenetv2": torchvision.models.mobilenet_v2,
      "efficientnet_b3": torchvision.models.efficientnet_b3}
PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "resnet101": 44_549_160,
          "mobilenetv2": 3_504_872, "efficientnet_b3": 12_233_232}


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", NETWORKS)
def test_width1_is_torchvision(name):
    ours, tv = build_model(base_arch(name)), TV[name]()
    assert n_params(ours) == n_params(tv) == PARAMS[name]
    ours.load_state_dict(tv.state_dict(), strict=True)   # same module names and shapes
    ours.eval(); tv.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), tv(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", NETWORKS)
def test_flops_equal_thop_on_torchvision(name):
    for r in (64, 224) if name != "resnet101" else (224,):
        assert count_flops(base_arch(name), r) == thop_flops(TV[name](), r)


def test_resnet18_paper_flops():
    assert abs(count_flops(base_arch("resnet18"), 224) / 1.82e9 - 1) < 0.01


def _random_widths(arch, rng):
    """Random legal widths: one random factor per tied group."""
    ws = arch.widths()
    for g in arch.tied_groups():
        f = rng.uniform(0.3, 1.7)
        for i in g:
            ws[i] = max(1, round(ws[i] * f))
    return arch.with_widths(ws).validate()


@pytest.mark.parametrize("name", NETWORKS)
def test_analytic_flops_equal_thop_on_any_widths(name):
    rng = random.Random(name)
    for small, res, w, d in [(False, 96, 0.5, 0.5), (True, 28, 0.25, 1.0), (True, 32, 0.125, 2.0)]:
        a = scale_depth(scale_width(base_arch(name, 10, 1 if small else 3, small), w), d)
        a = _random_widths(a, rng)
        m = build_model(a)
        assert count_flops(a, res) == count_flops(m, res), (name, small, res)
        assert m(torch.randn(2, a.in_channels, res, res)).shape == (2, 10)


def test_count_flops_leaves_model_clean():
    m = build_model(scale_width(base_arch("mobilenetv2", 10, 1, True), 0.25))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    training = m.training
    f1, f2 = count_flops(m, 28), count_flops(m, 28)
    assert f1 == f2
    assert m.training == training
    after = m.state_dict()
    assert set(after) == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(hasattr(mod, "total_ops") for mod in m.modules())


def test_small_input_stem_keeps_resolution():
    m = build_model(base_arch("resnet18", 10, 1, small_input=True))
    x = torch.randn(1, 1, 28, 28)
    assert m.maxpool(m.relu(m.bn1(m.conv1(x)))).shape[-1] == 28
    mb = build_model(base_arch("mobilenetv2", 10, 1, small_input=True))
    assert mb.features[0](x).shape[-1] == 28
