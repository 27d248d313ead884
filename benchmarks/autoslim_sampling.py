"""Does AutoSlim find the known answer when its supernet also trains shapes other than its own?

The original draws each random sub-network of the sandwich rule with one multiplier for the whole
network, so the supernet trains only sub-networks of its own shape (a scaled seed, in the
validation), and the greedy path, which scores sub-networks of other shapes, reads them off a
supernet that never trained them. In the known-answer validation (nbs/paper/validation.ipynb)
AutoSlim returned the seed's shape at 2 and 8 supernet epochs. This script reruns the validation's
direct AutoSlim search on ResNet18 x0.125 with `sampling="per_group"` (one multiplier per layer
group, as mmrazor draws them and as the original's broken `nonuniform` flag meant to), every
other setting the cpu scale's, trains the result with the validation's seeds, and prints its
recovery of the seed-to-uniform gap beside the uniform-sampling search's. Runs are records in
results/cpu (found again on a second call).

    OMP_NUM_THREADS=1 python benchmarks/autoslim_sampling.py [--sampling per_group] [--late 0.4]

The validation's trainings are keyed in fp32 NCHW: on an AVX512-BF16 CPU they are only found when
the engine is made to choose fp32 NCHW (docs/reproduction.md says how the validation was run).
"""
import argparse

from width_transfer.optimizers.autoslim import SAMPLINGS
from width_transfer.runs import network, search, set_cached_only, train
from width_transfer.scales import get_scale
from width_transfer.study import mean_std, recovery, seed_at, supernet_widen, width_vector


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sampling", default="per_group", choices=SAMPLINGS, help="AutoSlim's `sampling`")
    p.add_argument("--late", type=float, default=0.4, help="the validation's `late`")
    p.add_argument("--only-cached", action="store_true", help="start no run, read the store")
    a = p.parse_args()
    if not 0 < a.late < 1: p.error(f"--late must be in (0, 1), got {a.late}")
    set_cached_only(a.only_cached)
    S, net = get_scale("cpu"), "resnet18"
    target = S.targets[net]
    source = S.points(net, "compound")[0]
    uniform = network(S, net, target)
    seed_arch = seed_at(S, net, target, a.late, {2, 3, 4})
    widen = supernet_widen(S, net, [target, source], a.late, {2, 3, 4})   # the validation's
    top1 = lambda arch: [train(S, arch, target, sd)["top1"] for sd in S.seeds]
    (u_m, u_s), (s_m, s_s) = mean_std(top1(uniform)), mean_std(top1(seed_arch))
    gap = u_m - s_m
    if gap <= 0: raise SystemExit(f"the seed ({s_m:.2f}) is not below uniform ({u_m:.2f}): no gap to recover")
    print(f"uniform {u_m:.2f} +- {u_s:.2f}, seed {s_m:.2f} +- {s_s:.2f}: gap {gap:.2f}; "
          f"supernet widen {widen}", flush=True)
    for sampling in dict.fromkeys(["uniform", a.sampling]):
        over = {} if sampling == "uniform" else dict(sampling=sampling)
        r = search(S, "autoslim", net, target, 0, arch=seed_arch, widen=float(widen), **over)
        m, sd = mean_std(top1(r.arch))
        verdict = recovery(m, (s_m, s_s), u_m)
        last = [e for e in r.record["trace"] if "step" in e][-1]
        print(f"sampling {sampling:9s}: top-1 {m:.2f} +- {sd:.2f}, recovery {verdict['recovery']:.2f} "
              f"({'passes' if verdict['passed'] else 'fails'}); "
              f"{r.cost_flops / 1e12:.1f} TFLOPs, {r.record['wall_s']:.0f} s; last greedy step "
              f"held-out CE {last['heldout_ce']:.4f}; multipliers "
              + " ".join(f"{v:.2f}" for v in width_vector(r.arch, uniform)), flush=True)


if __name__ == "__main__":
    main()
