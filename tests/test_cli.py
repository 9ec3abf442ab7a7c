"""The command line: real commands, one-line errors, non-zero exits, nothing lost on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from garmle.cli import cli, main

GUIDE = (
    "# Atrial fibrillation\n\n## Stroke prevention\n\n"
    "Offer oral anticoagulation to people with atrial fibrillation and a CHA2DS2-VASc score of 2 or above. "
    "(Strength of Recommendation: A)\n\n## Rate control\n\nOffer a beta-blocker for rate control.\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def index_args(tmp_path: Path) -> list[str]:
    return ["--index", str(tmp_path / "idx"), "--model", "hash:64"]


def test_index_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str], index_args: list[str]) -> None:
    guide = tmp_path / "af.md"
    guide.write_text(GUIDE, encoding="utf-8")
    code, out, _ = run(capsys, *index_args, "index", "add", str(guide), "icd10cm:I48", "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["added"] == 2 and summary["failed"] == []
    # what requests derive from the whole index is kept beside it
    assert (tmp_path / "idx" / ".garmle-cache" / "garmle-passages.pkl").is_file()
    code, out, _ = run(capsys, *index_args, "index", "add", str(guide), "--json")
    assert json.loads(out)["unchanged"] == 1
    note = tmp_path / "note.txt"
    note.write_text("72-year-old woman with atrial fibrillation, CHA2DS2-VASc 4.", encoding="utf-8")
    code, out, err = run(
        capsys, *index_args, "recommend", str(note), "--population", "older adults", "--format", "json"
    )
    assert code == 0, err
    assert any("population older adults" in m for m in json.loads(out)["messages"])
    code, _, err = run(capsys, *index_args, "recommend", str(note), "--population", "kids")
    assert code != 0 and "kids" in err
    code, out, _ = run(capsys, *index_args, "index", "stats", "--json")
    stats = json.loads(out)
    assert stats["documents"] == 2 and stats["embedding_model"] == "hash-64" and stats["dimension"] == 64
    assert stats["sources"] == {"local": 1, "icd10cm": 1}
    code, out, _ = run(capsys, *index_args, "index", "list", "--json")
    docs = json.loads(out)
    local = next(d for d in docs if d["source"] == "local")
    code, out, _ = run(capsys, *index_args, "index", "show-text", local["doc_id"])
    assert "CHA2DS2-VASc score of 2 or above" in out
    code, out, _ = run(capsys, *index_args, "index", "remove", local["doc_id"])
    assert code == 0 and "removed 1 documents" in out
    code, out, _ = run(capsys, *index_args, "index", "stats", "--json")
    assert json.loads(out)["documents"] == 1


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["index", "stats"], "no index at"),
        (None, ["index", "add", "missing.pdf"], "no such file"),
        ("empty", ["index", "add", "{tmp}/empty.txt"], "nothing could be indexed"),
        ("corrupt", ["index", "add", "{tmp}/bad.pdf"], "nothing could be indexed"),
        (None, ["index", "add", "icd10cm:Q99X-Q99Z"], "ICD-10-CM"),
        (None, ["--device", "tpu", "index", "stats"], "tpu"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    index_args: list[str],
    setup: str | None,
    args: list[str],
    message: str,
) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n garbage without xref")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _out, err = run(capsys, *index_args, *argv)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("error:") or "Error" in line]
    assert lines and message in err, err
    assert "Traceback" not in err
    # one line says what went wrong, with no warning or skip beside it
    said = [line for line in err.splitlines() if line.startswith(("error:", "Error:", "WARNING", "skipped:"))]
    assert len(said) == 1 and said[0].lower().startswith("error:"), err


def test_bad_input_does_not_touch_existing_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], index_args: list[str]
) -> None:
    guide = tmp_path / "af.md"
    guide.write_text(GUIDE, encoding="utf-8")
    run(capsys, *index_args, "index", "add", str(guide))
    _, before, _ = run(capsys, *index_args, "index", "stats", "--json")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\n\x00\x01 truncated")
    code, _, err = run(capsys, *index_args, "index", "add", str(tmp_path / "bad.pdf"))
    assert code == 1 and "bad.pdf" in err
    code, _, err = run(
        capsys, "--index", str(tmp_path / "idx"), "--model", "hash:32", "index", "add", str(guide)
    )
    assert code == 1 and "hash-64" in err
    _, after, _ = run(capsys, *index_args, "index", "stats", "--json")
    assert json.loads(before)["chunks"] == json.loads(after)["chunks"]


def _walk(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        out.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            out.extend(_walk(command, f"{prefix}{name} "))
    return out


def test_every_command_and_option_is_documented() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    for name, command in _walk(cli):
        assert command.help, f"command {name} has no help"
        assert f"garmle {name}" in readme or name.split()[0] not in {"index", "recommend", "predict"}, (
            f"`garmle {name}` is not in the README"
        )
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"option {param.opts} of {name} has no help"
    for param in cli.params:
        if isinstance(param, click.Option) and param.envvar:
            assert str(param.envvar) in readme, f"{param.envvar} is not documented in the README"
