"""Write ``src/kuzushiji/data/kanji_readings.tsv``: the readings KANJIDIC gives each kanji of the classifier's
vocabulary and of the Genji transcription, as KANJIDIC writes them (``キュウ`` on, ``たま.う`` kun with its
okurigana after the dot). :func:`kuzushiji.cer.kanji_readings` turns them into the kana a copy may write instead.

KANJIDIC © Electronic Dictionary Research and Development Group, CC BY-SA 3.0 (Debian package ``kanjidic``).

usage: python scripts/build_readings.py [--kanjidic /usr/share/edict/kanjidic] [-o OUT.tsv]
"""
import argparse
import csv
from pathlib import Path

from kuzushiji.io.atomic import atomic_write_text
from kuzushiji.vocab import code_to_char, default_vocabulary

p = argparse.ArgumentParser()
p.add_argument("--kanjidic", default="/usr/share/edict/kanjidic", help="EUC-JP KANJIDIC (apt-get install kanjidic)")
p.add_argument("--genji", default=str(Path(__file__).resolve().parents[2] / "shared/data/genji_transcription/"
                                      "genji_text_lines.csv"))
p.add_argument("-o", "--out",
               default=str(Path(__file__).resolve().parents[1] / "src/kuzushiji/data/kanji_readings.tsv"))
a = p.parse_args()

wanted = {code_to_char(c) for c in default_vocabulary().codes if c.startswith("U+")}
if Path(a.genji).is_file():
    wanted |= {ch for r in csv.DictReader(open(a.genji, encoding="utf-8")) for ch in r["text"]}
rows = []
for line in Path(a.kanjidic).read_bytes().decode("euc_jp", errors="replace").splitlines():
    if line.startswith("#"):
        continue
    fields = line.split()
    if not fields or fields[0] not in wanted:
        continue
    readings = []
    for f in fields[2:]:
        if f in ("T1", "T2") or f.startswith("{"):  # name readings and meanings follow
            break
        if not f[0].isascii() or f[0] == "-":
            readings.append(f.strip("-"))
    if readings:
        rows.append(f"{fields[0]}\t{' '.join(readings)}")
header = ("# kanji<TAB>readings (KANJIDIC: on in katakana, kun in hiragana with okurigana after '.'). "
          "KANJIDIC (c) EDRDG, CC BY-SA 3.0; built by scripts/build_readings.py\n")
atomic_write_text(Path(a.out), header + "\n".join(rows) + "\n")
print(f"{len(rows)} kanji -> {a.out}")
