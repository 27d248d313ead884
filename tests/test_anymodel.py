"""Width transfer on torchvision models the package has no family for (issue 18's done-when): the
transferred model keeps the original's MACs within 1% and runs, with the cheapest optimizer and DMCP;
`wt-transfer` on a torchvision model writes its outputs and is cached on a second call."""
import json

import pytest
import torch
import torchvision

from width_transfer.anymodel import transfer_widths
from width_transfer.data import synthetic
from width_transfer.flops import thop_flops
from width_transfer.trace import trace
from width_transfer.transfer import Projection

MODELS = {"resnet34": torchvision.models.resnet34,
          "mobilenet_v3_small": torchvision.models.mobilenet_v3_small}


@pytest.mark.parametrize("name,algorithm,settings", [
    ("resnet34", "slimming", {}), ("resnet34", "dmcp", dict(min_arch_steps=2)),
    ("mobilenet_v3_small", "autoslim", dict(heldout=0.25, bins=4, min_bin=2, widen=1.25, calib_batches=1)),
    ("mobilenet_v3_small", "dmcp", dict(min_arch_steps=2))])
def test_transfer_torchvision(name, algorithm, settings):
    torch.manual_seed(0)
    model = MODELS[name](num_classes=10)
    x = torch.zeros(1, 3, 32, 32)
    data = synthetic(64, 10, 3, 32)
    r = transfer_widths(model, x, data, algorithm, Projection(width=0.5, resolution=16),
                        epochs=1, batch_size=32, **settings)
    assert abs(thop_flops(r.model, 32) / thop_flops(model, 32) - 1) <= 0.01
    assert r.model.eval()(x).shape == (1, 10)
    assert len(r.widths) == len(trace(model, x).widths)          # one width per channel group
    assert r.cost_flops > 0
    if algorithm != "dmcp":   # two DMCP steps from its uniform start may round back to the start
        assert r.widths != trace(model, x).widths


def test_slimming_refuses_a_group_without_batchnorm():
    # mobilenet_v3_small's squeeze-and-excitation convs have no BatchNorm: named before any training
    model = torchvision.models.mobilenet_v3_small(num_classes=10)
    with pytest.raises(ValueError, match=r"needs a BatchNorm after every producing layer: features\.1\.block\.1\.fc1"):
        transfer_widths(model, torch.zeros(1, 3, 32, 32), synthetic(64, 10, 3, 32), "slimming",
                        Projection(width=0.5), epochs=1, batch_size=32)


def test_cli_on_a_torchvision_model_is_cached(tmp_path):
    # `wt-transfer` on torchvision's resnet18 (grey synthetic images repeated to 3 channels): widths
    # and state dict written, MACs within 1%; the same call again trains nothing (the stored record)
    from width_transfer.anymodel import main
    argv = ["--model", "torchvision.models:resnet18", "--model-kwargs", '{"num_classes": 10}',
            "--in-channels", "3", "--algorithm", "slimming", "--dataset", "synthetic",
            "--projection", "width=0.25,resolution=16", "--epochs", "1", "--batch-size", "32",
            "--out", str(tmp_path / "out")]
    first = main(argv)
    saved = json.loads((tmp_path / "out" / "widths.json").read_text())
    assert saved["widths"] == first.widths
    assert abs(saved["flops"] / saved["target_flops"] - 1) <= 0.01
    state = torch.load(tmp_path / "out" / "model.pt")
    assert state["conv1.weight"].shape == (first.widths[0], 3, 7, 7)
    second = main(argv)
    assert (second.widths, second.wall_s, second.record["hash"]) == (first.widths, first.wall_s,
                                                                     first.record["hash"])
