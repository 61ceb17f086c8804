"""What a user installs: the wheel and sdist carry every bundled model, and a wheel install reads a page exactly
as the checkout does; a missing bundled file is a one-line error, never a silent change of models."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import REPO
from kuzushiji.cli import main
from kuzushiji.predictor import BUNDLE

SAMPLE = REPO / "samples/100241706_00004_2.jpg"
SHIPPED = [f"kuzushiji/assets/{n}" for n in BUNDLE] + ["kuzushiji/exporters/templates/tei.xml",
                                                        "kuzushiji/server/static/viewer.js", "kuzushiji/data/jibo.csv"]


def _read(python_path: str | None, out, cwd) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if python_path:
        env["PYTHONPATH"] = python_path
    code = ("import sys, kuzushiji; from kuzushiji.cli import main; print(kuzushiji.__file__, file=sys.stderr); "
            f"sys.exit(main(['recognize', {str(SAMPLE)!r}, '-o', {str(out)!r}, '--quiet']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / f"{SAMPLE.stem}.json").read_text(encoding="utf-8"))
    return {"file": r.stderr.splitlines()[0], "chars": [(c["code"], c["box"]) for c in d["chars"]], "text": d["text"]}


def test_wheel_and_sdist_ship_every_asset_and_read_as_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(dist)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    wheel = next(dist.glob("kuzushiji-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(SHIPPED) <= names, set(SHIPPED) - names
    sdist = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta as b; "
                            f"print(b.build_sdist({str(dist)!r}))"], cwd=REPO, capture_output=True, text=True,
                           timeout=600)
    assert sdist.returncode == 0, sdist.stderr
    with tarfile.open(dist / sdist.stdout.split()[-1]) as t:
        members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
    assert {f"src/{n}" for n in SHIPPED} <= members

    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    installed = _read(str(target), tmp_path / "a", tmp_path)
    checkout = _read(None, tmp_path / "b", tmp_path)
    assert installed["file"].startswith(str(target)) and not checkout["file"].startswith(str(target))
    assert installed["chars"] == checkout["chars"] and installed["text"] == checkout["text"]


def test_a_missing_bundled_file_is_one_line(tmp_path, monkeypatch, capsys):
    from kuzushiji import predictor

    real = predictor.asset_path
    monkeypatch.setattr(predictor, "asset_path", lambda n: tmp_path / n if n == "lm.npz" else real(n))
    assert main(["recognize", str(SAMPLE), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lm.npz: bundled model file missing" in err[0]
    assert "incomplete, lm.npz missing" in predictor.bundle_version()


def test_version_names_package_and_bundle(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    out = capsys.readouterr().out
    assert out.startswith("kuzushiji 0.1.0 (models: bundle ") and "missing" not in out
