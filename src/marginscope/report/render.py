"""A :class:`~marginscope.report.build.Report` as Markdown, HTML, JSON or PDF.

* **html**: one self-contained file (Jinja2 template ``templates/report.html``, inline CSS,
  charts as SVG data URIs in ``<picture>`` elements: the narrow drawing on phones, the wide one
  from 720 px) — no external assets, readable at 360 px.
* **md**: the same content; charts are written as SVG files in ``<stem>_charts/`` next to it.
* **json**: :meth:`Report.to_dict`, the machine-readable contract.
* **pdf**: the HTML printed by headless Chromium (``/usr/bin/chromium`` or ``$CHROMIUM``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from marginscope import config
from marginscope.analytics.findings import Finding
from marginscope.analytics.formatting import signed_percent
from marginscope.analytics.names import tool_name
from marginscope.errors import InputError
from marginscope.report.build import SCHEMA, Report
from marginscope.report.charts import svg_data_uri

__all__ = ["CHROMIUM_FLAGS", "FINDING_COLUMNS", "FORMATS", "csv_text", "daily_rows",
           "find_chromium", "finding_rows", "render", "to_csv", "to_html", "to_json",
           "to_markdown", "to_pdf"]

FORMATS = ("md", "html", "json", "pdf")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--no-pdf-header-footer")


def _ci(finding: Finding) -> str:
    if not finding.lift_ci:
        return ""
    return f"{signed_percent(finding.lift_ci[0])} to {signed_percent(finding.lift_ci[1])}"


def _month_name(month: str) -> str:
    return date.fromisoformat(f"{month}-01").strftime("%B %Y")


def _environment() -> jinja2.Environment:
    loader = jinja2.PackageLoader("marginscope.report", "templates")
    return jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)


FINDING_COLUMNS = ("kind", "date", "start", "end", "tool", "segment", "observed", "expected",
                   "lift", "lift_low", "lift_high", "share", "normal_share", "q_value",
                   "low_confidence", "text")
"""Columns of the findings CSV (the JSON finding fields, the interval split in two)."""


def finding_rows(findings: list[dict[str, Any]]) -> list[list[Any]]:
    """Findings (JSON form) as rows of :data:`FINDING_COLUMNS`."""
    rows = []
    for f in findings:
        ci = f.get("lift_ci") or [None, None]
        rows.append([f["kind"], f["date"], f.get("start"), f.get("end"), f.get("tool") or "all",
                     f.get("segment"), f.get("observed"), f.get("expected"), f.get("lift"),
                     ci[0], ci[1],
                     f.get("share"), f.get("normal_share"), f.get("q_value"),
                     f.get("low_confidence"), f.get("text")])
    return rows


def daily_rows(daily: dict[str, Any]) -> list[list[Any]]:
    """The JSON's ``daily`` block (already suppressed) as a header and one row per day:
    ``all``, each tool, ``device:…``, ``region:…``, ``visitors:…``, ``expected_all`` and
    ``btc_close``; a suppressed cell is empty."""
    columns: dict[str, list[Any]] = {"all": daily["checks"]["all"]}
    columns.update({t: v for t, v in daily["checks"].items() if t != "all"})
    columns.update({f"device:{d}": v for d, v in daily.get("devices", {}).items()})
    columns.update({f"region:{r}": v for r, v in daily.get("regions", {}).items()})
    columns.update({f"visitors:{r}": v for r, v in (daily.get("visitors") or {}).items()})
    for name in ("expected_all", "btc_close"):
        if daily.get(name) is not None:
            columns[name] = daily[name]
    header = ["date", *columns]
    return [header, *([day, *(values[i] for values in columns.values())]
                      for i, day in enumerate(daily["dates"]))]


def csv_text(rows: list[list[Any]]) -> str:
    """RFC 4180 CSV (None → empty cell)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:  # a nested value (a finding kind's own breakdown) as compact JSON
        writer.writerow(["" if v is None else json.dumps(v, separators=(",", ":"))
                         if isinstance(v, dict | list) else v for v in row])
    return buffer.getvalue()


def to_csv(report: Report) -> dict[str, str]:
    """``findings`` (every finding, :data:`FINDING_COLUMNS`) and ``daily`` (the suppressed daily
    series) as CSV text."""
    data = report.to_dict()
    return {"findings": csv_text([list(FINDING_COLUMNS), *finding_rows(data["findings"])]),
            "daily": csv_text(daily_rows(data["daily"]))}


def to_json(report: Report) -> str:
    """The JSON contract, pretty-printed (UTF-8, no NaN)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)


def previous_month(value: Any) -> str:
    """One sentence for ``summary.previous_month`` (``month``, ``setups``, ``change`` and, for
    an incomplete month, ``note``); empty when it holds no setups."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value.get("setups"):
        return ""
    text = f"Month over month: {value['setups']:,} setups in {value.get('month', 'the month before')}"
    if value.get("note"):
        return f"{text} ({value['note']})."
    change = value.get("change")
    return text + (f"; this month {signed_percent(change)}." if change is not None else ".")


def to_html(report: Report, csv_stem: str = "report") -> str:
    """One self-contained HTML page (see the module docstring); ``csv_stem`` names the CSV
    files the appendix points to."""
    detail = [f for f in report.findings if f.kind != "phase"]
    order = {name: i for i, name in enumerate(("tools_over_price", "tool_mix", "device_mix",
                                                "us_share"))}
    charts = [{"name": c.name, "alt": c.alt, "caption": c.caption,
               "narrow": svg_data_uri(c.narrow), "wide": svg_data_uri(c.wide)}
              for c in sorted(report.charts, key=lambda c: order.get(c.name, len(order)))]
    template = _environment().get_template("report.html")
    return template.render(r=report, s=_Attr(report.summary), charts=charts, detail=detail,
                           schema=SCHEMA, month_name=_month_name(report.month),
                           pct=signed_percent, ci=_ci, tool_name=tool_name,
                           previous_month=previous_month, csv_stem=csv_stem)


class _Attr(dict):
    """Dict with attribute access for the template (``s.checks_per_visitor.US``)."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name)
        return _Attr(value) if isinstance(value, dict) else value


def to_markdown(report: Report, chart_dir: Path | None = None,
                chart_link: str | None = None, csv_stem: str = "report") -> str:
    """Markdown; with ``chart_dir`` the charts are written there as SVG and linked."""
    s = report.summary
    lines = [f"*Pre-trade setups · {_month_name(report.month)}*", "",
             f"# {report.headline or 'Pre-trade setups, ' + _month_name(report.month)}", ""]
    if report.standfirst:
        lines += [f"**{report.standfirst}**", ""]
    if report.synthetic:
        lines += [f"> **{report.label}**", ""]
    lines += ["## Key takeaways", ""]
    lines += [f"{i}. {t['text']}" for i, t in enumerate(report.key_takeaways, start=1)] + [""]
    per_visitor = s.get("checks_per_visitor") or {}
    lines += ["## The month in numbers", "",
              "| setups | visitors (visitor-days) | countries | checks per visitor-day |",
              "|---:|---:|---:|---:|",
              f"| {s['setups']:,} | {s['visitors'] or 0:,} | {s['countries']} | "
              f"{per_visitor.get('all') or 0:.2f} |", ""]
    if previous_month(s.get("previous_month")):
        lines += [previous_month(s.get("previous_month")), ""]
    if chart_dir is not None and report.charts:
        chart_dir.mkdir(parents=True, exist_ok=True)
        lines += ["## The month in charts", ""]
        for chart in report.charts:
            (chart_dir / f"{chart.name}.svg").write_bytes(chart.wide)
            link = f"{chart_link or chart_dir.name}/{chart.name}.svg"
            lines += [f"![{chart.alt}]({link})", "", f"*{chart.caption}*", ""]
    if report.chapters:
        lines += [f"## The month in {len(report.chapters)} phases", ""]
        for number, c in enumerate(report.chapters, start=1):
            lines += [f"### {number}. {c['title']}", ""]
            if c["mix"]:
                lines += [f"Tool mix: {c['mix']}.", ""]
            for title, key in (("Market context", "market_context"),
                               ("What users did", "what_users_did"),
                               ("Device and region", "device_and_region")):
                if c[key]:
                    lines += [f"**{title}**", ""] + [f"- {line}" for line in c[key]] + [""]
            lines += [f"*{c['interpretation']}*", ""]
        if report.across_the_month:
            lines += ["### Across the month", ""]
            lines += [f"- {line}" for line in report.across_the_month] + [""]
    if report.market_checks or report.market.get("correlations"):
        lines += ["## Market claims checked against the data", ""]
        lines += [f"- {c['text']}" for c in report.market_checks]
        lines += [f"- {c['text'][0].upper()}{c['text'][1:]}"
                  for c in report.market.get("correlations", [])]
        lines.append("")
    lines += ["## Countries", "", f"Countries with fewer than {report.k} checks are merged.",
              "", "| country | checks |", "|---|---:|"]
    for row in report.countries[:8]:
        checks = f"{row['checks']:,}" if row["checks"] is not None else f"<{report.k}"
        name = row["country"] + (f" ({row['countries']} countries)" if "countries" in row else "")
        lines.append(f"| {name} | {checks} |")
    lines += ["", "## Methodology", ""]
    for section in report.methodology:
        lines += [f"### {section['title']}", ""] + [p + "\n" for p in section["paragraphs"]]
    lines += ["## References", ""]
    lines += [f"{ref['n']}. {ref['text']}" for ref in report.references]
    if report.market.get("facts"):
        lines += ["", "Dated facts from the news (context):", ""]
        lines += [f"- {f['reported_on']}: {f['kind'].replace('_', ' ')} {f['value']:,.0f} "
                  f"{f['unit']} ({f['window']}) — {f['source']}" for f in report.market["facts"]]
    findings = [f for f in report.findings if f.kind != "phase"]
    lines += ["", "## Appendix", "",
              f"All {len(findings):,} day-level findings are in `{csv_stem}_findings.csv` and "
              f"the daily series (suppressed) in `{csv_stem}_daily.csv`, beside this file, and "
              "in the JSON.", ""]
    lines += [f"---\nSource: {report.source} · engine {report.engine} · k = {report.k} · "
              f"{SCHEMA}" + (" · SYNTHETIC DATA" if report.synthetic else ""), ""]
    return "\n".join(lines)


def find_chromium() -> str | None:
    """``$MARGINSCOPE_CHROMIUM`` or ``$CHROMIUM``, else ``/usr/bin/chromium``, else
    ``chromium``/``chromium-browser`` on PATH; None when there is none."""
    for candidate in (config.chromium(), os.environ.get("CHROMIUM"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def to_pdf(report: Report, out: Path, *, chromium: str | None = None,
           timeout: float = 120.0) -> Path:
    """Print the HTML report to ``out`` with headless Chromium."""
    binary = chromium or find_chromium()
    if binary is None:
        raise InputError("--format", "pdf", "md | html | json (PDF needs Chromium: install it "
                         "with `apt-get install chromium` or set $CHROMIUM)")
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="marginscope-report-") as folder:
        page = Path(folder) / "report.html"
        page.write_text(to_html(report), encoding="utf-8")
        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={Path(folder) / 'profile'}",
                   f"--print-to-pdf={out}", page.as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                check=False)
    if result.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium could not print the PDF (exit {result.returncode}): "
                           f"{result.stderr.strip()[-400:]}")
    return out


def render(report: Report, fmt: str, out: str | os.PathLike[str]) -> Path:
    """Write the report in ``fmt`` (one of :data:`FORMATS`) to ``out``; returns the path."""
    if fmt not in FORMATS:
        raise InputError("--format", fmt, " | ".join(FORMATS))
    path = Path(out)
    if fmt == "pdf":
        return to_pdf(report, path)
    if fmt == "json":
        text = to_json(report) + "\n"
    elif fmt == "html":
        text = to_html(report, csv_stem=path.stem)
    else:
        chart_dir = path.parent / f"{path.stem}_charts"
        text = to_markdown(report, chart_dir, csv_stem=path.stem)
    path.write_text(text, encoding="utf-8")
    if fmt in ("html", "md"):  # the full findings list and the daily series, beside the report
        for name, body in to_csv(report).items():
            (path.parent / f"{path.stem}_{name}.csv").write_text(body, encoding="utf-8")
    return path
