"""Run cpu-scale searches one by one, with the keys of the paper notebooks (`runs.search`), and
print each one's seconds; a search already in the store is read, not rerun. How the redone study's
batches were run (one per core, `OMP_NUM_THREADS=1 taskset -c N`, from a worktree pinned to a commit).

    python benchmarks/searches.py --net resnet18 morphnet:direct:0:0 morphnet:width:1:0
    python benchmarks/searches.py --net mobilenetv2 --set probes=12 morphnet:depth:2:0

Each item is algorithm:grid:index:seed; grid 'direct' is the scale's target, otherwise the point
`scales.points(net, grid)[index]` (the grid's projections, then its own target: depth 2 is the
depth grid's). `--set NAME=VALUE` gives every search a setting over the scale's (a new key, as a
scale with that setting computes). A MorphNet search prints its sweep: each probe's strength and
alive fraction, and whether it reached the goal.
"""
import argparse
import re
import time

from width_transfer.optimize import ALGORITHMS
from width_transfer.results import Diverged
from width_transfer.runs import label, search, search_key
from width_transfer.scales import get_scale


def point(S,        # the scale
          net,      # the network
          grid,     # 'direct' (the target) or one of the scale's grids
          index,    # the projection's index in the grid (0 for 'direct')
         ):
    "The projection an item names (grid 'direct': the target)."
    if grid == "direct":
        if index != 0: raise SystemExit(f"grid 'direct' has one point: index 0, got {index}")
        return S.targets[net]
    if grid not in S.grids:
        raise SystemExit(f"unknown grid {grid!r}; grids: direct, {', '.join(S.grids)}")
    pts = S.points(net, grid)
    if not 0 <= index < len(pts):
        raise SystemExit(f"index {index} is outside grid {grid!r} (0-{len(pts) - 1})")
    return pts[index]


def setting(text):
    "`name=value` of `--set`: an int where it reads as one, else a float."
    name, eq, value = text.partition("=")
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"--set takes name=value (a setting of the optimizer), got {text!r}")
    try: return name, int(value)
    except ValueError: pass
    try: return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--set {name}: {value!r} is not a number") from None


def probes(trace):
    "A MorphNet trace's probes in order, `strength -> alive fraction` (or `diverged`), comma-separated."
    return ", ".join(f"{e['strength']:.3g} -> " + ("diverged" if e["alive_fraction"] is None
                                                    else f"{e['alive_fraction']:.3f}")
                     for e in trace if "probe" in e)


def sweep(r):
    "A MorphNet result's sweep, one line: its probes, then the outcome."
    end = [e for e in r.trace if "reached" in e][-1]
    return (f"  sweep: {probes(r.trace)}; kept {end['alive_fraction']:.3f} alive "
            f"({'reached' if end['reached'] else 'missed'} its goal)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("items", nargs="+", help="algorithm:grid:index:seed")
    p.add_argument("--net", default="resnet18", help="the network (the scale's networks)")
    p.add_argument("--scale", default="cpu", help="the scale (scales.SCALES)")
    p.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                   help="a setting over the scale's, for every search (e.g. probes=12)")
    a = p.parse_args()
    S = get_scale(a.scale)
    if a.net not in S.targets:
        raise SystemExit(f"unknown network {a.net!r}; {a.scale} networks: {', '.join(S.targets)}")
    todo = []
    for item in a.items:   # every item checked before any search starts
        parts = item.split(":")
        if len(parts) != 4 or not all(re.fullmatch("[0-9]+", x) for x in parts[2:]):
            raise SystemExit(f"item {item!r} is not algorithm:grid:index:seed (e.g. morphnet:width:0:0)")
        alg, grid, index, seed = parts[0], parts[1], int(parts[2]), int(parts[3])
        if alg not in ALGORITHMS:
            raise SystemExit(f"unknown algorithm {alg!r}; algorithms: {', '.join(ALGORITHMS)}")
        pt = point(S, a.net, grid, index)
        try: search_key(S, alg, a.net, pt, seed, **dict(a.set))   # settings checked, nothing runs
        except ValueError as e: raise SystemExit(f"item {item!r}: {e}") from None
        todo.append((alg, pt, seed))
    for alg, pt, seed in todo:
        t = time.time()
        print(f"-- {a.net} {alg} {label(pt)} s{seed} start {time.strftime('%H:%M')}", flush=True)
        try:
            r = search(S, alg, a.net, pt, seed, **dict(a.set))
            if alg == "morphnet": print(sweep(r), flush=True)
        except Diverged as e:
            print(f"  DIVERGED {alg} {label(pt)} seed {seed}: {e}", flush=True)
        print(f"== {a.net} {alg} {label(pt)} s{seed} {time.time() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
