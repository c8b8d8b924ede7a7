"""The monthly behavioural report: findings → narrative + charts → Markdown / HTML / JSON / PDF.

``build_report(source, "2025-11")`` returns a :class:`Report`; ``render(report, fmt, out)``
writes it. ``Report.to_dict()`` is the JSON contract other programs read.
"""

from marginscope.report.build import STEPS, Report, build_report, report_from_cube
from marginscope.report.render import FORMATS, render, to_html, to_json, to_markdown, to_pdf

__all__ = ["FORMATS", "STEPS", "Report", "build_report", "render", "report_from_cube",
           "to_html", "to_json", "to_markdown", "to_pdf"]
