"""Where a DMCP search's supernet diverges: the weight step at which a weight first grows past a bound, the
largest gradients of that step and of the steps before it, the step whose loss is not finite, and the step
from which the widest sub-network's loss stays at chance (a collapse: ln(classes), 2.30 for 10 classes).

It runs the cpu scale's DMCP search (the settings of `runs.search`) in a temporary folder (its store,
checkpoints and locks: nothing reaches results/ or work/) with every weight step watched
(`dmcp._weight_step` wrapped; the search itself is unchanged), and stops at `--steps` or at the
divergence.

    python benchmarks/dmcp_divergence.py --network mobilenetv2 --resolution 14     # the scale's layout (NCHW)
    python benchmarks/dmcp_divergence.py --network mobilenetv2 --resolution 14 --layout channels_last --lr 0.05

`--layout` sets the scale's `search_layout` for the network, so the key records it; channels_last is refused
on a CPU without AVX-512 (`device.channels_last_ok`, version 2). On the 2-core AVX2 EPYC, before that rule,
channels_last diverged at 14 px at step 263 (lr 0.1), 292 (0.05) and 51 (0.03), and NCHW trained.
    python benchmarks/dmcp_divergence.py --network mobilenetv2 --resolution 28 --steps 320   # the target

`--depth` takes a point of the depth grid instead (the depth grid's searches collapse rather than diverge:
MobileNetV2 at depth x1.5 and x2, lr 0.1, the widest sub-network's loss at 2.31 from the third epoch on):
    python benchmarks/dmcp_divergence.py --network mobilenetv2 --depth 2 --lr 0.05 --steps 1000
"""
import argparse
import dataclasses
import math
import os
import tempfile

import torch

from width_transfer.optimizers import dmcp
from width_transfer.results import Diverged
from width_transfer.runs import search
from width_transfer.scales import get_scale, resolution_of


def watch(bound: float, steps: int, window: int = 50):
    ("Wrap `dmcp._weight_step`: after each step, the step's largest gradient norms and the largest weight; "
     "every `window` steps, the widest sub-network's mean loss over them, and whether it sits at chance.")
    step_fn, seen, told, losses = dmcp._weight_step, [], [], []
    learned = False   # the widest loss has left chance once

    def watched(sr, x, y, subs, s, where):
        nonlocal learned
        before = s["loss"]
        try:
            step_fn(sr, x, y, subs, s, where)
        except Diverged:
            print(f"{where}: loss not finite; the steps before it:")
            for line in seen[-3:]: print("   ", line)
            raise
        grads = sorted(((q.grad.norm().item(), n) for n, q in sr.model.named_parameters()
                        if q.grad is not None), key=lambda t: -t[0] if math.isfinite(t[0]) else -math.inf)
        w, wn = max((q.detach().abs().max().item(), n) for n, q in sr.model.named_parameters())
        seen.append(f"{where}: largest gradient norms {[(n, f'{g:.3g}') for g, n in grads[:3]]}; "
                    f"largest |weight| {w:.3g} ({wn}); lr {sr.opt.param_groups[0]['lr']:.4f}")
        losses.append(s["loss"] - before)   # this step's widest sub-network loss
        if len(losses) % window == 0:
            m, chance = sum(losses[-window:]) / window, math.log(sr.sup.num_classes)
            at = " (back at chance: collapsed)" if learned and m > 0.98 * chance else ""
            learned = learned or m < 0.9 * chance
            print(f"steps {len(losses) - window + 1}-{len(losses)}: widest loss {m:.3f}{at}, "
                  f"lr {sr.opt.param_groups[0]['lr']:.4f}", flush=True)
        if w > bound and not told:
            told.append(1)
            print(f"first |weight| > {bound:g}; the steps up to it:")
            for line in seen[-3:]: print("   ", line)
        if len(seen) >= steps:
            print(f"{steps} steps without divergence; the last: {seen[-1]}")
            raise SystemExit(0)

    dmcp._weight_step = watched


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--network", default="mobilenetv2", help="a network of the cpu scale")
    p.add_argument("--resolution", type=int, default=14, help="a resolution of its resolution grid")
    p.add_argument("--depth", type=float, default=None,
                   help="a relative depth of its depth grid instead (the grid's point, not the resolution's)")
    p.add_argument("--lr", type=float, default=None, help="the weights' lr (default: the scale's)")
    p.add_argument("--steps", type=int, default=400, help="stop after this many weight steps")
    p.add_argument("--bound", type=float, default=100.0, help="report the first weight above it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layout", choices=("scale", "nchw", "channels_last"), default="scale",
                   help="the search's memory layout (scale: the cpu scale's search_layout, else the engine's)")
    args = p.parse_args()
    S = get_scale("cpu")
    grid, value, of = (("depth", args.depth, lambda q: q.depth) if args.depth is not None else
                       ("resolution", args.resolution, lambda q: resolution_of(S, q)))
    points = [q for q in S.points(args.network, grid) if of(q) == value]
    if not points:
        raise SystemExit(f"--{grid} must be one of the {grid} grid's: "
                         f"{[of(q) for q in S.points(args.network, grid)]}")
    watch(args.bound, args.steps)
    if args.layout != "scale":   # through the scale, so the search's key records the layout
        S = dataclasses.replace(S, search_layout={**S.search_layout,
                                                  args.network: args.layout == "channels_last"})
    overrides = {} if args.lr is None else dict(lr=args.lr)
    print(f"{torch.__version__}; DMCP, {args.network} at {points[0]}, seed {args.seed}, {overrides or 'scale settings'}")
    os.chdir(tempfile.mkdtemp())   # its checkpoints, locks and records: never the project's work/
    try:
        search(S, "dmcp", args.network, points[0], args.seed, results="results", **overrides)
    except Diverged as e:
        print("diverged:", str(e).split(";")[0])


if __name__ == "__main__":
    main()
