"""Reports as text (terminal) and HTML (notebooks, export). Every shown passage is the verbatim snippet.

Example:
    >>> from garmle.types import Patient, Report
    >>> print(report_text(Report(patient=Patient("p1"))).splitlines()[0])
    garmle report: 0 codes, verbatim check 0/0 failed
"""

from __future__ import annotations

import html
import json
import textwrap

from garmle.types import Report, Snippet

__all__ = ["LEADING", "citation", "leading_shown", "report_html", "report_json", "report_text"]

LEADING = 10
"""How many leading snippets across codes a report lists first (:meth:`Report.leading`)."""


def leading_shown(report: Report) -> tuple[tuple[str, Snippet], ...]:
    """The leading evidence a rendering lists before the codes: none with one code, whose own list
    already is it.

    Example:
        >>> from garmle.types import Patient
        >>> leading_shown(Report(patient=Patient("p")))
        ()
    """
    return report.leading(LEADING) if len(report.recommendations) > 1 else ()


def citation(snippet: Snippet) -> str:
    """A one-line citation: title, publisher, year, section, page and char span.

    Example:
        >>> s = Snippet(text="x", doc_id="d1", chunk_id="d1:0", title="HTN", char_start=5, char_end=6,
        ...             score=1.0, publisher="ACC", year=2017, page=3, section=("Treatment",))
        >>> citation(s)
        'HTN — ACC, 2017 — Treatment — p. 3 — [d1 5:6]'
    """
    parts = [snippet.title or snippet.doc_id]
    who = ", ".join(str(p) for p in (snippet.publisher, snippet.year) if p)
    if who:
        parts.append(who)
    if snippet.section:
        parts.append(" > ".join(snippet.section))
    if snippet.page is not None:
        parts.append(f"p. {snippet.page}")
    parts.append(f"[{snippet.doc_id} {snippet.char_start}:{snippet.char_end}]")
    return " — ".join(parts)


def report_json(report: Report, *, include_patient: bool = True, indent: int | None = 2) -> str:
    """The report as JSON (``predictions``, ``recommendations``, ``verbatim_check``, ``timings_ms``...)."""
    data = report.to_dict()
    data["leading"] = [{"code": code, "chunk_id": snip.chunk_id} for code, snip in report.leading(LEADING)]
    if not include_patient:
        data.pop("patient", None)
    return json.dumps(data, indent=indent, ensure_ascii=False, default=str)


def report_text(report: Report, *, width: int = 100) -> str:
    """A plain-text rendering for terminals."""
    check = report.verbatim_check
    lines = [
        f"garmle report: {len(report.predictions)} codes, "
        f"verbatim check {check.failed}/{check.checked} failed"
    ]
    for message in report.messages:
        lines.append(f"note: {message}")
    if report.predictions:
        lines.append("")
        lines.append("Predicted codes:")
        for pred in report.predictions:
            flag = "" if pred.billable else " (category, not billable)"
            lines.append(f"  {pred.code:<8} {pred.score:.2f}  {pred.title}{flag}  [{pred.source}]")
    leading = leading_shown(report)
    if leading:
        lines.append("")
        lines.append("Leading evidence (the presenting condition first; full text under each code):")
        for number, (code, snip) in enumerate(leading, start=1):
            lines.append(f"  {number:>2}. {code:<8} {citation(snip)}")
    for rec in report.recommendations:
        lines.append("")
        lines.append(f"== {rec.code} {rec.title}")
        for snip in rec.catalogue:
            lines.append("   ICD-10-CM: " + snip.text.replace("\n", " | "))
        if rec.note:
            lines.append(f"   {rec.note}")
        for number, snip in enumerate(rec.snippets, start=1):
            lines.append(f"  {number}. {citation(snip)}")
            meta = [f"score {snip.score:.3f}"]
            if snip.strength:
                meta.append(f"strength: {snip.strength}")
            if snip.matched_facts:
                meta.append("matches: " + "; ".join(snip.matched_facts))
            lines.append("     " + " | ".join(meta))
            body = textwrap.fill(
                " ".join(snip.text.split()),
                width=width,
                initial_indent="     > ",
                subsequent_indent="       ",
            )
            lines.append(body)
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in report.timings_ms.items())
    if timings:
        lines.append("")
        lines.append(f"timings: {timings}")
    return "\n".join(lines)


_CSS = """
.garmle{font-family:system-ui,sans-serif;max-width:60rem;line-height:1.4}
.garmle h2{font-size:1.15rem;margin:1.2rem 0 .3rem;border-bottom:1px solid #ccd}
.garmle .snip{border-left:3px solid #4a7;padding:.3rem .6rem;margin:.5rem 0;background:#f7faf8}
.garmle .cite{font-size:.8rem;color:#445}
.garmle .cat{font-size:.85rem;color:#333;background:#f4f4fa;padding:.3rem .6rem;white-space:pre-wrap}
.garmle .facts{font-size:.8rem;color:#262}
.garmle table{border-collapse:collapse}.garmle td,.garmle th{padding:.15rem .5rem;text-align:left}
.garmle .ok{color:#262}.garmle .bad{color:#a22}
"""


def report_html(report: Report, *, standalone: bool = False) -> str:
    """An HTML rendering (notebook ``_repr_html_`` and printable export)."""
    esc = html.escape
    check = report.verbatim_check
    status = "ok" if check.failed == 0 else "bad"
    out = [f"<div class='garmle'><style>{_CSS}</style>"]
    out.append(
        f"<p class='{status}'>Verbatim check: {check.checked - check.failed} of {check.checked} snippets "
        "match their source text exactly.</p>"
    )
    for message in report.messages:
        out.append(f"<p><em>{esc(message)}</em></p>")
    if report.predictions:
        out.append("<table><tr><th>Code</th><th>Title</th><th>Score</th><th>Source</th></tr>")
        for pred in report.predictions:
            out.append(
                f"<tr><td>{esc(pred.code)}</td><td>{esc(pred.title)}</td><td>{pred.score:.2f}</td>"
                f"<td>{esc(pred.source)}</td></tr>"
            )
        out.append("</table>")
    leading = leading_shown(report)
    if leading:
        out.append("<h2>Leading evidence</h2><ol>")
        for code, snip in leading:
            out.append(f"<li><b>{esc(code)}</b> {esc(citation(snip))}</li>")
        out.append("</ol>")
    for rec in report.recommendations:
        out.append(f"<h2>{esc(rec.code)} {esc(rec.title)}</h2>")
        for snip in rec.catalogue:
            out.append(f"<div class='cat'>{esc(snip.text)}</div>")
        if rec.note:
            out.append(f"<p><em>{esc(rec.note)}</em></p>")
        for snip in rec.snippets:
            out.append("<div class='snip'>")
            out.append(f"<div>{esc(snip.text)}</div>")
            out.append(f"<div class='cite'>{esc(citation(snip))}</div>")
            extra = []
            if snip.strength:
                extra.append(f"Strength: {esc(snip.strength)}")
            if snip.matched_facts:
                extra.append("Matches patient: " + esc("; ".join(snip.matched_facts)))
            if extra:
                out.append(f"<div class='facts'>{' · '.join(extra)}</div>")
            out.append("</div>")
    out.append("</div>")
    body = "".join(out)
    if standalone:
        head = "<meta charset='utf-8'><title>garmle report</title>"
        return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
    return body
