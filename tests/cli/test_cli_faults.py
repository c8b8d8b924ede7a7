"""Faulty files given to the CLI: one line on stderr, exit code 2, nothing half-loaded.

Before the fix, undecodable bytes printed a 39-line ``UnicodeDecodeError`` traceback (exit 1)
and a truncated ``.gz`` printed ``error: aborted`` with exit 130 (click reads an end of input
as Ctrl-C).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from marginscope.calculators import REGISTRY
from marginscope.cli import main

EVENT = {"event_id": "e1", "ts": "2025-11-04T10:00:00Z", "tool": "liquidation_price",
         "device": "mobile", "country": "US"}


def run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    _, err = capsys.readouterr()
    return exit_info.value.code, err


def one_line(err: str) -> bool:
    """One message line (a progress display may have left an empty line before it)."""
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_undecodable_input_is_one_line(capsys, tmp_path):
    request = tmp_path / "request.json"
    request.write_bytes(b'{"qty": 0.5, "venue": "\xff\xfe"}')
    code, err = run(capsys, "calc", "liquidation", "--input", str(request))
    assert code == 2 and one_line(err) and "UTF-8" in err


def test_a_byte_order_mark_is_fine(capsys, tmp_path):
    request = tmp_path / "request.json"
    request.write_bytes(b"\xef\xbb\xbf" + json.dumps(REGISTRY["liquidation"].example).encode())
    code, _ = run(capsys, "calc", "liquidation", "--input", str(request), "--json")
    assert code == 0


def _events_in(db: Path) -> int:
    if not db.exists():
        return 0
    with duckdb.connect(str(db)) as con:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        return con.execute("SELECT count(*) FROM events").fetchone()[0] if "events" in tables else 0


def _gzipped_events(path: Path, count: int) -> bytes:
    lines = "".join(json.dumps({**EVENT, "event_id": f"e{i}"}) + "\n" for i in range(count))
    data = gzip.compress(lines.encode())
    path.write_bytes(data)
    return data


def test_a_truncated_gzip_is_one_line_and_loads_nothing(capsys, tmp_path):
    good, cut = tmp_path / "good.jsonl.gz", tmp_path / "cut.jsonl.gz"
    _gzipped_events(good, 50)
    cut.write_bytes(_gzipped_events(cut, 5000)[:-40])
    db = tmp_path / "events.duckdb"
    code, err = run(capsys, "ingest", str(good), str(cut), "--db", str(db))
    assert code == 2 and one_line(err) and "cut.jsonl.gz" in err and "gzip" in err
    assert _events_in(db) == 0  # the good file was not loaded either


def test_a_corrupt_gzip_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate at all" * 20)
    code, err = run(capsys, "ingest", str(bad), "--db", str(tmp_path / "events.duckdb"))
    assert code == 2 and one_line(err)


def test_a_file_that_vanishes_mid_read_is_one_line(capsys, tmp_path, monkeypatch):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REGISTRY["liquidation"].example))

    def vanish(self: Path) -> bytes:
        raise FileNotFoundError(2, "No such file or directory", str(self))

    monkeypatch.setattr(Path, "read_bytes", vanish)
    code, err = run(capsys, "calc", "liquidation", "--input", str(request))
    assert code == 2 and one_line(err) and "request.json" in err
