"""Why MorphNet (version 2) fails the validation's seed: BN scales (gammas) under a strong FLOPs
penalty oscillate around zero instead of settling below the alive threshold.

One structure learning of MorphNet on nbs/paper/validation.ipynb's seed network (ResNet18 x0.125 at
the cpu scale, stages 2-4 at 0.4 of uniform, stem and stage 1 widened to equal FLOPs), at one
strength, printing every 50 steps each channel group's alive count and mean |gamma|, and at the
end how often each group's gammas change sign per step (a gamma that flips sign nearly every step
is oscillating around zero). `--prox` replaces the penalty's subgradient in the SGD step (as in
MorphNet version 2) by a proximal step (version 3 takes it with a shrink of lr / (1 - momentum)): SGD with momentum on the task loss only, then
each gamma shrunk towards zero by lr x its penalty gradient and set to 0 where it would cross.
Nothing is stored. Run from the repository root:

    OMP_NUM_THREADS=1 python benchmarks/morphnet_gammas.py --strength 160
    OMP_NUM_THREADS=1 python benchmarks/morphnet_gammas.py --strength 160 --prox
"""
import argparse

import torch
import torch.nn as nn

from width_transfer.channels import group_widths
from width_transfer.models import build_model
from width_transfer.optimize import load_search_data
from width_transfer.optimizers.morphnet import FlopsRegularizer, prox_shrink
from width_transfer.scales import get_scale, resolution_of
from width_transfer.study import seed_at
from width_transfer.search import Session
from width_transfer.train import param_groups


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--strength", type=float, default=160.0, help="x 1 / the initial regularizer")
    p.add_argument("--steps", type=int, default=300, help="SGD steps (batch 64)")
    p.add_argument("--lr", type=float, default=0.1, help="fixed learning rate (the cpu scale's)")
    p.add_argument("--late", type=float, default=0.4, help="the seed's stages 2-4, x uniform")
    p.add_argument("--prox", action="store_true", help="the penalty as a proximal step")
    a = p.parse_args()
    for name, v in (("--strength", a.strength), ("--steps", a.steps), ("--lr", a.lr)):
        if not v > 0: raise SystemExit(f"{name} must be > 0, got {v}")
    if not 0 < a.late < 1: raise SystemExit(f"--late must be in (0, 1), got {a.late}")
    scale = get_scale("cpu")
    target = scale.targets["resnet18"]
    arch = seed_at(scale, "resnet18", target, a.late, {2, 3, 4})
    res = resolution_of(scale, target)
    print("seed widths per group:", group_widths(arch))
    data = load_search_data(scale.dataset, None, res, target.data_fraction, 0)
    loader = Session(torch.device("cpu")).loader(data, 64, 0, False)
    torch.manual_seed(0)
    model = build_model(arch)
    reg = FlopsRegularizer(model, arch, res, 1e-2)
    lam = a.strength / float(reg().detach())
    opt = torch.optim.SGD(param_groups(model, 5e-5), lr=a.lr, momentum=0.9, nesterov=True)
    crit, gammas = nn.CrossEntropyLoss(), [[bn.weight for i in g for bn in reg.layers[i].bns]
                                           for g in reg.groups]
    flat = [w for g in gammas for w in g]
    prev, flips, counted, step = None, [0.0] * len(gammas), 0, 0
    while step < a.steps:
        for x, y in loader:
            task = crit(model(x), y)
            if a.prox:
                pen = torch.autograd.grad(lam * reg(), flat, allow_unused=True)
                opt.zero_grad(set_to_none=True)
                task.backward()
                opt.step()
                prox_shrink(flat, pen, a.lr)   # shrink lr (MorphNet v3 uses lr / (1 - momentum))
            else:
                loss = task + lam * reg()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            now = [torch.cat([w.detach().flatten() for w in g]) for g in gammas]
            if prev is not None and step >= a.steps - 100:   # sign changes, zeros excluded
                flips = [f + float(((torch.sign(c) * torch.sign(q)) < 0).float().mean())
                         for f, c, q in zip(flips, now, prev)]
                counted += 1
            prev, step = now, step + 1
            if step % 50 == 0 or step == a.steps:
                print(f"step {step}: task loss {task.item():.3f}, alive {reg.alive()}")
                print("  mean |gamma|", " ".join(f"{float(t.abs().mean()):.3f}" for t in now))
            if step == a.steps: break
    print("sign changes per step over the last 100 steps, per group:",
          " ".join(f"{f / max(counted, 1):.2f}" for f in flips))


if __name__ == "__main__":
    main()
