"""Provenance of a pip install (PEP 610): where the package came from is recorded beside the
config, never in it."""
import importlib.metadata
import json

import width_transfer.results as R
from width_transfer.arch import base_arch, scale_width
from width_transfer.data import synthetic
from width_transfer.optimize import search_config, run_search

GIT = {"url": "https://github.com/width-transfer/width_transfer",
       "vcs_info": {"vcs": "git", "commit_id": "0123456789abcdef0123456789abcdef01234567"}}


class FakeDistribution:
    "What `importlib.metadata.distribution` returns, holding only a direct_url.json."
    def __init__(self, direct_url): self.direct_url = direct_url
    def read_text(self, name): return self.direct_url if name == "direct_url.json" else None


def pip_installed(monkeypatch, direct_url):
    "As if pip had installed width_transfer (outside a git checkout) with this direct_url.json."
    monkeypatch.setattr(R, "git_revision", lambda path=None: "unknown")
    fake = FakeDistribution(direct_url)
    monkeypatch.setattr(importlib.metadata, "distribution",
                        lambda name: fake if name == "width_transfer" else None)


def test_provenance_says_where_pip_installed_from(monkeypatch):
    pip_installed(monkeypatch, json.dumps(GIT))
    p = R.provenance()
    assert p["installed_from"] == f"git+{GIT['url']}@{GIT['vcs_info']['commit_id']}"
    assert p["git_rev"] == GIT["vcs_info"]["commit_id"]
    editable = {"url": "file:///src/wt", "dir_info": {"editable": True}}
    pip_installed(monkeypatch, json.dumps(editable))
    p = R.provenance()
    assert (p["installed_from"], p["git_rev"]) == ("editable file:///src/wt", "unknown")
    pip_installed(monkeypatch, None)   # from an index: the version says which
    assert R.provenance()["installed_from"] == "package index"


def test_a_pip_install_keys_its_records_as_a_checkout_does(monkeypatch, tmp_path):
    "One search recorded from a checkout and from a pip install: same config, hash and file name."
    arch = scale_width(base_arch("resnet18", 10, 1, True), 0.125)
    data = synthetic(64)
    monkeypatch.setattr(R, "git_revision", lambda path=None: "5fa6a3f")   # in a git checkout
    config = search_config("slimming", arch, data, epochs=1, batch_size=32)
    assert not set(config) & set(R.provenance()) and "installed_from" not in json.dumps(config)
    run_search(config, data, tmp_path / "checkout", progress=False)
    pip_installed(monkeypatch, json.dumps(GIT))
    assert search_config("slimming", arch, data, epochs=1, batch_size=32) == config
    run_search(config, data, tmp_path / "pip", progress=False)
    name = f"{R.config_hash(config)}.json"
    checkout, pip = (R.load_record(tmp_path / d / name) for d in ("checkout", "pip"))
    assert (checkout["git_rev"], pip["git_rev"]) == ("5fa6a3f", GIT["vcs_info"]["commit_id"])
    assert pip["installed_from"].startswith("git+") and "installed_from" not in checkout
    assert pip["config"] == checkout["config"] and pip["hash"] == checkout["hash"]
