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
checkpoint (`--checkpoint work/checkpoints/optimize-<key>.pt`, left by a search stopped after an epoch;
the settings must be the ones that search ran with).

    python benchmarks/dmcp_collapse.py --network mobilenetv2 --depth 2 --lr 0.05 --epoch 6

On the 2-core AVX512-BF16 EPYC that search (one thread, 1,971 s to epoch 6) scored, from its epoch-6
checkpoint: widest sub-network 1.57, scaled network 2.34; the chains of the stage-1 output and of stage 2's
first expansion (6 and 36 channels in the supernet) at 1.3 and 2.0 expected channels, their minimum 1 and 2,
and opening either one alone brought the scaled loss to 1.84 and 1.74 (the 6 low chains: 1.67; every chain:
1.59); opening any of the other four changed nothing (2.32-2.36).
"""
import argparse
import json
import os
import tempfile

import torch

from width_transfer.arch import Arch
from width_transfer.optimizers import dmcp
from width_transfer.runs import _search_setup, search
from width_transfer.scales import get_scale, resolution_of
from width_transfer.search import load_checkpoint


def scaled_loss(sr, x, y, opened=()):
    "The loss of the network the architecture step scores, with the chains `opened` keeping every group."
    saved = [a.detach().clone() for a in sr.mc.alphas]
    with torch.no_grad():
        for g in opened: sr.mc.alphas[g].fill_(20.0)   # sigmoid(20): every transition kept
        sr.gates.set_scales(sr.mc.scales())
        loss = float(sr.crit(sr.model(x), y))
        for a, s in zip(sr.mc.alphas, saved): a.copy_(s)
    sr.gates.full()
    return loss


def analyse(sr, low: float):
    "Print the widest and scaled losses on one batch, the chains at their minimum, and the loss with each opened."
    sr.model.train()   # as in the architecture step
    x, y = next(iter(sr.loader))
    with torch.no_grad():
        sr.gates.full()
        widest = float(sr.crit(sr.model(x), y))
        margs = [m.detach() for m in sr.mc.marginals()]
        E = [float(e) for e in sr.mc.expected_channels()]
    print(f"widest sub-network loss {widest:.3f}; scaled network (the architecture step's) {scaled_loss(sr, x, y):.3f}")
    names = [sr.gates.arch.layer_names()[sr.gates.groups[g][0]] for g in range(len(sr.gates.groups))]
    shut = [g for g, m in enumerate(margs) if m.numel() and float(m[-1]) < low]
    for g in shut:
        grid = sr.mc.grids[g]
        print(f"  chain {g} ({names[g]}): expected {E[g]:.1f} of {grid.max_ch} channels, minimum {grid.min_ch}; "
              f"opened alone: {scaled_loss(sr, x, y, [g]):.3f}")
    print(f"all {len(shut)} opened: {scaled_loss(sr, x, y, shut):.3f}; every chain opened: "
          f"{scaled_loss(sr, x, y, range(len(margs))):.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--network", default="mobilenetv2", help="a network of the cpu scale")
    p.add_argument("--depth", type=float, default=2.0, help="a relative depth of its depth grid")
    p.add_argument("--lr", type=float, default=None, help="the weights' lr (default: the scale's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch", type=int, default=6, help="look after this epoch of the search")
    p.add_argument("--checkpoint", default=None, help="a stopped search's checkpoint, instead of running it")
    p.add_argument("--low", type=float, default=0.05, help="a chain whose last marginal is below it is shut")
    args = p.parse_args()
    S = get_scale("cpu")
    points = [q for q in S.points(args.network, "depth") if q.depth == args.depth]
    if not points:
        raise SystemExit(f"--depth must be one of the depth grid's: {[q.depth for q in S.points(args.network, 'depth')]}")
    if args.epoch < 1: raise SystemExit(f"--epoch must be >= 1, got {args.epoch}")
    overrides = {} if args.lr is None else dict(lr=args.lr)
    print(f"{torch.__version__}; DMCP, {args.network} at {points[0]} ({resolution_of(S, points[0])} px), "
          f"seed {args.seed}, {overrides or 'scale settings'}")
    if args.checkpoint:
        setup = _search_setup(S, "dmcp", args.network, points[0], args.seed, None, "cpu", None, overrides)
        cfg = setup.config
        sr = dmcp._setup(Arch.from_json(json.dumps(cfg["arch"])), setup.data, cfg["target_flops"],
                         dmcp.settings(**cfg["settings"]), args.seed, torch.device("cpu"), None)
        ck = load_checkpoint(args.checkpoint, "the search to analyse")
        if ck.get("key") != setup.key:
            raise SystemExit(f"{args.checkpoint} is the checkpoint of search {ck.get('key')}, not of {setup.key} "
                             "(these arguments): give the settings that search ran with")
        for k, o in sr.state.items(): o.load_state_dict(ck["objects"][k])
        print(f"after epoch {ck['epoch']} (checkpoint)")
        return analyse(sr, args.low)
    run_epoch = dmcp._epoch

    def epoch_then_look(sr, epoch, step):
        step = run_epoch(sr, epoch, step)
        if epoch + 1 == args.epoch:
            print(f"after epoch {epoch + 1}: {sr.trace[-1]}")
            analyse(sr, args.low)
            raise SystemExit(0)
        return step

    dmcp._epoch = epoch_then_look
    os.chdir(tempfile.mkdtemp())   # its checkpoints, locks and records: never the project's work/
    search(S, "dmcp", args.network, points[0], args.seed, results="results", **overrides)
    print(f"the search ended before epoch {args.epoch}")


if __name__ == "__main__":
    main()
