"""Where a DMCP search's supernet diverges: the weight step at which a weight first grows past a bound, the
largest gradients of that step and of the steps before it, and the step whose loss is not finite.

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


def watch(bound: float, steps: int):
    "Wrap `dmcp._weight_step`: after each step, the step's largest gradient norms and the largest weight."
    step_fn, seen, told = dmcp._weight_step, [], []

    def watched(sr, x, y, subs, s, where):
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
    p.add_argument("--lr", type=float, default=None, help="the weights' lr (default: the scale's)")
    p.add_argument("--steps", type=int, default=400, help="stop after this many weight steps")
    p.add_argument("--bound", type=float, default=100.0, help="report the first weight above it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layout", choices=("scale", "nchw", "channels_last"), default="scale",
                   help="the search's memory layout (scale: the cpu scale's search_layout, else the engine's)")
    args = p.parse_args()
    S = get_scale("cpu")
    points = [q for q in S.points(args.network, "resolution")
              if resolution_of(S, q) == args.resolution]
    if not points:
        raise SystemExit(f"--resolution must be one of the resolution grid's: "
                         f"{[resolution_of(S, q) for q in S.points(args.network, 'resolution')]}")
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
