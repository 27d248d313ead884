"""How much work AutoSlim's greedy phase is, before running it: bounds on its steps, candidates and
multiply-accumulates at the cpu scale, and (with --measure) how fast one core scores a candidate.

From the `widen`x supernet down to the target, every step scores each group's one-bin shrink
(`autoslim._shrinks`) on the held-out images after re-estimating BatchNorm on the calibration
batches. The path depends on the scores, so the script takes the two extremes: always the step that
removes the most MACs (fewest steps) and always the one that removes the fewest (most steps).

    OMP_NUM_THREADS=1 python benchmarks/autoslim_greedy_cost.py [--measure]

Prints, per network: groups, steps, candidates, multiply-accumulates of all candidates (x the
images each is run on), the mean candidate's MACs; with --measure, images per second in eval mode
(NCHW, fp32, the cpu scale's search layout) through the supernet sliced to 80% of its widths.
"""
import argparse
import time

import torch

from width_transfer.channels import Gates
from width_transfer.flops import arch_flops
from width_transfer.models import build_model
from width_transfer.optimizers.autoslim import SCORE_IMAGES, _shrinks, group_levels, settings
from width_transfer.scales import get_scale, network
from width_transfer.transfer import scale_width

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--networks", nargs="+", default=["resnet18", "mobilenetv2"])
p.add_argument("--measure", action="store_true", help="time eval-mode scoring on this core")
args = p.parse_args()
S, st = get_scale("cpu"), settings()
images = SCORE_IMAGES + st["calib_batches"] * S.search["autoslim"]["batch_size"]   # per candidate
for net in args.networks:
    a = network(S, net, S.targets[net])
    wide = scale_width(a, st["widen"])
    gates = Gates(build_model(wide).eval(), wide)
    target, res = arch_flops(a, 28), 28
    levels = [group_levels(w, st["bins"], st["min_bin"]) for w in gates.max_widths]
    for mode in ("most", "fewest"):
        w, f = list(gates.max_widths), arch_flops(wide, res)
        steps = cands = 0
        macs = 0.0
        while f > target:
            shrinks = _shrinks(w, levels)
            fl = [arch_flops(gates.sub_arch(x), res) for _, x in shrinks]
            macs, cands, steps = macs + sum(fl), cands + len(fl), steps + 1
            j = (min if mode == "most" else max)(range(len(fl)), key=fl.__getitem__)
            w, f = shrinks[j][1], fl[j]
        print(f"{net}: {len(w)} groups; removing the {mode} MACs per step: {steps} steps, {cands} "
              f"candidates, {macs * images / 1e12:.1f} T MACs on {images} images each "
              f"(mean candidate {macs / cands / 1e6:.2f} MMACs)", flush=True)
    if args.measure:
        gates.set_widths([max(1, int(0.8 * m)) for m in gates.max_widths])
        x = torch.randn(images, 1, res, res)
        with torch.no_grad():
            gates.model(x[:64])
            t = time.time()
            for i in range(0, images, 64): gates.model(x[i:i + 64])
        dt = time.time() - t
        m = arch_flops(gates.sub_arch([max(1, int(0.8 * m)) for m in gates.max_widths]), res)
        print(f"{net}: {images / dt:.0f} images/s at 80% of the supernet's widths "
              f"({m / 1e6:.2f} MMACs), {images * m / dt / 1e9:.2f} G MACs/s on {torch.get_num_threads()} thread(s)")
