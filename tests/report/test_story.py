"""The report's story: every number a key takeaway quotes is in the JSON, ranges are never
degenerate, multi-day episodes name their peak day, sources are numbered once."""

from __future__ import annotations

import html
import re

from marginscope.analytics.formatting import day_text
from marginscope.report.episodes import episode_text
from marginscope.report.references import reference_text

_DAY = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{1,2})(?:–(\d{1,2}))?")
_REF = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"[+\-−]?\d[\d,]*(?:\.\d+)?")


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _renderings(numbers: dict) -> set[str]:
    """Every way the report writes a number of ``numbers`` (counts, percentages, ratios)."""
    out: set[str] = set()
    for x in _leaves(numbers):
        if isinstance(x, bool) or not isinstance(x, int | float):
            continue
        out |= {
            f"{x:,.0f}",
            f"{x * 100:+.0f}",
            f"{x * 100:.0f}",
            f"{x * 100:.1f}",
            f"{1 + x:.2f}",
            f"{x:.2f}",
            f"{x:+.2f}",
            f"{x:.3f}",
        }
    return out


def test_every_number_in_the_takeaways_is_in_the_json(report):
    document = report.to_dict()
    assert 3 <= len(document["key_takeaways"]) <= 5
    references = {ref["n"] for ref in document["references"]}
    for takeaway in document["key_takeaways"]:
        text, numbers = takeaway["text"], takeaway["numbers"]
        # the numbers quoted are the finding's own, as the JSON holds it
        if "observed" in numbers:
            finding = next(
                f
                for f in document["findings"]
                if f["kind"] == numbers["kind"]
                and f["date"] == numbers["date"]
                and f["tool"] == numbers["tool"]
                and f["segment"] == numbers["segment"]
            )
            for key in ("observed", "expected", "lift", "lift_ci", "share", "normal_share"):
                assert numbers.get(key) == finding.get(key), key
        days = {
            day_text(v)
            for v in _leaves(numbers)
            if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", v)
        }
        for match in _DAY.finditer(text):
            assert f"{match[1]} {match[2]}" in days, (match[0], text)
            if match[3]:
                assert any(d.startswith(match[1]) and d.endswith(f" {match[3]}") for d in days), (
                    match[0],
                    text,
                )
        for match in _REF.finditer(text):
            assert int(match[1]) in references
        rest = _REF.sub("", _DAY.sub("", text))
        allowed = _renderings(numbers) | {"95"}  # "95% CI"
        for token in _NUMBER.findall(rest):
            assert token.replace("−", "-") in allowed, (token, text)


def test_the_takeaways_lead_with_the_months_real_peak(report):
    document = report.to_dict()
    overall = [
        f
        for f in document["findings"]
        if f["kind"] == "spike"
        and f["tool"] is None
        and f["segment"] == "all"
        and f["lift_ci"]
        and f["lift_ci"][0] > 0
    ]
    if overall:
        peak = max(overall, key=lambda f: f["observed"] - f["expected"])
        assert document["key_takeaways"][0]["numbers"]["date"] == peak["date"]


def _finding(date, share, lift, observed=500):
    return {
        "kind": "share_shift",
        "date": date,
        "tool": None,
        "segment": "device:mobile",
        "share": share,
        "normal_share": 0.5,
        "lift": lift,
        "lift_ci": [lift / 2, lift * 2],
        "observed": observed,
        "expected": observed / (1 + lift),
    }


def test_a_run_at_one_level_says_at_not_between():
    text = episode_text([_finding("2025-11-04", 0.251, 0.2), _finding("2025-11-05", 0.249, 0.3)])
    assert "between 25% and 25%" not in text and "at 25%" in text
    assert "peak Nov 5" in text  # the peak day is named with its numbers


def test_a_mirrored_exchange_source_names_the_endpoint_then_the_mirror():
    text = reference_text(
        "binance_usdm:GET /fapi/v1/fundingRate symbol=BTCUSDT via "
        "github.com/someone/repo/data/funding.csv@abc123"
    )
    assert text.startswith("Binance USDⓈ-M futures API, GET /fapi/v1/fundingRate")
    assert text.index("fapi") < text.index("github.com/someone")
    assert "mirror" in text


def test_each_source_is_listed_once_and_cited_by_number(report):
    document = report.to_dict()
    sources = [ref["source"] for ref in document["references"]]
    assert len(sources) == len(set(sources))
    assert [ref["n"] for ref in document["references"]] == list(range(1, len(sources) + 1))
    html_text = __import__("marginscope.report.render", fromlist=["to_html"]).to_html(report)
    for source in sources:  # the long source string appears once (the reference list)
        assert html_text.count(html.escape(reference_text(source))) == 1
        assert html_text.count(source.partition(" via ")[2] or source) == 1


def test_one_chapter_per_phase_with_an_interpretation(report):
    document = report.to_dict()
    phases = [f for f in document["findings"] if f["kind"] == "phase"]
    assert [(c["start"], c["end"]) for c in document["chapters"]] == [
        (p["start"], p["end"]) for p in phases
    ]
    for chapter in document["chapters"]:
        assert chapter["interpretation"].startswith("Interpretation:")
