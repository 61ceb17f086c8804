"""The CLI end to end on the real dev pages: evaluate and show."""
import csv

from kuzushiji.cli import main
from kuzushiji.io.kaggle import read_train_csv, truth_as_points, write_submission


def _f1(capsys) -> float:
    out = capsys.readouterr().out
    line = [l for l in out.splitlines() if l.startswith("precision")][-1]
    return float(line.split("F1")[1])


def test_evaluate_self_empty_shifted(dev_pages, tmp_path, capsys):
    truth = dev_pages / "train.csv"
    centres = tmp_path / "centres.csv"
    write_submission(centres, truth_as_points(dict(read_train_csv(truth))))
    assert main(["evaluate", "--truth", str(truth), "--pred", str(centres)]) == 0
    assert _f1(capsys) == 1.0
    empty = tmp_path / "empty.csv"
    empty.write_text("image_id,labels\n")
    assert main(["evaluate", "--truth", str(truth), "--pred", str(empty)]) == 0
    assert _f1(capsys) == 0.0
    shifted = tmp_path / "shifted.csv"
    with open(shifted, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", "labels"])
        for image_id, boxes in read_train_csv(truth):
            w.writerow([image_id, " ".join(f"{b.code} {b.x + b.w + 1:.0f} {b.y + b.h / 2:.0f}" for b in boxes)])
    assert main(["evaluate", "--truth", str(truth), "--pred", str(shifted), "--per-class", str(tmp_path / "pc.csv")]) == 0
    assert _f1(capsys) == 0.0
    rows = list(csv.DictReader(open(tmp_path / "pc.csv", encoding="utf-8")))
    assert sum(int(r["fn"]) for r in rows) == 392 and sum(int(r["tp"]) for r in rows) == 0


def test_evaluate_bad_input_one_line(tmp_path, capsys, dev_pages):
    bad = tmp_path / "bad.csv"
    bad.write_text("image_id,labels\np,U+3042 1\n")
    assert main(["evaluate", "--truth", str(dev_pages / "train.csv"), "--pred", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.csv:2" in err


def test_show(dev_pages, tmp_path):
    out = tmp_path / "o.png"
    img = dev_pages / "images/100241706_00004_2.jpg"
    assert main(["show", str(img), "--labels", str(dev_pages / "train.csv"), "-o", str(out), "--max-side", "800"]) == 0
    from PIL import Image
    im = Image.open(out)
    assert max(im.size) == 800


def test_cer_command(tmp_path, capsys):
    hyp, ref = tmp_path / "page.txt", tmp_path / "ref.txt"
    hyp.write_text("御心ちに\nいとあはれ", encoding="utf-8")
    ref.write_text("御こころちにいとあはれ", encoding="utf-8")
    assert main(["cer", str(hyp), str(ref)]) == 0
    assert "CER 0.2727 (3 edits" in capsys.readouterr().out  # 心 for こころ: 1 substitution, 2 insertions
    assert main(["cer", str(hyp), str(ref), "--spelling"]) == 0
    assert "CER 0.0000 (0 edits" in capsys.readouterr().out
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    assert main(["cer", str(tmp_path / "bad.txt"), str(ref)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.txt" in err[0]
