"""Fig 10's numbers for MobileNetV2 (or WT_NET=resnet18) from the records the store holds so far
(nothing runs): Pearson r of the extrapolated widths of each projection with the direct searches
(seeds 0-2), the start-only widths and, where a projection was also searched with seed 1, its own seed 1 (and the mean r of both seeds with the direct searches), computed as nbs/paper/fig10.ipynb does (`runs.transfer`, `study.width_similarity`, `runs.cached_only`);
points not yet searched are named and skipped.

    python benchmarks/fig10_so_far.py dmcp morphnet
"""
import os
import sys
from width_transfer.scales import get_scale, network
from width_transfer.runs import transfer, start_only, cached_only, search
from width_transfer.study import width_similarity, source_name, resolution_of
from width_transfer.results import Diverged
S = get_scale("cpu"); n = os.environ.get("WT_NET", "mobilenetv2")
if n not in S.targets: sys.exit(f"WT_NET={n!r} is not a cpu-scale network: {', '.join(S.targets)}")
target = S.targets[n]; base = network(S, n, target)
algos = sys.argv[1:] or ["dmcp", "morphnet"]
with cached_only():
    for a in algos:
        archs = {}
        for sd in (0, 1, 2):
            try: archs[f"direct s{sd}"] = transfer(S, a, n, target, target, sd, S.stacking)[0]
            except Exception as e: pass
        archs["start only"] = start_only(S, a, n, target)
        for g in ("width", "resolution", "data", "compound"):
            pts = S.points(n, g)
            for rel, p in zip(S.grids[g][:-1], pts[:-1]):
                src = source_name(g, rel, resolution_of(S, p))
                for sd in (0, 1):   # seed 1 of a projection, where searched: its own spread
                    name = src if sd == 0 else f"{src} s1"
                    try:
                        archs[name] = transfer(S, a, n, p, target, sd, S.stacking)[0]
                    except Diverged as e:
                        print(f"{a} {name}: diverged")
                    except Exception as e:
                        if sd == 0: print(f"{a} {name}: {type(e).__name__} {str(e)[:150]}")
        names = list(archs)
        print(a, names)
        for x in names:
            r = {y: round(width_similarity(archs[x], archs[y], base), 2) for y in names
                 if y.startswith("direct") or y == "start only" or y == f"{x} s1"}
            print(f"  {x:>14}: " + ", ".join(f"{k} {v}" for k, v in r.items()))
        directs = [y for y in names if y.startswith("direct")]
        for x in names:   # a projection searched with both seeds: its mean r with the direct searches
            if f"{x} s1" in archs:
                both = [width_similarity(archs[v], archs[d], base) for v in (x, f"{x} s1") for d in directs]
                print(f"  {x:>14}: both seeds, mean r with the direct searches {sum(both) / len(both):.2f}")
