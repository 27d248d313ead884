"""MorphNet's alive fraction against its strength on a small traced CNN, for a number of epochs per probe.

The strength sweep of `anymodel.morphnet` assumes a stronger penalty leaves less alive. Up to anymodel VERSION 1
(the penalty as a plain (sub)gradient step on the BatchNorm scales) too few steps per probe overshot zero every
step and the reverse happened; since VERSION 2 the penalty is a proximal step (`morphnet.prox_shrink`).
This runs one probe per strength (the walkthrough's SmallNet at width x0.5 on 3% of Fashion-MNIST, batch 64)
and prints the alive channels, the alive MACs over the projected network's, the |gamma| quantiles and the
task loss of the last epoch.

    python benchmarks/morphnet_steps.py --epochs 1 --strengths 10 40 160 640 2560
    python benchmarks/morphnet_steps.py --epochs 4 --strengths 1 3 10 40
    python benchmarks/morphnet_steps.py --epochs 4 --sweep      # the whole search: transfer_widths' sweep
"""
import argparse
import tempfile
import time
import warnings

import torch
from torch import nn

from width_transfer.anymodel import (ANY_OPTIMIZERS, TracedFlopsRegularizer, _settings, bn_groups,
                                     train_morph)
from width_transfer.anymodel import transfer_widths
from width_transfer.data import load_dataset
from width_transfer.trace import resize, trace
from width_transfer.transfer import Projection

from searches import probes   # a MorphNet trace's probes, as benchmarks/searches.py prints them


class SmallNet(nn.Module):
    "nbs/25_walkthrough.ipynb's CNN: a depthwise conv added back, a grouped conv, three channel groups."
    def __init__(self, w=32, classes=10):
        super().__init__()
        cbr = lambda i, o, g=1: [nn.Conv2d(i, o, 3, padding=1, groups=g, bias=False),
                                 nn.BatchNorm2d(o), nn.ReLU()]
        self.stem = nn.Sequential(*cbr(1, w))
        self.dw = nn.Sequential(*cbr(w, w, w)[:2])
        self.body = nn.Sequential(*cbr(w, 2 * w, 4), nn.MaxPool2d(2), *cbr(2 * w, 4 * w))
        self.fc = nn.Linear(4 * w, classes)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.dw(x)
        return self.fc(self.body(x).mean((2, 3)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=1, help="epochs per probe (default 1)")
    p.add_argument("--strengths", type=float, nargs="+", default=[10, 40, 160, 640, 2560])
    p.add_argument("--fraction", type=float, default=0.03, help="share of Fashion-MNIST (default 0.03)")
    p.add_argument("--sweep", action="store_true", help="run transfer_widths' strength sweep instead")
    args = p.parse_args()
    torch.manual_seed(0)
    data = load_dataset("fashion_mnist", fraction=args.fraction)
    if args.sweep: return sweep(data, args.epochs)
    model, x = SmallNet(16), torch.zeros(1, 1, 28, 28)          # SmallNet(32) at width x0.5
    cg = trace(model, x)
    st = _settings(ANY_OPTIMIZERS["morphnet"], args.epochs, dict(batch_size=64))
    steps = len(data) // st["batch_size"] * st["epochs"]
    print(f"{torch.__version__}; {len(data)} images, {steps} steps per probe, lr {st['lr']}, "
          f"threshold {st['threshold']}")
    for s in args.strengths:
        t = time.time()
        torch.manual_seed(0)
        net = resize(model, cg, cg.widths)
        reg = TracedFlopsRegularizer(bn_groups(net, cg, "MorphNet"), cg.flops, st["threshold"])
        _, log = train_morph(net, reg, data, s / float(reg().detach()), st, 0)
        g = torch.cat([r.detach() for r in reg.group_regs()])
        q = [round(v, 3) for v in torch.quantile(g, torch.tensor([0.1, 0.5, 0.9])).tolist()]
        alive = reg.alive()
        print(f"strength {s:7g}: alive {alive} of {cg.widths}, MACs "
              f"{cg.flops([max(1, a) for a in alive]) / cg.flops(cg.widths):.2f} of the network's; "
              f"|gamma| q10/q50/q90 {q}; task loss {log[-1]['task_loss']:.3f} ({time.time() - t:.0f} s)")


def sweep(data, epochs: int):
    "MorphNet's whole search on SmallNet at width x0.5: its probes, the alive fraction reached, any warning."
    t = time.time()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = transfer_widths(SmallNet(), torch.zeros(1, 1, 28, 28), data, "morphnet", Projection(width=0.5),
                            epochs=epochs, results=tempfile.mkdtemp(), batch_size=64)
    end = next(e for e in r.record["trace"] if "alive_fraction_goal" in e)
    print(f"{epochs} epochs per probe: probes {probes(r.record['trace'])}; "
          f"alive fraction {end['alive_fraction']:.3f} "
          f"(goal {end['alive_fraction_goal']}, reached {end['reached']}); widths {r.widths}; "
          f"{time.time() - t:.0f} s")
    for x in w:
        if "MorphNet" in str(x.message): print("warning:", x.message)


if __name__ == "__main__":
    main()
