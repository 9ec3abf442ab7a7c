"""The dashboard's style sheet: calm colours, readable passages, marks that stand out in print too."""

from __future__ import annotations

__all__ = ["STYLE"]

STYLE = """
<style>
.garmle-note, .garmle-source, .garmle-catalogue {
  white-space: pre-wrap; font-size: 0.92rem; line-height: 1.5; padding: 0.6rem 0.8rem;
  background: #f6f8fa; border: 1px solid #e1e6eb; border-radius: 6px; max-height: 26rem; overflow-y: auto;
}
.garmle-catalogue { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.82rem; }
.garmle-snippet { margin: 0.2rem 0 0.4rem 0; }
.garmle-labels { margin-bottom: 0.25rem; }
.garmle-verbatim {
  white-space: pre-wrap; margin: 0; padding: 0.5rem 0.9rem; border-left: 4px solid #2f7d6d;
  background: #f3f8f6; font-size: 0.95rem; line-height: 1.55; color: #1d2a33;
}
.garmle-facts { font-size: 0.78rem; color: #3c4b57; margin-top: 0.3rem; }
.garmle-facts .garmle-badge { font-weight: 500; white-space: normal; }
.garmle-cite { font-size: 0.82rem; color: #3c4b57; margin-top: 0.3rem; }
.garmle-where { color: #5f6f7b; }
mark { padding: 0 0.1rem; border-radius: 2px; }
mark.garmle-evidence { background: #fde9a9; }
mark.garmle-fact { background: #d7ecff; box-shadow: inset 0 -2px 0 #5b9bd5; }
.garmle-source mark { background: #fde9a9; }
.garmle-badge {
  display: inline-block; font-size: 0.72rem; font-weight: 600; padding: 0.05rem 0.45rem;
  border-radius: 999px; margin-right: 0.25rem; border: 1px solid transparent;
}
.garmle-badge-neutral { background: #eef1f4; color: #3c4b57; border-color: #d8dee4; }
.garmle-badge-info { background: #2f5d8a; color: #fff; }
.garmle-badge-good { background: #e3f4ea; color: #1e6b3c; border-color: #b9e0c8; }
.garmle-badge-warn { background: #e8f2fc; color: #1f5a8f; border-color: #bcd8f2; }
</style>
"""
