"""Why a DMCP search's architecture loss sits at chance (ln 10 = 2.30): which chains the architecture steps
drove to their fixed minimum, and whether opening them brings the scaled network's loss back.

The architecture step scores the supernet with every channel scaled by its marginal keep probability
(`dmcp._arch_step`). On one training batch, BatchNorm in train mode as in that step, this prints the
widest sub-network's loss, the scaled network's loss, every chain whose last marginal is below `--low`
(its expected channels and fixed minimum), and the scaled network's loss with each of those chains
opened (all its groups kept) and with all of them opened. A loss that falls back from chance when one
chain is opened names the bottleneck.

Either it runs the cpu scale's DMCP search in a temporary folder (its store, checkpoints and locks:
nothing reaches results/ or work/) to the end of epoch `--epoch` and looks there, or it loads a search's
checkpoint (`--checkpoint work/checkpoints/optimize-<key>.pt`, left by a search stopped after an epoch,
or a copy taken while it ran; the arguments must be the ones that search ran with).

    python benchmarks/dmcp_collapse.py --network mobilenetv2 --depth 2 --lr 0.05 --epoch 6
    python benchmarks/dmcp_collapse.py --network mobilenetv2 --depth 2 --lr 0.05 --checkpoint <copy>

On the 2-core AVX512-BF16 EPYC, the search `runs.search("cpu", "dmcp", "mobilenetv2", <depth x2>, 0,
lr=0.05)` (record 59c02ba8, 2,350 s on one thread) scored, from a copy of its checkpoint after epoch 6
(the second command; 8 training batches, NCHW as the search): widest sub-network 1.54, scaled network 2.31.
The chain of stage 2's first expansion sat at its minimum, 2.0 of 36 supernet channels, and opening it
alone brought the scaled loss to 1.76; opening the other five chains whose last marginal is below 0.05
alone changed nothing (2.31-2.32; among them the stage-1 output at 1.3 of its 6 channels), all six: 1.63,
every chain: 1.54.
"""
import argparse
import json
import os
from pathlib import Path
import tempfile

import torch

from width_transfer.arch import Arch
from width_transfer.optimizers import dmcp
from width_transfer.runs import _search_setup, search
from width_transfer.scales import get_scale, resolution_of
from width_transfer.search import load_checkpoint, run_layout


def scaled_loss(sr, batches, opened=()):
    ("The mean loss over `batches` of the network the architecture step scores, with the chains `opened` "
     "keeping every group.")
    saved = [a.detach().clone() for a in sr.mc.alphas]
    with torch.no_grad():
        for g in opened: sr.mc.alphas[g].fill_(20.0)   # sigmoid(20): every transition kept
        sr.gates.set_scales(sr.mc.scales())
        loss = sum(float(sr.crit(sr.model(x), y)) for x, y in batches) / len(batches)
        for a, s in zip(sr.mc.alphas, saved): a.copy_(s)
    sr.gates.full()
    return loss


def analyse(sr, low: float, n_batches: int):
    ("Print the widest and scaled losses on `n_batches` training batches, the chains at their minimum, and "
     "the loss with each opened.")
    sr.model.train()   # as in the architecture step
    it = iter(sr.loader)
    batches = [next(it) for _ in range(n_batches)]
    with torch.no_grad():
        sr.gates.full()
        widest = sum(float(sr.crit(sr.model(x), y)) for x, y in batches) / n_batches
        margs = [m.detach() for m in sr.mc.marginals()]
        E = [float(e) for e in sr.mc.expected_channels()]
    print(f"widest sub-network loss {widest:.3f}; scaled network (the architecture step's) {scaled_loss(sr, batches):.3f}")
    layers = sr.gates.arch.layer_names()
    names = [layers[g[0]] for g in sr.gates.groups]   # a chain by its first layer
    shut = [g for g, m in enumerate(margs) if m.numel() and float(m[-1]) < low]
    for g in shut:
        grid = sr.mc.grids[g]
        print(f"  chain {g} ({names[g]}): expected {E[g]:.1f} of {grid.max_ch} channels, minimum {grid.min_ch}; "
              f"opened alone: {scaled_loss(sr, batches, [g]):.3f}")
    print(f"all {len(shut)} opened: {scaled_loss(sr, batches, shut):.3f}; every chain opened: "
          f"{scaled_loss(sr, batches, range(len(margs))):.3f}")


def main():
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--network", default="mobilenetv2", help="a network of the cpu scale")
    p.add_argument("--depth", type=float, default=2.0, help="a relative depth of its depth grid")
    p.add_argument("--lr", type=float, default=None, help="the weights' lr (default: the scale's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch", type=int, default=None, help="look after this epoch of the search (default 6)")
    p.add_argument("--checkpoint", default=None, help="a stopped search's checkpoint, instead of running it")
    p.add_argument("--batches", type=int, default=8, help="training batches the losses are averaged over")
    p.add_argument("--low", type=float, default=0.05, help="a chain whose last marginal is below it is shut")
    args = p.parse_args()
    S = get_scale("cpu")
    if args.network not in S.targets:
        raise SystemExit(f"--network must be one of the cpu scale's: {', '.join(S.targets)}, got {args.network!r}")
    points = [q for q in S.points(args.network, "depth") if q.depth == args.depth]
    if not points:
        raise SystemExit(f"--depth must be one of the depth grid's: {[q.depth for q in S.points(args.network, 'depth')]}")
    if args.checkpoint and args.epoch is not None:
        raise SystemExit("--epoch runs the search to that epoch; --checkpoint looks at a stopped one: give one of them")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        raise SystemExit(f"--checkpoint {args.checkpoint} is not a file")
    epoch = 6 if args.epoch is None else args.epoch
    if epoch < 1: raise SystemExit(f"--epoch must be >= 1, got {epoch}")
    if args.batches < 1: raise SystemExit(f"--batches must be >= 1, got {args.batches}")
    if not 0 < args.low <= 1: raise SystemExit(f"--low must be in (0, 1], got {args.low}")
    if args.lr is not None and not args.lr > 0: raise SystemExit(f"--lr must be > 0, got {args.lr}")
    overrides = {} if args.lr is None else dict(lr=args.lr)
    print(f"{torch.__version__}; DMCP, {args.network} at {points[0]} ({resolution_of(S, points[0])} px), "
          f"seed {args.seed}, {overrides or 'scale settings'}")
    if args.checkpoint:
        setup = _search_setup(S, "dmcp", args.network, points[0], args.seed, None, "cpu", None, overrides)
        cfg = setup.config
        ck = load_checkpoint(args.checkpoint, "the search to analyse")
        if not isinstance(ck, dict) or ck.get("key") != setup.key:
            raise SystemExit(f"{args.checkpoint} is the checkpoint of search {ck.get('key')}, not of {setup.key} "
                             "(these arguments): give the arguments that search ran with")
        with run_layout(cfg["channels_last"]):   # the layout the search trained in, as `optimize` does
            sr = dmcp._setup(Arch.from_json(json.dumps(cfg["arch"])), setup.data, cfg["target_flops"],
                             dmcp.settings(**cfg["settings"]), args.seed, torch.device("cpu"), None)
            for k, o in sr.state.items(): o.load_state_dict(ck["objects"][k])
            print(f"after epoch {ck['epoch']} (checkpoint)")
            return analyse(sr, args.low, args.batches)
    run_epoch = dmcp._epoch

    def epoch_then_look(sr, epoch, step):
        step = run_epoch(sr, epoch, step)
        if epoch + 1 == stop_at:
            print(f"after epoch {epoch + 1}: {sr.trace[-1]}")
            analyse(sr, args.low, args.batches)
            raise SystemExit(0)
        return step

    stop_at = epoch
    dmcp._epoch = epoch_then_look
    for v in ("WT_WORK", "WT_PLAN"): os.environ.pop(v, None)   # a fresh search, really run
    os.chdir(tempfile.mkdtemp())   # its checkpoints, locks and records: never the project's work/
    search(S, "dmcp", args.network, points[0], args.seed, results="results", **overrides)
    print(f"the search ended before epoch {epoch}")


if __name__ == "__main__":
    main()
