"""`make plan` at the paper scale on a CPU without ImageNet: fig7's notebook, planned, lists a search for
every point of the paper's resolution and data grids, and `wt-plan` prints its bill."""
import json, os, subprocess, sys
from pathlib import Path
from width_transfer.plan import main
from width_transfer.runs import label
from width_transfer.scales import get_scale

ROOT = Path(__file__).resolve().parents[1]

def test_plan_paper_fig7(tmp_path, capsys):
    plan = tmp_path / "plan"
    plan.mkdir()
    env = dict(os.environ, WT_PLAN=str(plan / "fig7.jsonl"))
    p = subprocess.run([sys.executable, "-m", "papermill", "-k", "python3",
                        str(ROOT / "nbs/paper/fig7.ipynb"), str(tmp_path / "fig7.ipynb"),
                        "-p", "scale", "paper", "-p", "data_root", str(tmp_path / "no-imagenet"),
                        "-p", "networks", "resnet18", "-p", "algorithms", "dmcp"],
                       env=env, cwd=ROOT, capture_output=True, text=True)
    lines = [json.loads(l) for l in (plan / "fig7.jsonl").read_text().splitlines()]
    assert lines, p.stderr[-2000:]
    S = get_scale("paper")
    searched = {l["point"] for l in lines if l["kind"] == "search"}
    for grid in ("resolution", "data"):
        for point in S.points("resnet18", grid):
            assert label(point) in searched, (grid, label(point))
    assert all(not l["stored"] and l["key"] is None and "no_key" in l for l in lines)  # no ImageNet
    trainings = [l for l in lines if l["kind"] == "train"]
    assert {l["seed"] for l in trainings} == set(S.seeds) and all(l["epochs"] for l in trainings)
    main([str(plan)])
    out = capsys.readouterr().out
    assert "all (each run once)" in out and "fig7" in out
