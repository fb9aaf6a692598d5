"""Regenerate benchmarks/README.md from the result files in benchmarks/results/.

One row per benchmark script: its latest headline figures, read from its
result file (so re-running a benchmark, then this script, updates the page),
the command that produced them and the load of the machine when the file
records it. Scripts without a result file are listed as not run; result files
this script has no reader for still get a row (their bold lines).

Run: python -m benchmarks.make_readme
"""

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


# -- reading result files --------------------------------------------------
def tables(text):
    """Every markdown table in ``text`` as a list of {header: cell} dicts."""
    out, rows, header = [], [], None
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set("-: "):
                rows.append(dict(zip(header, cells, strict=False)))
        elif header is not None:
            out.append(rows)
            rows, header = [], None
    return out


def bold(text):
    return [b for b in re.findall(r"\*\*(.+?)\*\*", text) if not b.startswith("mean")]


def plain(cell):
    return cell.replace("**", "").strip()


def number(cell):
    match = re.search(r"-?\d+(\.\d+)?", plain(cell))
    return float(match.group()) if match else float("nan")


def row_where(rows, column, startswith):
    return next(r for r in rows if plain(r[column]).startswith(startswith))


# -- one headline reader per benchmark ---------------------------------------
def embed_quality(text):
    rows = tables(text)[0]
    parts = []
    for data in dict.fromkeys(r["data"] for r in rows):
        pair = [r for r in rows if r["data"] == data]
        base = next(r for r in pair if "features" not in r["features"])
        ours = next(r for r in pair if "features" in r["features"])
        parts.append(
            f"{data.split(' (')[0]}: {ours['accuracy']} frozen features vs "
            f"{base['accuracy']} {base['features'].split(' +')[0]}"
        )
    return "accuracy " + "; ".join(parts)


def finetune_accuracy(text):
    parts = []
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    for title, rows in zip(sections, tables(text), strict=False):
        if "configuration" not in rows[0] or "accuracy" not in rows[0]:
            continue
        best = max(rows, key=lambda r: number(r["accuracy"]))
        frozen = row_where(rows, "configuration", "frozen")
        scratch = row_where(rows, "configuration", "from scratch")
        head = f"{title.split(':')[0]} ({title.split(':')[1].split('(')[0].strip()}): "
        if best is not frozen:
            head += f"best {plain(best['configuration'])} {best['accuracy']}, "
        parts.append(
            f"{head}frozen features + LogisticRegression {frozen['accuracy']}, "
            f"from scratch {scratch['accuracy']}"
        )
    return "<br>".join(parts)


def odds_wrapper(text):
    means = row_where(tables(text)[0], "data set", "mean")
    detectors = [k for k in means if k not in ("data set", "n", "d", "outliers")]
    aucs = ", ".join(f"{d} {plain(means[d]).split(' / ')[0]}" for d in detectors)
    diff = re.search(r"make_outlier_scorer.*?\*\*(.+?)\*\*", text)
    return (
        f"largest AUC difference wrapper vs raw pyod: {diff.group(1) if diff else '?'} "
        f"(17 ODDS sets x 6 detectors x 3 seeds); mean AUC (both): {aucs}"
    )


def image_anomaly(text):
    rows = tables(text)[0]
    best = max(rows, key=lambda r: number(r["features"]))
    return (
        f"mean ROC-AUC over 10 one-class tasks, best on features: "
        f"{best['detector']} {best['features']} (pixels {best['pixels']}); "
        + ", ".join(
            f"{r['detector']} {r['features']} vs {r['pixels']}"
            for r in rows
            if r is not best
        )
        + " (features vs pixels)"
    )


def recommender(text):
    equal = re.search(r"NDCG@10 equal on every model: \*\*(\w+)\*\*", text)
    identical = re.search(r"factors bit-identical: \*\*(\w+)\*\*", text)
    cold = tables(text)[-1] if len(tables(text)) > 1 else []
    out = (
        f"wrapper vs raw implicit: NDCG@10 equal {equal.group(1) if equal else '?'}, "
        f"factors bit-identical {identical.group(1) if identical else '?'}"
    )
    if cold and "NDCG@10" in cold[0]:
        scores = ", ".join(
            f"{plain(r['method']).split(' (')[0]} {r['NDCG@10'].split(' +-')[0]}"
            for r in cold
        )
        out += f"; cold-start NDCG@10 (mean of 3 splits): {scores}"
    return out


def _mean_row(rows, first):
    return row_where(rows, first, "mean")


def _da_summary(rows, first, reference):
    mean = _mean_row(rows, first)
    methods = {k: number(v) for k, v in mean.items() if k != first}
    best = max(methods, key=methods.get)
    return f"mean {reference} {methods[reference]:.1f}, best {best} {methods[best]:.1f}"


def digits_da(text):
    parts = []
    sections = re.findall(r"^## Downstream classifier: (.+)$", text, flags=re.M)
    for title, rows in zip(sections, tables(text), strict=False):
        na = row_where(rows, "method", "NA")
        others = [r for r in rows if number(r["mean"]) == number(r["mean"])]
        best = max(others, key=lambda r: number(r["mean"]))
        parts.append(
            f"{title}: no adaptation {na['mean']}, best {best['method']} "
            f"{best['mean']} (mean target accuracy %, MNIST↔USPS)"
        )
    cnn = [t for t in tables(text) if t and "seconds" in t[0]]
    if cnn:
        methods = ", ".join(f"{r['method'].split(' (')[0]} {r['mean']}" for r in cnn[0])
        parts.append(f"small CNN fine-tuned inside ImageClassifier: {methods}")
    return "<br>".join(parts)


def text_da(text):
    return (
        _da_summary(tables(text)[0], "pair", "NA")
        + " (target accuracy %, 6 review-site pairs)"
    )


def office_caltech(text):
    rows = tables(text)[0]
    mean = _mean_row(rows, "pair")
    return (
        f"full protocol, mean over 12 pairs: CORAL {plain(mean['CORAL'])} "
        f"(paper {plain(mean['paper CORAL'])}), no adaptation "
        f"{plain(mean['NA, z-score per domain'])} (paper {plain(mean['paper NA'])}); "
        "see the file for why the gain is smaller"
    )


def cache_gridsearch(text):
    rows = tables(text)[0]
    parts = [
        f"{r['data'].split(',')[0]} (n={r['items']}): {plain(r['speed-up'])} faster, "
        f"identical scores: {r[next(k for k in r if k.startswith('identical'))]}"
        for r in rows
    ]
    lookup = re.search(r"10,000 entries.*?\*\*(.+?)\*\*", text, flags=re.S)
    if lookup:
        parts.append(f"cache get of 10,000 entries: {lookup.group(1)}")
    return "<br>".join(parts)


def cache_keys(text):
    rows = tables(text)[0]
    files = re.search(r"\n(\d+) Fashion-MNIST", text)
    parts = [
        f"{plain(r['transform of all files']).replace('fully cached, ', '')}: "
        f"{plain(r['seconds'])} s, {plain(r['speed-up vs computing'])}"
        for r in rows
    ]
    head = f"{files.group(1)} JPEG files: " if files else ""
    return head + "; ".join(parts) + " (speed-up vs computing; goal content >= 20x)"


def compile_check(text):
    rows = tables(text)[0]
    cost = re.search(r"Compilation cost.*?: (.+?)\. ", text)
    costs = cost.group(1).split(", ") if cost else []
    if len(costs) != len(rows):
        costs = ["?"] * len(rows)
    return "; ".join(
        f"{r['embedder'].split(',')[1].strip()}: steady {plain(r['steady speed-up'])} "
        f"({r['eager items/s']} to {r['compiled items/s']} items/s), "
        f"compilation {c} once per process"
        for r, c in zip(rows, costs, strict=True)
    )


def bold_lines(text):
    """The lines that hold bold figures, up to the end of their sentence."""
    out = []
    for line in text.splitlines():
        if "**" not in line or line.lstrip().startswith("|"):
            continue
        end = line.find(". ", line.rfind("**"))
        out.append(plain(line if end < 0 else line[: end + 1]).lstrip("*- "))
    return "<br>".join(out) or "see the file"


# script name -> (result file stem, what it measures, headline reader)
BENCHMARKS = {
    "embed_quality": (
        "embed_quality",
        "frozen features vs raw inputs",
        embed_quality,
    ),
    "embed_throughput": (
        "embed_throughput",
        "ImageEmbedder vs a hand-written timm loop",
        bold_lines,
    ),
    "text_throughput": (
        "text_throughput",
        "TextEmbedder vs SentenceTransformer.encode",
        bold_lines,
    ),
    "batch_size_plot": (
        "batch_size",
        "images/s and sentences/s vs batch size per CPU runtime (plot)",
        bold_lines,
    ),
    "embed_memory": (
        "embed_memory",
        "peak memory embedding image files",
        bold_lines,
    ),
    "cache_gridsearch": (
        "cache_gridsearch",
        "grid search with and without the embedding cache",
        cache_gridsearch,
    ),
    "cache_keys": (
        "cache_keys",
        "fully cached transform: content vs stat keys vs computing",
        cache_keys,
    ),
    "compile_check": ("compile_check", "torch.compile vs eager", compile_check),
    "runtimes": (
        "runtimes",
        "CPU runtimes: torch vs ONNX Runtime vs OpenVINO",
        bold_lines,
    ),
    "finetuned_runtime": (
        "finetuned_runtime",
        "fine-tuned ImageClassifier predict: torch vs OpenVINO vs ONNX Runtime",
        bold_lines,
    ),
    "finetune_accuracy": (
        "finetune_accuracy",
        "fine-tuning vs frozen features vs from scratch",
        finetune_accuracy,
    ),
    "finetune_speed": (
        "finetune_speed",
        "head fast path vs skorch; epoch vs a torch loop",
        bold_lines,
    ),
    "odds_wrapper": (
        "odds_wrapper",
        "OutlierDetector vs raw pyod on ODDS",
        odds_wrapper,
    ),
    "image_anomaly": (
        "image_anomaly",
        "one-class anomaly detection on Fashion-MNIST",
        image_anomaly,
    ),
    "recommender": (
        "recommender",
        "ImplicitRecommender, warm and cold start",
        recommender,
    ),
    "office_caltech": (
        "office_caltech",
        "domain adaptation, Office-Caltech-10 SURF",
        office_caltech,
    ),
    "digits_da": ("digits_da", "domain adaptation, MNIST↔USPS", digits_da),
    "text_da": ("text_da", "domain adaptation, sentiment across sites", text_da),
    "gpu_check": ("gpu_check", "GPU throughput, mixed precision, CPU agreement", None),
}


def command(script, text):
    """The command that produced ``text``, written as ``python -m benchmarks.<script>``."""
    found = re.search(
        r"(?:Command:|Produced by|Generated by)\s*`(python [^`]+)`"
        r"(?:\s*\(`([^`]+)`\))?",
        text,
    )
    args = ""
    if found:
        args = re.sub(r"^python\s+(-m\s+)?\S+", "", found.group(1)).strip()
        if found.group(2) and not args:
            args = found.group(2).strip()
    return f"python -m benchmarks.{script}" + (f" {args}" if args else "")


def script_of(stem):
    """The benchmark module that wrote ``results/<stem>.md`` (``lpft_seed1`` -> ``lpft``)."""
    modules = sorted(
        (
            p.stem
            for p in Path(__file__).parent.glob("*.py")
            if not p.stem.startswith("_")
        ),
        key=len,
        reverse=True,
    )
    return next((m for m in modules if stem == m or stem.startswith(m + "_")), stem)


def row(script, stem, what, reader):
    path = RESULTS / f"{stem}.md"
    if not path.exists():
        note = "not run (no GPU lent)" if script == "gpu_check" else "not run yet"
        return f"| `{script}` | {what} | {note} | `python -m benchmarks.{script}` |"
    text = path.read_text()
    try:
        figures = (reader or bold_lines)(text)
    except (StopIteration, KeyError, IndexError, AttributeError, ValueError) as error:
        figures = f"see the file (headline not read: {type(error).__name__})"
    figures = figures.replace("|", "\\|")
    link = f"[`{script}`](results/{path.name})"
    return f"| {link} | {what} | {figures} | `{command(script, text)}` |"


def main():
    rows = [row(script, *spec) for script, spec in BENCHMARKS.items()]
    known = {spec[0] for spec in BENCHMARKS.values()}
    for path in sorted(RESULTS.glob("*.md")):
        if path.stem not in known:  # a result this page has no reader for yet
            rows.append(row(script_of(path.stem), path.stem, "", bold_lines))
    lines = [
        "# Benchmarks",
        "",
        "Each script measures side by side in one run (ratios, because the "
        "machine is shared and noisy) and writes `results/<name>.md` with its "
        "full tables, settings and raw timings. Run them from the repository "
        "root. This page is generated from those files by "
        "`python -m benchmarks.make_readme`: re-run it after a benchmark.",
        "",
        "![Throughput against batch size per CPU runtime, images and texts]"
        "(results/batch_size.png)",
        "",
        "| benchmark (result file) | what | latest headline figures | command |",
        "|---|---|---|---|",
        *rows,
        "",
        "Unless a result file says otherwise, figures come from a 2-core CPU "
        "machine without a GPU, shared with other jobs; each file says how busy "
        "it was (load average, or wall against CPU time) where it recorded it. "
        "`gpu_check` is the prepared GPU run (under 5 minutes on one GPU).",
    ]
    (HERE / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
