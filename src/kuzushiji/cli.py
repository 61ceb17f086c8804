"""``kuzushiji`` command line: short verbs, each a thin wrapper over the Python API."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import DataError


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_files, format_report, write_per_class

    report = evaluate_files(args.truth, args.pred, class_agnostic=args.class_agnostic,
                            per_class=bool(args.per_class), check_vocab=not args.no_vocab_check)
    print(format_report(report, per_page=not args.summary))
    if args.per_class:
        write_per_class(report, args.per_class)
        print(f"per-class counts written to {args.per_class}")
    return 0


def cmd_cer(args: argparse.Namespace) -> int:
    from .cer import edit_distance, reading, spelling_distance
    from .io.text import read_text

    hyp, ref = (reading(read_text(path)) for path in (args.hyp, args.ref))
    if not ref:
        raise DataError(args.ref, "the reference has no characters")
    d = spelling_distance(hyp, ref) if args.spelling else edit_distance(hyp, ref)
    what = "kanji = a kana spelling of its reading" if args.spelling else "strict"
    print(f"CER {d / len(ref):.4f} ({d} edits, {len(hyp)} characters read, {len(ref)} in the reference; "
          f"after reading normalisation, {what})")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .evaluate import read_labels_for_image
    from .io.atomic import atomic_save_image
    from .io.image import load_image
    from .visualize import draw_overlay

    image = load_image(args.image)
    image_id = args.image_id or Path(args.image).stem
    boxes, points = read_labels_for_image(args.labels, image_id) if args.labels else ([], [])
    im = draw_overlay(image, boxes, points, max_side=args.max_side)
    atomic_save_image(args.output, im)
    print(f"{args.output}: {len(boxes)} boxes, {len(points)} points drawn on {image_id}")
    return 0


class _Version(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__
        from .predictor import bundle_version

        print(f"kuzushiji {__version__} (models: bundle {bundle_version()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kuzushiji", description="OCR for kuzushiji (pre-modern Japanese cursive script).")
    p.add_argument("--version", action=_Version, nargs=0, help="print the package and model-bundle versions")
    sub = p.add_subparsers(dest="command", required=True)

    from . import cli_data, cli_infer, cli_serve, cli_synth, cli_train

    for module in (cli_infer, cli_serve, cli_data, cli_train, cli_synth):  # reading first, training last
        module.add_commands(sub)

    e = sub.add_parser("evaluate", help="competition F1 of a submission against the truth")
    e.add_argument("--truth", required=True, help="train.csv (U+XXXX x y w h) or CODH coordinate.csv")
    e.add_argument("--pred", required=True, help="submission CSV (U+XXXX cx cy)")
    e.add_argument("--class-agnostic", action="store_true", help="detection F1: ignore labels when matching")
    e.add_argument("--per-class", metavar="FILE", help="write per-class TP/FP/FN to this CSV")
    e.add_argument("--summary", action="store_true", help="print only the overall line")
    e.add_argument("--no-vocab-check", action="store_true", help="accept codes outside the 4,787-code vocabulary")
    e.set_defaults(func=cmd_evaluate)

    c = sub.add_parser("cer", help="character error rate of page text against a transcription")
    c.add_argument("hyp", help="recognized text (UTF-8, e.g. recognize's .txt; line breaks ignored)")
    c.add_argument("ref", help="the transcription of the same pages (UTF-8)")
    c.add_argument("--spelling", action="store_true", help="a kanji also matches a kana spelling of its reading "
                                                          "(給 = たまふ): for a transcription of another copy")
    c.set_defaults(func=cmd_cer)

    s = sub.add_parser("show", help="draw boxes or points with their modern characters on a page")
    s.add_argument("image", help="the page image")
    s.add_argument("--labels", help="train.csv, submission CSV or CODH coordinate.csv")
    s.add_argument("--image-id", help="row to draw (default: the image file name without extension)")
    s.add_argument("-o", "--output", required=True, help="the image to write (.png or .jpg)")
    s.add_argument("--max-side", type=int, default=2000, help="longest side of the drawing in pixels (default 2000)")
    s.set_defaults(func=cmd_show)
    document(p)
    return p


# One example per command, shown at the end of its --help.
EXAMPLES = {
    "recognize": "kuzushiji recognize scans/*.jpg book.pdf -o out --format json,txt,csv,tei --overlay",
    "batch": "kuzushiji batch scans/ -o out --recursive --engine ray --resume",
    "align": "kuzushiji align scans/*.jpg --text book.txt -o labels --overlay",
    "memory": "kuzushiji memory labels fixes -o mine.npz --extend bundled",
    "adapt": "kuzushiji adapt book/*.jpg -o book.npz && kuzushiji recognize book/*.jpg -o out --memory book.npz",
    "classify": "kuzushiji classify crop.png kmnist-test-imgs.npz --restrict kmnist --top-k 3",
    "serve": "kuzushiji serve --data kuzushiji_data --port 8000",
    "export-corrections": "kuzushiji export-corrections --data kuzushiji_data -o fixes",
    "users": "kuzushiji users add alice --data kuzushiji_data",
    "data": "kuzushiji data get k49 -o data",
    "data get": "kuzushiji data get codh 200003076 200014740 -o data",
    "train": "kuzushiji train classifier --source crops --source labels --init bundled --out runs/cls",
    "train detector": "kuzushiji train detector --data synth --data labels --init bundled --out runs/det",
    "train classifier": "kuzushiji train classifier --source crops --source labels --repeat 1 --repeat 20 "
                        "--init bundled --epochs 4 --out runs/cls",
    "train columns": "kuzushiji train columns --source cols_synth.npz --source cols_book.npz --repeat 1 --repeat 4 "
                     "--val cols_val.npz --out runs/columns",
    "prepare-columns": "kuzushiji prepare-columns --pages synth --aligned labels --text book.txt --images scans "
                       "-o cols.npz",
    "prepare": "kuzushiji prepare --source npz:k49-train-imgs.npz,k49-train-labels.npz,k49_classmap.csv "
               "--source kkanji2 -o combined",
    "export": "kuzushiji export classifier runs/cls/best.pt -o mine.onnx",
    "synth": "kuzushiji synth pages -o synth -n 3000",
    "synth pages": "kuzushiji synth pages -o synth -n 3000 --workers 2",
    "synth crops": "kuzushiji synth crops -o crops --top 1500 --per-class 64",
    "synth fonts": "kuzushiji synth fonts",
    "evaluate": "kuzushiji evaluate --truth train.csv --pred out/submission.csv --per-class per_class.csv",
    "cer": "kuzushiji cer out/page.txt transcription.txt --spelling",
    "show": "kuzushiji show page.jpg --labels train.csv -o shown.png",
}

# Help for options many commands share, where a command gives none of its own.
COMMON_HELP = {
    "--threads": "CPU threads for inference or training (default 0: onnxruntime's / torch's choice)",
    "--quiet": "no progress bars",
    "--seed": "random seed (default %(default)s)",
    "--epochs": "passes over the training data (default %(default)s)",
    "--batch": "batch size (default %(default)s)",
    "--lr": "peak learning rate (default %(default)s)",
    "--precision": "auto: bf16 autocast on CPU and CUDA where supported, else fp32 (default %(default)s)",
    "--output": "where to write",
    "--workers": "worker processes (default %(default)s)",
    "--model": "model name from the registry (default %(default)s)",
    "--mixup": "mixup alpha, 0 for none (default %(default)s)",
    "--crop": "training crop side in pixels (default %(default)s)",
    "--max-pages": "use at most this many pages of each --data folder (default: all)",
    "--size": "crop side in pixels (default %(default)s)",
    "--per-class": "crops per class (default %(default)s)",
    "--shared": "the shared data folder (default ../shared/data)",
    "--height": "page height in pixels (default %(default)s)",
    "--cap": "at most this many crops per class (default %(default)s)",
    "--min-per-class": "classes with fewer crops are repeated up to this many (default %(default)s)",
    "--source": "a crop source: a crops folder, npz:IMAGES,LABELS,CLASSMAP, or a Kuzushiji-Kanji folder; repeat",
    "--top-k": "candidates per crop (default %(default)s)",
    "-n": "how many pages (default %(default)s)",
}


def document(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Every option gets a help line (a shared one where the command gives none) and every command its example."""
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                document(sp, f"{path} {name}".strip())
        elif not a.help and not isinstance(a, argparse._HelpAction):
            key = next((o for o in a.option_strings if o.startswith("--")), (a.option_strings or [a.dest])[0])
            a.help = COMMON_HELP.get(key, COMMON_HELP.get(a.option_strings[0] if a.option_strings else "", ""))
    if path in EXAMPLES:
        parser.epilog = f"example:\n  {EXAMPLES[path]}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
