"""Does AutoSlim's supernet rank the known answer above what its greedy path returns?

The validation's AutoSlim row (nbs/paper/validation.ipynb) failed: its direct widths kept the
poor seed's shape. Two causes are possible: the supernet does not tell the better allocation
apart at this scale (its held-out cross-entropy of the uniform sub-network is no lower than of the
greedy result), or it does and the greedy path (one bin of one group per step, lowest held-out
cross-entropy, as the original) misses it. This script retrains the direct search's supernet
exactly as `autoslim.run` does (same data, split, seed, settings; one thread gives the same
weights), then scores, with the same BN recalibration and held-out images as the greedy steps,
the sub-networks: the seed, the uniform network and the stored greedy result (all inside the
supernet, each snapped to the supernet's bins where needed).

    OMP_NUM_THREADS=1 python benchmarks/autoslim_ranks.py [--epochs 2] [--late 0.4]

Prints one line per sub-network: its MACs, held-out cross-entropy and top-1.
"""
import argparse
import json
import time

import torch

from width_transfer.channels import Gates, group_widths
from width_transfer.flops import arch_flops
from width_transfer.models import build_model
from width_transfer.optimizers import autoslim as A
from width_transfer.results import find_record
from width_transfer.runs import _search_setup, default_store, network, resolution_of
from width_transfer.scales import get_scale
from width_transfer.search import CostMeter, Session
from width_transfer.study import seed_at, supernet_widen
from width_transfer.arch import Arch, scale_width


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=None, help="supernet epochs (default: the record's)")
    p.add_argument("--late", type=float, default=0.4, help="the validation's `late`")
    a = p.parse_args()
    S = get_scale("cpu")
    target = S.targets["resnet18"]
    uniform, res = network(S, "resnet18", target), resolution_of(S, target)
    seed_arch = seed_at(S, "resnet18", target, a.late, {2, 3, 4})
    source = S.points("resnet18", "compound")[0]   # the validation's supernet holds uniform there too
    widen = supernet_widen(S, "resnet18", [target, source], a.late, {2, 3, 4})
    setup = _search_setup(S, "autoslim", "resnet18", target, 0, None, "cpu", 0,
                          dict(widen=float(widen)), arch=seed_arch)
    rec = find_record(default_store(S), setup.config)
    if rec is None: raise SystemExit(f"the direct AutoSlim search {setup.key} is not in the store")
    st = A.settings(**{**setup.config["settings"], **({} if a.epochs is None else dict(epochs=a.epochs))})
    data, dev = setup.data, torch.device("cpu")
    print(f"search {setup.key}: widen {widen}, supernet epochs {st['epochs']}", flush=True)
    # as optimize + autoslim.run, up to the greedy path
    torch.manual_seed(0)
    train_idx, held = A.split_heldout(data.labels, st["heldout"], 0)
    n_score = A.scoring_images(len(held), st["score_images"])
    wide = scale_width(seed_arch, st["widen"])
    bs = st["batch_size"]
    session = Session(dev)
    loader = session.loader(data.subset(train_idx), bs, 0, False)
    calib = A.fixed_batches(data, A.calibration_indices(train_idx, st["calib_batches"], bs, 0), bs, dev, False)
    score = A.fixed_batches(data, held[:n_score], bs, dev, False)
    model = build_model(wide)
    gates = Gates(model, wide)
    t = time.time()
    A.train_supernet(model, gates, loader, {**st, "_prec": "fp32"}, CostMeter(res), [],
                     torch.Generator().manual_seed(1), dev, session)
    print(f"supernet trained in {time.time() - t:.0f} s", flush=True)
    levels = [A.group_levels(w, st["bins"], st["min_bin"]) for w in gates.max_widths]
    snap = lambda ws: [min((l for l in lv if l >= w), default=lv[-1]) for w, lv in zip(ws, levels)]
    got = group_widths(Arch.from_json(json.dumps(rec["trace"][-1]["slimmed"])))
    rows = [("seed", group_widths(seed_arch)), ("uniform", group_widths(uniform)),
            ("greedy result", got), ("seed, snapped", snap(group_widths(seed_arch))),
            ("uniform, snapped", snap(group_widths(uniform)))]
    last = [e for e in rec["trace"] if "step" in e][-1]
    print(f"the record's last greedy step: held-out CE {last['heldout_ce']:.4f}, top-1 "
          f"{last['heldout_top1']:.2f}" + (" (the same supernet scores the greedy result alike)"
                                           if a.epochs is None else ""))
    for name, ws in rows:
        ce, acc = A.score_widths(model, gates, ws, calib, score, None, dev)
        print(f"{name:18s} MMACs {arch_flops(gates.sub_arch(ws), res) / 1e6:6.3f}  "
              f"held-out CE {ce:.4f}  top-1 {acc:.2f}  widths {ws}", flush=True)


if __name__ == "__main__":
    main()
