"""Write an evaluation result as Markdown, HTML (tables and plots) and JSON.

Example:
    >>> write_report(result, Path("out/eval"))   # doctest: +SKIP
    PosixPath('out/eval/report.md')
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from garmle.evaluation.harness import EvaluationResult

__all__ = ["environment", "markdown_table", "write_report"]


def environment() -> dict[str, str]:
    """Machine, device and library versions, recorded with every table of numbers.

    Example:
        >>> "python" in environment()
        True
    """
    import os
    from importlib import metadata

    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": str(os.cpu_count()),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), ""
            )
        if model:
            info["machine"] = model
    except OSError:
        pass
    for package in ("garmle", "chromadb", "sentence-transformers", "torch", "ranx", "rank-bm25"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    try:
        import torch

        info["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except ImportError:
        info["device"] = "cpu"
    return info


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats with three decimals.

    Example:
        >>> print(markdown_table(["a", "b"], [["x", 0.5]]))
        | a | b |
        |---|---|
        | x | 0.500 |
    """

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "n/a" if math.isnan(value) else f"{value:.3f}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _plots(result: EvaluationResult, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result.systems)
    key = f"key_recall@{result.k}"
    metrics = [
        (key, "key-rec recall"),
        ("snippet_pop/precision@5", "P@5 (pop.)"),
        ("snippet_pop/ndcg@10", "nDCG@10 (pop.)"),
    ]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names)), 4.0))
    width = 0.8 / len(metrics)
    for i, (metric, label) in enumerate(metrics):
        values = [result.summary[n].get(metric, 0.0) for n in names]
        ax.bar([x + i * width for x in range(len(names))], values, width, label=label)
    ax.set_xticks([x + width for x in range(len(names))], names, rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over cases")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("garmle and baselines")
    fig.tight_layout()
    fig.savefig(out_dir / "systems.png", dpi=110)
    plt.close(fig)

    reference = names[0]
    fig, ax = plt.subplots(figsize=(6.0, 0.35 * len(names) + 1.5))
    rows = [n for n in names if n in result.comparisons and key in result.comparisons[n]]
    for y, name in enumerate(rows):
        comp = result.comparisons[name][key]
        low, high = comp["mean_diff"] - comp["ci_low"], comp["ci_high"] - comp["mean_diff"]
        ax.errorbar(comp["mean_diff"], y, xerr=[[low], [high]], fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(f"{reference} minus system: key-rec recall@{result.k} (95% bootstrap CI)")
    fig.tight_layout()
    fig.savefig(out_dir / "paired.png", dpi=110)
    plt.close(fig)
    return ["systems.png", "paired.png"]


_DETAIL = ("precision@5", "mrr", "ndcg@10")


def _sections(result: EvaluationResult, cases_path: str, plots: Sequence[str]) -> list[tuple[str, str]]:
    """(heading, Markdown body) pairs of the report."""
    from garmle.evaluation.harness import results_table

    env = environment()
    key = f"key_recall@{result.k}"
    names = list(result.systems)
    reference = names[0]
    out: list[tuple[str, str]] = []
    idx = result.index
    setup = [
        f"Cases: `{cases_path}` ({len(result.cases)} cases); ranked lists cut at k = {result.k}.",
        f"Index: `{idx.get('location', '')}`: {idx.get('documents', '?')} documents, "
        f"{idx.get('chunks', '?')} chunks, model `{idx.get('embedding_model', '?')}`.",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
    ]
    out.append(("Setup", "\n\n".join(setup)))
    out.append(("Results", results_table(result)))
    out.append(
        ("Systems", markdown_table(["system", "what it does"], [[n, d] for n, d in result.systems.items()]))
    )
    detail_rows = []
    for name in names:
        s = result.summary[name]
        detail_rows.append(
            [name]
            + [s.get(f"{level}/{m}", 0.0) for level in ("snippet_topic", "doc_topic") for m in _DETAIL]
            + [
                s.get("snippet_pop/precision@10", 0.0),
                s.get("doc_pop/mrr", 0.0),
                s.get("key_recall_micro", 0.0),
            ]
        )
    out.append(
        (
            "Ranking metrics (ranx)",
            "Topic rule: the guideline's Disease/Condition(s) matches the case; population rule: and its "
            "Target Population admits the patient.\n\n"
            + markdown_table(
                [
                    "system",
                    *(f"{lvl} {m} (topic)" for lvl in ("snippet", "doc") for m in _DETAIL),
                    "snippet P@10 (pop)",
                    "doc MRR (pop)",
                    "key recall (micro)",
                ],
                detail_rows,
            ),
        )
    )
    comp_rows = []
    for name, metrics in result.comparisons.items():
        for metric, c in metrics.items():
            comp_rows.append(
                [name, metric, c["mean_diff"], f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}]", c["significant"]]
            )
    out.append(
        (
            f"Paired comparison: {reference} minus each system",
            "Per-case differences, percentile bootstrap 95% CI over cases.\n\n"
            + markdown_table(["system", "metric", "mean diff", "95% CI", "CI excludes 0"], comp_rows),
        )
    )
    if result.coding:
        metric_names = list(next(iter(result.coding.values())))
        out.append(
            (
                "ICD-10 coding (cases without given codes)",
                markdown_table(
                    ["system / level", *metric_names],
                    [[n, *(v[m] for m in metric_names)] for n, v in result.coding.items()],
                ),
            )
        )
    case_rows = []
    for i, case_id in enumerate(result.cases):
        row: list[Any] = [case_id]
        for name in names:
            row.append(result.per_case[name][key][i])
        case_rows.append(row)
    out.append(
        (f"Key-recommendation recall@{result.k} per case", markdown_table(["case", *names], case_rows))
    )
    unreachable = [f"{c}: {k}" for c, keys in result.reachable.items() for k, ok in keys.items() if not ok]
    miss_lines = []
    for miss in result.misses:
        returned = "; ".join(
            f"*{r['title'][:60]}* ({r['aspect']}): {r['text'][:100]}" for r in miss["returned"]
        )
        flag = "" if miss["reachable"] else " (not in this index)"
        miss_lines.append(
            f"- **{miss['case']} / {miss['key']}**{flag}: {miss['description']}. Codes: "
            f"{', '.join(miss['predicted']) or 'none'}. Returned instead: {returned or 'nothing'}"
        )
    out.append(
        (
            f"Key recommendations {reference} missed",
            ("\n".join(miss_lines) or "None.")
            + "\n\nKey recommendations no chunk of this index states: "
            + (", ".join(unreachable) or "none")
            + ".",
        )
    )
    if plots:
        out.append(("Plots", "\n\n".join(f"![{p}]({p})" for p in plots)))
    return out


def _markdown_to_html(body: str) -> str:
    """The small Markdown subset the report uses (tables, bullets, images, emphasis) as HTML."""
    parts: list[str] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            table = []
            while i < len(lines) and lines[i].startswith("|"):
                table.append([c.strip().replace("\\|", "|") for c in lines[i].strip("|").split(" | ")])
                i += 1
            head, rows = table[0], table[2:]
            parts.append(
                "<table><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
            continue
        if line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            parts.append("<ul>" + "".join(items) + "</ul>")
            continue
        if line.startswith("!["):
            src = line[line.index("(") + 1 : line.rindex(")")]
            parts.append(f'<p><img src="{html.escape(src)}" alt="{html.escape(src)}"></p>')
        elif line.strip():
            parts.append(f"<p>{_inline(line)}</p>")
        i += 1
    return "\n".join(parts)


def _inline(text: str) -> str:
    import re

    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\*(.+?)\*", r"<i>\1</i>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def write_report(
    result: EvaluationResult, out_dir: Path, *, cases_path: str = "", plots: bool = True
) -> Path:
    """Write ``report.md``, ``report.html``, ``results.json`` and PNG plots to ``out_dir``.

    Returns:
        The path of ``report.md``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(
        json.dumps(_without_nan({**result.to_dict(), "environment": environment()}), indent=2, default=str),
        encoding="utf-8",
    )
    images = _plots(result, out_dir) if plots else []
    sections = _sections(result, cases_path, images)
    title = "garmle evaluation"
    markdown = f"# {title}\n\n" + "\n\n".join(f"## {h}\n\n{b}" for h, b in sections) + "\n"
    path = out_dir / "report.md"
    path.write_text(markdown, encoding="utf-8")
    style = (
        "body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
        "font-size:.9rem}th{background:#f3f3f3}img{max-width:100%}"
    )
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{_markdown_to_html(b)}" for h, b in sections)
    (out_dir / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style>"
        f"</head><body><h1>{title}</h1>\n{body}\n</body></html>\n",
        encoding="utf-8",
    )
    return path


def _without_nan(value: Any) -> Any:
    """JSON has no NaN: an undefined per-case value (no key recommendations) becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(v) for v in value]
    return value
