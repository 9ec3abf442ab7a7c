"""The ``garmle`` command line: thin over the indexing stage and the :class:`~garmle.Recommender` facade.

Every option has an environment-variable fallback; user mistakes end as one ``error: ...`` line and a
non-zero exit status.

Example:
    $ garmle --index index/ --mirror ../shared/data index add demo icd10cm:I00-I99
    $ garmle --index index/ recommend patient.json --format text
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from garmle.config import (
    ENV_CHROMA_URL,
    ENV_DEVICE,
    ENV_INDEX,
    ENV_MIRROR,
    ENV_MODEL,
    Settings,
    offline_environment,
)
from garmle.errors import GarmleError
from garmle.ingest.ngc import POPULATION_GROUPS

__all__ = ["main"]

log = logging.getLogger("garmle")


class _Context:
    def __init__(self, settings: Settings, collection: str) -> None:
        self.settings = settings
        self.collection = collection


def _settings(ctx: click.Context) -> _Context:
    obj = ctx.find_object(_Context)
    assert obj is not None
    return obj


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--index",
    "index_dir",
    envvar=ENV_INDEX,
    default="index",
    show_default=True,
    help=f"Index directory of the embedded store [env {ENV_INDEX}].",
)
@click.option(
    "--chroma-url",
    envvar=ENV_CHROMA_URL,
    default=None,
    help=f"Use a Chroma server (`chroma run`) at this URL instead of the directory [env {ENV_CHROMA_URL}].",
)
@click.option(
    "--model",
    "model_dir",
    envvar=ENV_MODEL,
    default=None,
    help=f"Local sentence-transformers model directory; default: the bundled all-MiniLM-L6-v2 "
    f"[env {ENV_MODEL}].",
)
@click.option(
    "--device",
    envvar=ENV_DEVICE,
    default=None,
    type=click.Choice(["cpu", "cuda", "mps"]),
    help=f"Embedding device; default: cuda, then mps, then cpu [env {ENV_DEVICE}].",
)
@click.option(
    "--mirror",
    envvar=ENV_MIRROR,
    default=None,
    help=f"Local mirror directory of the guideline sources in guidelines/sources.toml [env {ENV_MIRROR}].",
)
@click.option(
    "--collection",
    envvar="GARMLE_COLLECTION",
    default="garmle",
    show_default=True,
    help="Collection name prefix inside the store [env GARMLE_COLLECTION].",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="garmle")
@click.pass_context
def cli(
    ctx: click.Context,
    index_dir: str,
    chroma_url: str | None,
    model_dir: str | None,
    device: str | None,
    mirror: str | None,
    collection: str,
    verbose: int,
) -> None:
    """garmle: clinical guideline recommendations grounded verbatim in an index of guidelines."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbose == 0:
        # a damaged PDF's parser notes ("EOF marker not found") would stand beside the one error line
        logging.getLogger("pypdf").setLevel(logging.ERROR)
    offline_environment()
    settings = Settings.from_env(
        index_dir=index_dir, chroma_url=chroma_url, model_dir=model_dir, device=device, mirror=mirror
    )
    ctx.obj = _Context(settings, collection)


# --------------------------------------------------------------------------- index


@cli.group()
def index() -> None:
    """Build and inspect the guideline index."""


def _resolve_sources(
    specs: Sequence[str], settings: Settings, limit: int | None
) -> list[tuple[Path, str, dict[str, str]]]:
    from garmle.ingest import SUPPORTED_SUFFIXES, iter_source_files

    items: list[tuple[Path, str, dict[str, str]]] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = list(iter_source_files(path))
            if not files:
                raise GarmleError(f"{spec}: no guideline files found in this directory")
            items.extend((f, "local", {}) for f in files[:limit])
        elif path.is_file():
            items.append((path, "local", {}))
        elif path.suffix and ("/" in spec or path.suffix.lower() in SUPPORTED_SUFFIXES):
            raise GarmleError(f"{spec}: no such file")
        else:
            from garmle.ingest.sources import resolve_source

            for item in resolve_source(spec, mirror=settings.mirror, limit=limit):
                items.append((item.path, item.source, dict(item.meta)))
    return items


@index.command("add")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Index at most N files of each source."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--max-words", type=click.IntRange(min=20), default=150, show_default=True, help="Chunk size bound."
)
@click.pass_context
def index_add(
    ctx: click.Context, sources: tuple[str, ...], limit: int | None, as_json: bool, max_words: int
) -> None:
    """Add guideline SOURCES to the index.

    A SOURCE is a file or folder (PDF, HTML, Markdown, text, NGC XML, USPSTF JSON), a source or subset
    named in guidelines/sources.toml (e.g. `ngc`, `uspstf`, `demo`, `ngc:ID1,ID2`, read from --mirror),
    or the ICD-10-CM catalogue: `icd10cm` or `icd10cm:I00-I99,E08-E13`. Unchanged documents are skipped;
    a changed file replaces its previous version.
    """
    from garmle.catalogue import catalogue_documents
    from garmle.embedding import make_embedder
    from garmle.indexing import Indexer, IndexReport
    from garmle.store import ChromaStore

    obj = _settings(ctx)
    settings = obj.settings
    catalogue_specs = [s for s in sources if s == "icd10cm" or s.startswith("icd10cm:")]
    file_specs = [s for s in sources if s not in catalogue_specs]
    items = _resolve_sources(file_specs, settings, limit)
    store = ChromaStore.open(
        settings.index_dir, url=settings.chroma_url, collection=obj.collection, create=True
    )
    embedder = make_embedder(settings)
    summary = IndexReport()
    with Indexer(store, embedder, max_words=max_words) as indexer:
        if items:
            with _Progress(len(items), "guidelines") as bar:
                summary = indexer.add_files(items, progress=lambda done, total, name: bar(done))
        for spec in catalogue_specs:
            ranges = spec.partition(":")[2].split(",") if ":" in spec else [""]
            docs = [d for r in ranges for d in catalogue_documents(r.strip())]
            if not docs:
                raise GarmleError(f"{spec}: no ICD-10-CM codes in this range")
            with _Progress(len(docs), "ICD-10-CM categories") as bar:
                indexer.add_documents(docs, total=len(docs), progress=lambda d, t, n: bar(d), report=summary)
    if summary.added or summary.replaced or summary.unchanged:
        _prepare_retrieval(store, embedder)  # also mends an index whose caches are missing or older
    result = summary.to_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(
            f"added {result['added']} documents ({result['chunks']} chunks), replaced {result['replaced']}, "
            f"unchanged {result['unchanged']}, failed {len(result['failed'])}; "
            f"{result['chunks_per_second']} chunks/s"
        )
    nothing = bool(summary.failed) and not (summary.added or summary.unchanged)
    if not as_json and not nothing:
        for failure in summary.failed:
            click.echo(f"skipped: {failure[1]}", err=True)
    if nothing:
        reasons = "; ".join(reason for _, reason in summary.failed[:3])
        more = f" (and {len(summary.failed) - 3} more)" if len(summary.failed) > 3 else ""
        raise GarmleError(f"nothing could be indexed: {reasons}{more}")


def _prepare_retrieval(store: Any, embedder: Any) -> None:
    """Cache what requests derive from an embedded index now, so the next `recommend` starts fast."""
    from garmle.recommender import prepare_index

    prepare_index(store, embedder)


class _Progress:
    """A click progress bar on stderr that takes absolute positions; shown on a terminal only, so that
    a log or a script reading stderr gets the result and the error lines alone."""

    def __init__(self, total: int, label: str) -> None:
        shown = sys.stderr.isatty()
        self._bar = (
            click.progressbar(length=total, label=f"indexing {label}", file=sys.stderr) if shown else None
        )
        self._pos = 0

    def __enter__(self) -> Any:
        bar = self._bar
        if bar is None:
            return lambda done: None
        bar.__enter__()

        def update(done: int) -> None:
            step = max(0, min(done, bar.length or done) - self._pos)
            bar.update(step)
            self._pos += step

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _open_store(ctx: click.Context) -> Any:
    from garmle.store import ChromaStore

    obj = _settings(ctx)
    return ChromaStore.open(obj.settings.index_dir, url=obj.settings.chroma_url, collection=obj.collection)


@index.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@click.pass_context
def index_remove(ctx: click.Context, doc_ids: tuple[str, ...]) -> None:
    """Remove documents (by id, see `garmle index list`) and their chunks."""
    from garmle.indexing import Indexer

    store = _open_store(ctx)
    missing = [d for d in doc_ids if not store.has_document(d)]
    if missing:
        raise GarmleError(f"no document {missing[0]!r} in the index (see `garmle index list`)")
    info = store.info()
    embedder = _IndexModel(info.embedding_model, info.dimension)
    with Indexer(store, embedder) as indexer:
        removed = indexer.remove(doc_ids)
    _prepare_retrieval(store, embedder)
    click.echo(f"removed {len(doc_ids)} documents ({removed} chunks)")


class _IndexModel:
    """The index's own model identity (removing needs no embedding)."""

    def __init__(self, model_id: str, dimension: int) -> None:
        self.model_id = model_id
        self.dimension = dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Any:
        raise GarmleError("this operation does not embed")


@index.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--source", default=None, help="Only documents of this source.")
@click.pass_context
def index_list(ctx: click.Context, as_json: bool, source: str | None) -> None:
    """List indexed documents."""
    from dataclasses import asdict

    records = [r for r in _open_store(ctx).list_documents() if source is None or r.source == source]
    if as_json:
        click.echo(json.dumps([asdict(r) for r in records], indent=2))
        return
    for r in records:
        click.echo(f"{r.doc_id}  {r.source:<8} {r.year or '':<5} {r.n_chunks:>4} chunks  {r.title[:90]}")
    click.echo(f"{len(records)} documents", err=True)


@index.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def index_stats(ctx: click.Context, as_json: bool) -> None:
    """Documents, chunks, sources, embedding model and dimension of the index."""
    stats = _open_store(ctx).stats()
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    for key, value in stats.items():
        click.echo(f"{key}: {value}")


@index.command("show-text")
@click.argument("doc_id")
@click.option("--start", type=int, default=None, help="Print only from this char offset.")
@click.option("--end", type=int, default=None, help="Print only up to this char offset.")
@click.pass_context
def index_show_text(ctx: click.Context, doc_id: str, start: int | None, end: int | None) -> None:
    """Print a document's canonical text (the text every char span points into)."""
    doc = _open_store(ctx).get_document(doc_id)
    if doc is None:
        raise GarmleError(f"no document {doc_id!r} in the index (see `garmle index list`)")
    click.echo(doc.text[start:end], nl=False)
    click.echo()


# --------------------------------------------------------------------------- patients


def _codes(codes: str | None) -> list[str] | None:
    if codes is None:
        return None
    if codes.strip().startswith("["):
        try:
            data = json.loads(codes)
        except json.JSONDecodeError as exc:
            raise GarmleError(f"--codes: not valid JSON ({exc.msg})") from exc
        return [str(c["code"] if isinstance(c, dict) else c) for c in data]
    path = Path(codes)
    if path.suffix == ".json" and path.is_file():
        return _codes(path.read_text("utf-8"))
    found = [c.strip() for c in codes.replace(";", ",").split(",") if c.strip()]
    if not found:
        raise GarmleError("--codes is empty")
    return found


@cli.command()
@click.argument("patient")
@click.option(
    "--codes", default=None, help="Codes from another model: `I10,E11.9`, a JSON list, or a .json file."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--max-codes", type=click.IntRange(min=1), default=10, show_default=True, help="Predicted codes to show."
)
@click.pass_context
def predict(ctx: click.Context, patient: str, codes: str | None, fmt: str, max_codes: int) -> None:
    """Predict ICD-10-CM codes for PATIENT (FHIR R4 bundle, patient JSON or text note)."""
    from garmle.catalogue import IcdCatalogue
    from garmle.coding import default_predictor, predictions_from_codes, validate_predictions
    from garmle.embedding import make_embedder
    from garmle.patient import load_patient

    obj = _settings(ctx)
    record = load_patient(_patient_source(patient))
    catalogue = IcdCatalogue()
    rejected: list[tuple[str, str]] = []
    if codes is not None:
        preds = list(predictions_from_codes(_codes(codes) or [], catalogue))
    else:
        predictor = default_predictor(make_embedder(obj.settings), catalogue)
        preds, rejected = validate_predictions(predictor.predict(record), catalogue)
        preds = sorted(preds, key=lambda p: -p.score)[:max_codes]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "predictions": [p.to_dict() for p in preds],
                    "rejected": [{"code": c, "reason": r} for c, r in rejected],
                },
                indent=2,
            )
        )
        return
    if not preds:
        click.echo("no ICD-10-CM code predicted")
    for p in preds:
        evidence = "; ".join(e.text for e in p.evidence)[:70]
        click.echo(f"{p.code:<8} {p.score:5.2f}  {p.title[:60]:<60}  {p.source:<12} {evidence}")
    for code, reason in rejected:
        click.echo(f"rejected {code}: {reason}", err=True)


def _patient_source(patient: str) -> Any:
    if patient == "-":
        return sys.stdin.read()
    path = Path(patient)
    if not path.exists():
        raise GarmleError(f"{patient}: no such patient file")
    if path.is_dir():
        raise GarmleError(f"{patient}: is a directory, not a patient file")
    return path


@cli.command()
@click.argument("patient")
@click.option(
    "--codes", default=None, help="Use these codes instead of predicting: `I10,E11.9`, a JSON list or file."
)
@click.option(
    "--top-k",
    type=click.IntRange(min=1, max=50),
    default=5,
    show_default=True,
    help="Guideline snippets per code.",
)
@click.option(
    "--max-codes", type=click.IntRange(min=1), default=5, show_default=True, help="Predicted codes to keep."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="Report format (html is a printable page).",
)
@click.option("--source", "sources", multiple=True, help="Only guidelines of this source (repeatable).")
@click.option(
    "--publisher", "publishers", multiple=True, help="Only guidelines whose publisher contains this."
)
@click.option("--min-year", type=int, default=None, help="Only guidelines published in or after this year.")
@click.option(
    "--population",
    "populations",
    multiple=True,
    type=click.Choice(POPULATION_GROUPS),
    help="Only guidelines whose stated target population includes this group (repeatable); "
    "guidelines that state none are kept.",
)
@click.option(
    "--reranker",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Local cross-encoder directory to re-rank snippets.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to a file.")
@click.pass_context
def recommend(
    ctx: click.Context,
    patient: str,
    codes: str | None,
    top_k: int,
    max_codes: int,
    fmt: str,
    sources: tuple[str, ...],
    publishers: tuple[str, ...],
    min_year: int | None,
    populations: tuple[str, ...],
    reranker: str | None,
    output: str | None,
) -> None:
    """Guideline recommendations for PATIENT: verbatim snippets per predicted (or given) code."""
    from garmle.recommender import Recommender
    from garmle.retrieval import SearchFilter

    obj = _settings(ctx)
    source = _patient_source(patient)
    rec = Recommender.open(settings=obj.settings, reranker_dir=reranker, collection=obj.collection)
    flt = (
        SearchFilter(sources=sources, publishers=publishers, min_year=min_year, populations=populations)
        if (sources or publishers or min_year or populations)
        else None
    )
    report = rec.recommend(source, _codes(codes), top_k=top_k, max_codes=max_codes, search_filter=flt)
    text = (
        report.to_json()
        if fmt == "json"
        else report.to_html(standalone=True)
        if fmt == "html"
        else (_text(report))
    )
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


def _text(report: Any) -> str:
    from garmle.render import report_text

    return report_text(report)


# --------------------------------------------------------------------------- apps


@cli.command()
@click.option("--port", type=int, default=8501, show_default=True, help="Port of the dashboard.")
@click.option(
    "--address", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default)."
)
@click.pass_context
def ui(ctx: click.Context, port: int, address: str) -> None:
    """Start the clinician dashboard (Streamlit) on the index."""
    import os
    import subprocess

    obj = _settings(ctx)
    app = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    if not app.is_file():
        raise GarmleError(f"dashboard not found at {app}")
    env = {**os.environ, ENV_INDEX: str(obj.settings.index_dir), "GARMLE_COLLECTION": obj.collection}
    for name, value in (
        (ENV_CHROMA_URL, obj.settings.chroma_url),
        (ENV_MODEL, obj.settings.model_dir),
        (ENV_DEVICE, obj.settings.device),
    ):
        if value:
            env[name] = str(value)
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    raise SystemExit(subprocess.call(cmd, env=env))


@cli.command("eval")
@click.argument("cases", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--report", "report_dir", default="out/eval", show_default=True, help="Output directory of the report."
)
@click.option(
    "-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Cut-off of ranked lists."
)
@click.option("--no-ablations", is_flag=True, help="Leave out the fusion ablations (faster).")
@click.option("--table", is_flag=True, help="Print the README results table.")
@click.pass_context
def eval_command(
    ctx: click.Context, cases: str, report_dir: str, k: int, no_ablations: bool, table: bool
) -> None:
    """Evaluate garmle and its baselines on a JSONL case file (see docs/evaluation.md)."""
    from garmle.evaluation.harness import results_table, run_evaluation
    from garmle.recommender import Recommender

    obj = _settings(ctx)
    rec = Recommender.open(settings=obj.settings, collection=obj.collection)
    result = run_evaluation(
        cases,
        rec,
        report_dir,
        mirror=obj.settings.mirror,
        k=k,
        ablations=not no_ablations,
        progress=lambda line: click.echo(line, err=True),
    )
    click.echo(results_table(result) if table else f"wrote {report_dir}/report.md")


@cli.command()
@click.option(
    "--out", default="docs/benchmarks.md", show_default=True, help="Markdown output (JSON beside it)."
)
@click.option(
    "--sizes", default="1000,10000,100000", show_default=True, help="Index sizes (chunks) to scale over."
)
@click.option("--budget", type=float, default=600.0, show_default=True, help="Seconds per scaling mode.")
@click.option(
    "--index-files",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="NGC files for the indexing benchmark.",
)
@click.option("--no-server", is_flag=True, help="Skip the Chroma server measurements.")
@click.pass_context
def bench(ctx: click.Context, out: str, sizes: str, budget: float, index_files: int, no_server: bool) -> None:
    """Measure indexing, recommend latency and store scaling; write docs/benchmarks.md."""
    from garmle.evaluation.bench import run_benchmarks

    obj = _settings(ctx)
    try:
        size_list = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise GarmleError(f"--sizes: expected numbers separated by commas, got {sizes!r}") from exc
    index_dir = obj.settings.index_dir
    run_benchmarks(
        out,
        index=index_dir if (index_dir / "chroma.sqlite3").is_file() else None,
        mirror=obj.settings.mirror,
        model_dir=obj.settings.model_dir,
        sizes=size_list,
        index_files=index_files,
        server=not no_server,
        budget_s=budget,
        progress=lambda line: click.echo(line, err=True),
    )
    click.echo(f"wrote {out}")


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; anything but loopback belongs behind a TLS proxy.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port.")
@click.option(
    "--api-key",
    envvar="GARMLE_API_KEY",
    default=None,
    help="Require this key as `Authorization: Bearer KEY` or `X-API-Key` [env GARMLE_API_KEY].",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, api_key: str | None) -> None:
    """Run the CDS Hooks 2.0 service on the index (discovery at /cds-services)."""
    from garmle.server import serve as run_service

    obj = _settings(ctx)
    run_service(obj.settings, host=host, port=port, api_key=api_key or "", collection=obj.collection)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI, turning garmle errors into one line and exit status 1."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="garmle", standalone_mode=False)
    except GarmleError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        click.echo("error: interrupted; the index keeps every document that was completely added", err=True)
        raise SystemExit(130) from None
    except OSError as exc:
        click.echo(
            f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), err=True
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
