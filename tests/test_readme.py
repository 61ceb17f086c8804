"""The README's commands: every `kuzushiji` line parses with the CLI as written, and the fast ones that need no
network, server or training run here for real, in a folder holding the files they name (the Python example too).
Each command prints one example in its --help, and every option has a help line."""
from __future__ import annotations

import argparse
import glob
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO, SHARED
from kuzushiji.cli import build_parser

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(bash|python)\n(.*?)```", README, re.S)
COMMANDS = [re.split(r"\s+#", line)[0].strip() for kind, body in BLOCKS if kind == "bash"
            for line in body.splitlines() if line.startswith("kuzushiji ")]
# what runs for real: no network, no server, no training (those only parse)
RUN = ("kuzushiji recognize samples/", "kuzushiji recognize book.pdf", "kuzushiji evaluate", "kuzushiji cer",
       "kuzushiji show", "kuzushiji classify", "kuzushiji --version")


def test_the_readme_is_short_and_has_its_commands():
    assert len(README.splitlines()) < 300
    assert len(COMMANDS) >= 20 and any(c.startswith("kuzushiji serve") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_parses(command):
    args = shlex.split(command)[1:]
    if args == ["--version"]:
        return
    build_parser().parse_args(args)  # SystemExit on an unknown verb or option


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    (d / "samples").symlink_to(REPO / "samples")
    page = Image.open(REPO / "samples/100241706_00004_2.jpg")
    page.convert("RGB").resize((600, 968)).save(d / "book.pdf")
    (d / "crops").mkdir()
    for i, box in enumerate([(1500, 600, 1700, 800), (1200, 900, 1400, 1100)]):
        page.crop(box).save(d / "crops" / f"c{i}.png")
    truth = SHARED / "kuzushiji_pages_100241706/train.csv"
    if truth.is_file():
        shutil.copy(truth, d / "train.csv")
    (d / "transcription.txt").write_text("自序\n若い時の気強に己やれと思ふ\n", encoding="utf-8")
    return d


def test_the_fast_readme_commands_run(folder):
    ran = []
    for command in COMMANDS:
        if not command.startswith(RUN):
            continue
        if command.startswith("kuzushiji evaluate") and not (folder / "train.csv").is_file():
            continue
        if command.startswith("kuzushiji cer"):  # the page text the recognize line above wrote
            shutil.copy(folder / "out" / "100241706_00004_2.txt", folder / "out" / "page.txt")
        args = [a for x in shlex.split(command)[1:] for a in (sorted(glob.glob(str(folder / x))) if "*" in x else [x])]
        r = subprocess.run([sys.executable, "-m", "kuzushiji.cli", *args], cwd=folder, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, (command, r.stderr[-2000:])
        ran.append(command)
    assert len(ran) >= 8, ran
    assert (folder / "shown.png").is_file() and (folder / "out" / "book_p0001.tei.xml").is_file()


def test_the_readme_python_example_runs(folder):
    code = next(body for kind, body in BLOCKS if kind == "python")
    r = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) >= 6


def _commands(parser: argparse.ArgumentParser, path: str = ""):
    yield path, parser
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                yield from _commands(sp, f"{path} {name}".strip())


def test_every_option_has_help_and_every_command_an_example():
    for path, parser in _commands(build_parser()):
        for a in parser._actions:
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
                assert a.help, (path, a.option_strings or a.dest)
        if path:
            assert parser.epilog and parser.epilog.startswith("example:\n  kuzushiji " + path.split()[0]), path
