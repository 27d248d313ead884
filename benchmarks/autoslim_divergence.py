"""Why AutoSlim's supernet diverges at MobileNetV2's smallest compound point of the cpu scale.

That point (MobileNetV2 x0.0625, 14 px, 2,000 images: x0.25 of the target's width, 10% of its images): its
supernet (1.5x wider) has 2-3 channels in its first blocks, and the sandwich rule trains sub-networks
down to `min_bin / bins` of that (1 channel). The stored search (`e9e9bc35`) stopped in its first
epoch with a non-finite loss. This script reruns that search (the settings of `runs.search`, with
overrides) in a temporary folder (nothing reaches results/ or work/), watches every weight step's
widest pass and distillation passes (`autoslim._widest_pass` and `_distill_pass` wrapped; the search
itself is unchanged), and says at which step a loss is first not finite, or, if none, the widest
network's last loss (2.30 is chance for 10 classes).

    python benchmarks/autoslim_divergence.py                          # the scale's settings
    python benchmarks/autoslim_divergence.py --set lr=0.05            # a lower lr
    python benchmarks/autoslim_divergence.py --set min_bin=6          # no sub-network below half width
    python benchmarks/autoslim_divergence.py --set min_bin=11 --set random_subnets=0   # ~ the widest alone

Measured on the 2-core AVX512-BF16 EPYC (torch 2.14.1, one thread), 224 weight steps in all:
- the scale's settings (lr 0.1, min_bin 2 of 12, 2 random sub-networks): not finite at step 21; at
  step 20 the first block's gradients are already inf and a weight of block 9 is at 27.9;
- lr 0.05: finite, but block 1's BN bias is at 1e18 by step 25 and the widest loss stays at chance
  (2.302 at the end): a collapse;
- min_bin 6 (no sub-network below half width): not finite at step 26, after its distillation passes
  took block 1's BN bias from |w| <= 3.6 to 2e22 in one step;
- min_bin 11 and no random sub-network (the widest network and one 11/12 as wide): trains, the widest
  loss 1.331 at the end.
So it is the narrow sub-networks, not the weights' lr alone, that blow up (the implementation is the
original's sandwich rule). Narrowness alone is not the cause: the width x0.0625 projection (28 px, all
the images, the same 2-3-channel layers) trains. The figures name the point diverged, as DMCP's
first settings there.
"""
import argparse
import math
import os
import tempfile

from width_transfer.optimizers import autoslim
from width_transfer.results import Diverged
from width_transfer.runs import search
from width_transfer.scales import get_scale

from searches import setting   # the --set parser of benchmarks/searches.py


def _largest(model) -> str:
    "The three largest gradient norms and the largest |weight| of `model`, for a line of the report."
    g = sorted(((q.grad.norm().item(), n) for n, q in model.named_parameters() if q.grad is not None),
               key=lambda t: -t[0] if math.isfinite(t[0]) else -math.inf)[:3]
    w, wn = max((q.detach().abs().max().item(), n) for n, q in model.named_parameters())
    return f"largest gradient norms {[(n, f'{v:.3g}') for v, n in g]}; largest |weight| {w:.3g} ({wn})"


class NotFinite(Exception):
    "A pass of the watched search returned a loss that is not finite."


def watch(every: int) -> dict:
    ("Wrap AutoSlim's two passes: report every `every`-th weight step and raise `NotFinite` at the first "
     "loss that is not finite; returns the state the wrappers fill (step, last widest loss).")
    widest, distill, state = autoslim._widest_pass, autoslim._distill_pass, dict(step=0, ce=None, prev="")

    def watched_widest(model, gates, x, y, crit, prec):
        state["step"] += 1
        ce, out = widest(model, gates, x, y, crit, prec)
        line = f"step {state['step']}: widest loss {ce:.3f}; {_largest(model)}"
        if not math.isfinite(ce):
            raise NotFinite(f"{line}\n  the step before: {state['prev']}")
        if state["step"] % every == 0: print(line, flush=True)
        state["ce"], state["prev"] = ce, line
        return ce, out

    def watched_distill(model, gates, widths, x, teacher, device, prec):
        kd = distill(model, gates, widths, x, teacher, device, prec)
        if not math.isfinite(kd):
            raise NotFinite(f"step {state['step']}: the distillation loss of the sub-network {widths} is "
                            f"not finite; {_largest(model)}\n  after the widest pass: {state['prev']}")
        return kd

    autoslim._widest_pass, autoslim._distill_pass = watched_widest, watched_distill
    return state


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                   help="an AutoSlim setting to override (lr, min_bin, random_subnets, ...); repeatable")
    p.add_argument("--point", type=int, default=0, help="which point of MobileNetV2's compound grid (0: smallest)")
    p.add_argument("--every", type=int, default=25, help="report every this many weight steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    S = get_scale("cpu")
    points = S.points("mobilenetv2", "compound")
    if not 0 <= args.point < len(points):
        raise SystemExit(f"--point must be in [0, {len(points) - 1}] (MobileNetV2's compound grid), got {args.point}")
    overrides = dict(args.set)
    state = watch(args.every)
    print(f"AutoSlim, mobilenetv2 at {points[args.point]}, seed {args.seed}, {overrides or 'scale settings'}")
    os.chdir(tempfile.mkdtemp())   # its checkpoints, locks and records: never the project's work/
    try:
        search(S, "autoslim", "mobilenetv2", points[args.point], args.seed, results="results", **overrides)
    except NotFinite as e:
        print("not finite at", e)
    except Diverged as e:
        print("diverged:", str(e).split(";")[0])
    else:
        print(f"trained: {state['step']} weight steps, the widest network's last loss {state['ce']:.3f} "
              f"(chance {math.log(10):.3f})")


if __name__ == "__main__":
    main()
