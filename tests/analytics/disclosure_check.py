"""Small-cell check of the issue-21 findings against the raw events (tests only).

Every count behind a published share, probability or profile value is recomputed here from
the events themselves — pandas on the event rows, not the engine's tables or the analytics'
sums — and :func:`violations` lists every published number that reveals a count under k:

* directly: a published value whose cell (numerator) or complement (denominator − numerator)
  is in ``1 … k−1``;
* by subtraction: a distribution published with its total (or adding to 1) in which exactly
  one positive value is unpublished and that value's count is in ``1 … k−1``.

It also checks that each published value is the recomputed one (so the recomputation is the
same quantity, and a check that passes is not comparing different things).
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from marginscope.telemetry.country import country_zones

FIELDS = ("side", "leverage", "notional_bucket", "margin_mode", "venue", "symbol")
CONTRAST_CELLS = ("a", "a_rest", "b", "b_rest", "outside")
TOLERANCE = 1e-6


def small(n: float, k: int) -> bool:
    """A count that may not be published: 1 … k−1."""
    return 0 < round(float(n)) < k


class Raw:
    """The events as a DataFrame, and each session's ordered checks."""

    def __init__(self, events: pa.Table):
        columns = {
            name: pc.cast(events[name], pa.string())
            for name in ("event_id", "tool", "device", "country", "session", *FIELDS)
        }
        frame = pa.table({"ts": events["ts"], **columns}).to_pandas()
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame["day"] = frame["ts"].dt.strftime("%Y-%m-%d")
        frame["hour"] = frame["ts"].dt.hour
        frame["region"] = np.where(frame["country"] == "US", "US", "rest")
        self.events = frame.sort_values(["session", "ts", "event_id"], kind="stable")
        grouped = self.events.groupby("session", sort=False)
        self.sessions = pd.DataFrame(
            {
                "day": grouped["day"].first(),
                "device": grouped["device"].min(),
                "tools": grouped["tool"].agg(tuple),
            }
        )

    def span(self, first: str, last: str) -> pd.DataFrame:
        """Events of days ``first … last`` (inclusive ISO days)."""
        return self.events[(self.events["day"] >= first) & (self.events["day"] <= last)]

    def session_span(self, first: str, last: str) -> pd.DataFrame:
        """Sessions whose first check is on days ``first … last``."""
        s = self.sessions
        return s[(s["day"] >= first) & (s["day"] <= last)]


class Checker:
    """Collects the violations of one set of findings (dicts in the JSON contract form)."""

    def __init__(self, raw: Raw, reference: tuple[str, str], k: int):
        self.raw, self.reference, self.k = raw, reference, k
        self.found: list[str] = []
        self.checked: Counter[str] = Counter()
        self._cache: dict[tuple, object] = {}

    def _once(self, *key):
        """Memoise a per-span recount (``key`` = method name and its arguments)."""
        if key not in self._cache:
            self._cache[key] = getattr(self, key[0])(*key[1:])
        return self._cache[key]

    def _share(self, what: str, published: float | None, n: float, total: float) -> None:
        """A published share ``n / total``: equal to the recomputed one, cell and complement
        not small."""
        if published is None:
            return
        self.checked["values"] += 1
        if total <= 0 or abs(published - n / total) > TOLERANCE:
            self.found.append(f"{what}: published {published} is not {n}/{total}")
        if small(n, self.k) or small(total - n, self.k):
            self.found.append(f"{what}: {n} of {total} reveals a count under {self.k}")

    def _cell(self, what: str, n: float) -> None:
        """A count published outright (or recoverable as one)."""
        if small(n, self.k):
            self.found.append(f"{what}: count {n} under {self.k}")

    def _rest(self, what: str, counts: dict, published: set) -> None:
        """Total minus the published values: a small count of exactly one value is recovered."""
        unpublished = [v for v, n in counts.items() if v not in published and n > 0]
        if len(unpublished) == 1 and small(counts[unpublished[0]], self.k):
            self.found.append(
                f"{what}: total minus the published values gives {unpublished[0]}'s "
                f"{counts[unpublished[0]]} checks"
            )

    def _distribution(self, what: str, shares: dict, counts: dict, exact: bool = True) -> None:
        """A distribution of shares published with its total (``exact``: share = n / total)."""
        total = float(sum(counts.values()))
        for value, share in shares.items():
            n = counts.get(value, 0)
            if exact:
                self._share(f"{what} {value}", share, n, total)
            elif share is not None:
                self.checked["values"] += 1
                if small(n, self.k) or small(total - n, self.k):
                    self.found.append(f"{what} {value}: {n} of {total} under {self.k}")
        self._rest(what, counts, {v for v, s in shares.items() if s is not None})

    # --- kinds ----------------------------------------------------------------------------

    def content(self, f: dict) -> None:
        for (first, last), shares, name in (
            ((f["start"], f["end"]), f["observed"], "observed"),
            (self.reference, f["normal"], "normal"),
        ):
            counts = self._once("_content_counts", f["tool"], f["field"], first, last)
            self._distribution(f"content {f['tool']} {f['field']} {name}", shares, counts)
        if f.get("long_share") is not None and f["observed"].get("long") is None:
            self.found.append("content: long_share published with long suppressed")
        if f.get("share_20x") is not None and None in f["observed"].values():
            self.found.append("content: share_20x published with a leverage bucket suppressed")
        self._tv(f, dict(f["observed"]), dict(f["normal"]))

    def _content_counts(self, tool: str, field: str, first: str, last: str) -> dict:
        rows = self.raw.span(first, last)
        rows = rows[(rows["tool"] == tool) & rows[field].notna()]
        return rows[field].value_counts().to_dict()

    def _hour_counts(self, segment: str, first: str, last: str) -> dict:
        kind, _, value = segment.partition(":")
        rows = self.raw.span(first, last)
        if kind == "local":
            rows = rows[rows["country"] == value]
            zone = ZoneInfo(country_zones()[value][0])
            hours = rows["ts"].dt.tz_convert(zone).dt.hour
        else:
            rows = rows[rows[kind] == value]
            hours = rows["hour"]
        return hours.value_counts().to_dict()

    def _contrast_counts(
        self, tool: str, dimension: str, a: str, b: str, first: str, last: str
    ) -> dict:
        rows = self.raw.span(first, last)
        is_tool = rows["tool"] == tool
        in_a, in_b = rows[dimension] == a, rows[dimension] == b
        cells = (
            (is_tool & in_a),
            (~is_tool & in_a),
            (is_tool & in_b),
            (~is_tool & in_b),
            (is_tool & ~in_a & ~in_b),
        )
        return {name: int(c.sum()) for name, c in zip(CONTRAST_CELLS, cells, strict=True)}

    def _position_counts(self, tool: str, device: str, first: str, last: str) -> dict:
        now = self._once("_positions", first, last)
        checks, opened = now[(tool, device, "checks")], now[(tool, device, "first")]
        return {"first": opened, "later": checks - opened}

    def _device_counts(self, tool: str, first: str, last: str) -> dict:
        now = self._once("_positions", first, last)
        return {d: n for (t, d, what), n in now.items() if t == tool and what == "checks"}

    def _funnel_cells(self, steps: tuple, first: str, last: str) -> dict:
        reached = self._once("_funnel", steps, first, last)
        return dict(enumerate([a - b for a, b in pairwise(reached)] + [reached[-1]]))

    def _next_counts(self, origin: str, first: str, last: str) -> dict:
        pairs, _ = self._once("_pairs", first, last)
        return {to: n for (fr, to), n in pairs.items() if fr == origin}

    def nested(self, findings: list[dict], spans: list[tuple[str, str, str]]) -> None:
        """The month's value minus its phases' (the rest of the month's): when every part of
        the line ``month = phases + rest`` but one is published, that one is recovered."""
        month = next((a, b) for a, b, scope in spans if scope == "month")
        phases = [(a, b) for a, b, scope in spans if scope == "phase"]
        covered = sum(len(self.raw.span(a, b)["day"].unique()) for a, b in phases)
        rest_days = len(self.raw.span(*month)["day"].unique()) - covered
        published: dict[tuple, dict[tuple[str, str], set]] = {}
        for f in findings:
            for key, counter, values in _distributions(f):
                shown = {v for v, share in values.items() if share is not None}
                published.setdefault((key, counter), {}).setdefault(
                    (f["start"], f["end"]), set()
                ).update(shown)
        for (key, counter), by_span in published.items():
            if month not in by_span:
                continue
            counts = {span: self._once(counter, *key, *span) for span in (month, *phases)}
            self.checked["nested"] += 1
            for value in set().union(*(counts[span] for span in counts)):
                parts = [counts[p].get(value, 0) for p in phases]
                rest = counts[month].get(value, 0) - sum(parts)
                known = [value in by_span.get(p, set()) for p in phases]
                unknown = [n for n, seen in zip(parts, known, strict=True) if not seen]
                unknown += [rest] if rest_days else []
                if value in by_span[month] and len(unknown) == 1 and small(unknown[0], self.k):
                    self.found.append(
                        f"{counter} {key} {value}: month minus phases gives {unknown[0]}"
                    )
                if (
                    value not in by_span[month]
                    and not unknown
                    and small(counts[month].get(value, 0), self.k)
                ):
                    self.found.append(f"{counter} {key} {value}: the phases add to the month")

    def _tv(self, f: dict, observed: dict, normal: dict) -> None:
        """``tv`` must be a function of the published shares (suppressed ones pooled)."""
        pooled = {v for v in observed if observed[v] is None or normal.get(v) is None}
        shown = set(observed) - pooled
        tv = sum(abs(observed[v] - normal[v]) for v in shown)
        if pooled:
            tv += abs(sum(observed[v] for v in shown) - sum(normal[v] for v in shown))
        rounding = 1e-6 * (len(observed) + 1)  # published shares are rounded to 6 digits
        if abs(tv / 2 - f["tv"]) > rounding:
            self.found.append(f"{f['kind']}: tv {f['tv']} is not that of the published shares")

    def hour_profile(self, f: dict) -> None:
        kind = f["segment"].partition(":")[0]
        for (first, last), shares, name in (
            ((f["start"], f["end"]), f["observed"], "observed"),
            (self.reference, f["normal"], "normal"),
        ):
            counts = self._once("_hour_counts", f["segment"], first, last)
            self._distribution(
                f"hours {f['segment']} {name}",
                dict(enumerate(shares)),
                counts,
                exact=kind != "local",
            )
        self._tv(f, dict(enumerate(f["observed"])), dict(enumerate(f["normal"])))

    def contrast(self, f: dict) -> None:
        spans = [((f["start"], f["end"]), (f["share_a"], f["share_b"]))]
        if f["normal_ratio"] is not None:
            spans.append((self.reference, (None, None)))
        for (first, last), (share_a, share_b) in spans:
            rows = self.raw.span(first, last)
            tool = rows["tool"] == f["tool"]
            cells = []
            for segment, share in ((f["a"], share_a), (f["b"], share_b)):
                inside = rows[f["dimension"]] == segment
                n, total = int((tool & inside).sum()), int(inside.sum())
                what = f"contrast {f['tool']} {segment} {first}"
                if share is None:  # the reference: cell and complement only
                    self._cell(what, n)
                    self._cell(what + " rest", total - n)
                else:
                    self._share(what, share, n, total)
                cells.append(n)
            self._cell(f"contrast {f['tool']} outside both", int(tool.sum()) - sum(cells))

    def _pairs(self, first: str, last: str) -> tuple[Counter, Counter]:
        """(A, B) next-check pairs and A's checks with a next one, in sessions of the span."""
        pairs: Counter = Counter()
        for tools in self.raw.session_span(first, last)["tools"]:
            pairs.update(pairwise(tools))
        origins: Counter = Counter()
        for (a, _), n in pairs.items():
            origins[a] += n
        return pairs, origins

    def transitions(self, findings: list[dict]) -> None:
        groups: dict[tuple, list[dict]] = {}
        for f in findings:
            groups.setdefault((f["start"], f["end"], f["from_tool"]), []).append(f)
        for (first, last, origin), group in groups.items():
            for span, name in (((first, last), "probability"), (self.reference, "normal")):
                pairs, origins = self._once("_pairs", *span)
                counts = {to: n for (fr, to), n in pairs.items() if fr == origin}
                for f in group:
                    self._share(
                        f"transition {origin}→{f['to_tool']} {span[0]}",
                        f["probability" if name == "probability" else "normal_probability"],
                        counts.get(f["to_tool"], 0),
                        origins[origin],
                    )
                if name == "probability":
                    shown = {f["to_tool"] for f in group}
                    self._rest(f"transitions from {origin} {first}", counts, shown)

    def _path_counts(self, first: str, last: str) -> dict:
        return dict(self._once("_paths", first, last))

    def _paths(self, first: str, last: str) -> Counter:
        out: Counter = Counter()
        for tools in self.raw.session_span(first, last)["tools"]:
            out[tuple((*tools[:3], "END", "END", "END")[:3])] += 1
        return out

    def path(self, f: dict) -> None:
        now = self._once("_paths", f["start"], f["end"])
        ref = self._once("_paths", *self.reference)
        total, path = sum(now.values()), tuple(f["path"])
        self._share(f"path {path}", f["share"], now[path], total)
        self._share(f"path {path} normal", f["normal_share"], ref[path], sum(ref.values()))
        self._cell(f"path {path} sessions", f["path_sessions"])
        listed = set()
        for entry in f["top_paths"]:
            listed.add(tuple(entry["path"]))
            self._share(
                f"top path {entry['path']}", entry["share"], now[tuple(entry["path"])], total
            )
        self._rest(f"top paths {f['start']}", dict(now), listed)

    def _positions(self, first: str, last: str) -> Counter:
        out: Counter = Counter()
        for device, tools in self.raw.session_span(first, last)[["device", "tools"]].itertuples(
            index=False
        ):
            for i, tool in enumerate(tools):
                out[(tool, device, "checks")] += 1
                out[(tool, device, "first")] += i == 0
        return out

    def session_position(self, findings: list[dict]) -> None:
        ref = self._once("_positions", *self.reference)
        by_span: dict[tuple, list[dict]] = {}
        for f in findings:
            by_span.setdefault((f["start"], f["end"]), []).append(f)
        for (first, last), group in by_span.items():
            now = self._once("_positions", first, last)
            for f in group:
                key = (f["tool"], f["device"])
                self._share(
                    f"position {key}", f["first_share"], now[(*key, "first")], now[(*key, "checks")]
                )
                self._share(
                    f"position {key} normal",
                    f["normal_first_share"],
                    ref[(*key, "first")],
                    ref[(*key, "checks")],
                )
            for tool in {f["tool"] for f in group}:
                devices = {
                    d: n for (t, d, what), n in now.items() if t == tool and what == "checks"
                }
                shown = {f["device"] for f in group if f["tool"] == tool}
                self._rest(f"positions of {tool} {first}", devices, shown)

    def _funnel(self, steps: tuple[tuple[str, ...], ...], first: str, last: str) -> list[int]:
        reached = [0] * len(steps)
        for tools in self.raw.session_span(first, last)["tools"]:
            at = -1
            for k, step in enumerate(steps):
                hits = [i for i, t in enumerate(tools) if t in step and i > at]
                if not hits:
                    break
                at = hits[0]
                reached[k] += 1
        return reached

    def funnel(self, f: dict) -> None:
        for (first, last), published in (
            ((f["start"], f["end"]), f["sessions"]),
            (self.reference, f["normal_sessions"]),
        ):
            reached = self._once("_funnel", tuple(map(tuple, f["steps"])), first, last)
            if list(published) != reached:
                self.found.append(f"funnel {first}: sessions {published} are not {reached}")
            self.checked["values"] += len(reached)
            for n in (
                *(a - b for a, b in pairwise(reached)),
                reached[-1],
            ):
                self._cell(f"funnel {first}", n)

    def lift_ratio(self, f: dict) -> None:
        rows = self.raw.span(f["start"], f["end"])
        for tool in (f["tool_a"], f["tool_b"]):
            self.checked["values"] += 1
            self._cell(f"lift ratio {tool}", int((rows["tool"] == tool).sum()))


def _distributions(f: dict) -> list[tuple[tuple, str, dict]]:
    """The distributions a finding publishes: (key, recount method, value → share or None)."""
    if f["kind"] == "content":
        return [((f["tool"], f["field"]), "_content_counts", f["observed"])]
    if f["kind"] == "hour_profile":
        return [((f["segment"],), "_hour_counts", dict(enumerate(f["observed"])))]
    if f["kind"] == "transition":
        return [((f["from_tool"],), "_next_counts", {f["to_tool"]: f["probability"]})]
    if f["kind"] == "path":
        return [((), "_path_counts", {tuple(p["path"]): p["share"] for p in f["top_paths"]})]
    every = 1.0  # a finding of one number publishes (implies) every one of its cells
    if f["kind"] == "contrast":
        key = (f["tool"], f["dimension"], f["a"], f["b"])
        return [(key, "_contrast_counts", dict.fromkeys(CONTRAST_CELLS, every))]
    if f["kind"] == "session_position":
        return [
            ((f["tool"], f["device"]), "_position_counts", {"first": every, "later": every}),
            ((f["tool"],), "_device_counts", {f["device"]: every}),
        ]
    if f["kind"] == "funnel":
        steps = tuple(tuple(step) for step in f["steps"])
        return [((steps,), "_funnel_cells", dict.fromkeys(range(len(steps)), every))]
    return []


def violations(
    findings: list[dict],
    raw: Raw,
    reference: tuple[str, str],
    k: int,
    spans: list[tuple[str, str, str]] | None = None,
    daily: dict | None = None,
    summary: dict | None = None,
    previous: dict | None = None,
) -> tuple[list[str], Counter]:
    """Every published number of the issue-21 ``findings`` that reveals a count under ``k``
    (see the module docstring; with ``spans``, also the month minus its phases and the
    counts of checks the findings, the ``daily`` table and the ``summary`` give back
    together: :func:`across_kinds`; with ``previous``, last month's totals taken as the
    reference's), and how many values of each kind were checked."""
    check = Checker(raw, reference, k)
    by_kind: dict[str, list[dict]] = {}
    for f in findings:
        by_kind.setdefault(f["kind"], []).append(f)
        check.checked[f["kind"]] += 1
    for kind in ("content", "hour_profile", "contrast", "path", "funnel", "lift_ratio"):
        for f in by_kind.get(kind, []):
            getattr(check, kind)(f)
    check.transitions(by_kind.get("transition", []))
    check.session_position(by_kind.get("session_position", []))
    if spans:
        check.nested(findings, spans)
        ledger = Ledger(raw, spans, k, reference if previous else None)
        check.found += ledger.attack(findings, daily, summary, previous)
        check.checked["across"] += ledger.published
    return check.found, check.checked


# --- across kinds: one ledger of every published count of checks ---------------------------


class Ledger:
    """Every published count of checks of a tool (``*``: all tools) in a segment (``all``,
    ``device:<d>``, ``region:<r>``; ``<segment>@<h>``: in UTC hour h) over a period (a tuple
    of ISO days) — from the daily table, the month's summary and the findings of every kind
    (an hour profile's share times its ``checks`` is a count) — and of sessions (tool
    ``session``: all, by first check and its device, by path; :meth:`session_lines`), with
    the additive lines an
    attacker knows between them: a period's segments add to its ``all`` (devices, and
    regions; per hour too), its tools add to ``*``, its hours add to the segment, its days
    add to the period, and the month's phases and the rest of the month add to the month. :meth:`solve` derives every count that a line with exactly
    one unknown member gives back; :meth:`leaks` lists those that are under k."""

    def __init__(
        self,
        raw: Raw,
        spans: list[tuple[str, str, str]],
        k: int,
        reference: tuple[str, str] | None = None,
    ):
        self.k = k
        month = next((a, b) for a, b, scope in spans if scope == "month")
        self.days = tuple(sorted(raw.span(*month)["day"].unique()))
        rows = raw.span(min(month[0], *(reference or month)), month[1])
        self.reference = tuple(sorted(raw.span(*reference)["day"].unique())) if reference else ()
        self.tools = tuple(sorted(rows["tool"].unique()))
        self.devices = tuple(sorted(rows["device"].unique()))
        self.segments = (
            "all",
            *(f"device:{d}" for d in self.devices),
            *(f"region:{r}" for r in ("US", "rest")),
        )
        self.truth: Counter = Counter()
        for dimension in ("device", "region"):
            grouped = rows.groupby(["day", "tool", dimension, "hour"]).size()
            for (day, tool, value, hour), n in grouped.items():
                segment = f"{dimension}:{value}"
                for t in (tool, "*"):
                    self.truth[((day,), t, segment)] += int(n)
                    if dimension == "device":
                        self.truth[((day,), t, "all")] += int(n)
                self.truth[((day,), "*", f"{segment}@{hour}")] += int(n)
                if dimension == "device":
                    self.truth[((day,), "*", f"all@{hour}")] += int(n)
        # sessions, by the day they start: all, by first check (and its device), by path
        self.paths: set[str] = set()
        sessions = raw.session_span(rows["day"].min(), rows["day"].max())
        for day, device, tools in sessions[["day", "device", "tools"]].itertuples(index=False):
            path = ">".join((*tools[:3], "END", "END", "END")[:3])
            self.paths.add(path)
            for cell in ("all", f"start:{tools[0]}", f"first:{tools[0]}:{device}", f"path:{path}"):
                self.truth[((day,), "session", cell)] += 1
            for i, tool in enumerate(tools):  # a check with a next one, or its session's last
                self.truth[((day,), tool, "next" if i + 1 < len(tools) else "last")] += 1
        self.month = self.days
        self.phases = [
            tuple(d for d in self.days if a <= d <= b) for a, b, scope in spans if scope == "phase"
        ]
        inside = set().union(*self.phases) if self.phases else set()
        self.rest = tuple(d for d in self.days if d not in inside)
        self.known: dict[tuple, int] = {}
        self.derived: dict[tuple, str] = {}
        self.published = 0

    def value(self, key: tuple) -> int:
        """The true count of ``(period, tool, segment)``."""
        period, tool, segment = key
        return sum(self.truth[((day,), tool, segment)] for day in period)

    def publish(self, period: tuple, tool: str | None, segment: str, value) -> None:
        """A published count (None: not published)."""
        if value is not None:
            self.known[(tuple(period), tool or "*", segment)] = int(value)

    def span(self, first: str, last: str) -> tuple:
        return tuple(d for d in self.days if first <= d <= last)

    def daily(self, daily: dict) -> None:
        """The daily table (the report's ``daily`` block: checks per tool, devices, regions)."""
        for i, day in enumerate(daily["dates"]):
            for tool, series in daily["checks"].items():
                self.publish((day,), None if tool == "all" else tool, "all", series[i])
            for axis, block in (("device", daily["devices"]), ("region", daily["regions"])):
                for name, series in block.items():
                    self.publish((day,), None, f"{axis}:{name}", series[i])

    def summary(self, summary: dict) -> None:
        """The month's totals (``summary``: setups, tools, devices, regions)."""
        self.publish(self.month, None, "all", summary["setups"])
        for tool, n in summary["tools"].items():
            self.publish(self.month, tool, "all", n)
        for axis in ("devices", "regions"):
            for name, n in summary[axis].items():
                self.publish(self.month, None, f"{axis[:-1]}:{name}", n)

    def findings(self, findings: list[dict]) -> None:
        """The counts of checks the findings publish: a contrast's ``checks_a``/``checks_b``,
        a position's ``checks`` (sessions do not cross midnight here, so these are the
        tool's checks on the device over the span's days), an hour profile's ``checks`` and
        a content finding's (the tool's checks, where each of them sets the field)."""
        for f in findings:
            period = self.span(f["start"], f["end"])
            if f["kind"] == "contrast":
                for side in ("a", "b"):
                    segment = f"{f['dimension']}:{f[side]}"
                    self.publish(period, f["tool"], segment, f[f"checks_{side}"])
            elif f["kind"] == "session_position":
                self.publish(period, f["tool"], f"device:{f['device']}", f["checks"])
            elif f["kind"] == "hour_profile" and not f["segment"].startswith("local:"):
                self.publish(period, None, f["segment"], f["checks"])
                for hour, share in enumerate(f["observed"]):  # UTC: share of the checks
                    if share is not None:
                        n = round(share * f["checks"])
                        self.publish(period, None, f"{f['segment']}@{hour}", n)
            elif f["kind"] == "path":
                self.publish(period, "session", "all", f["sessions"])
                self.publish(period, "session", f"path:{'>'.join(f['path'])}", f["path_sessions"])
                for entry in f["top_paths"]:
                    n = round(entry["share"] * f["sessions"])
                    self.publish(period, "session", f"path:{'>'.join(entry['path'])}", n)
            if f["kind"] == "transition":
                self.publish(period, f["from_tool"], "next", f["transitions"])
            if f["kind"] == "session_position":
                n = round(f["first_share"] * f["checks"])
                self.publish(period, "session", f"first:{f['tool']}:{f['device']}", n)
            elif f["kind"] == "content" and f["checks"] == self.value((period, f["tool"], "all")):
                self.publish(period, f["tool"], "all", f["checks"])  # every check sets the field

    def lines(self) -> list[tuple[tuple, tuple[tuple, ...]]]:
        """``(total, parts)`` for every line an attacker knows."""
        periods = [*((d,) for d in self.days), self.month, *self.phases]
        if self.phases and self.rest:
            periods.append(self.rest)
        if self.reference:
            periods.append(self.reference)
        out = []
        devices = [f"device:{d}" for d in self.devices]
        regions = ["region:US", "region:rest"]
        for period in periods:
            for tool in (*self.tools, "*"):
                for parts in (devices, regions):
                    out.append(((period, tool, "all"), tuple((period, tool, s) for s in parts)))
            for segment in self.segments:
                tools = tuple((period, t, segment) for t in self.tools)
                out.append(((period, "*", segment), tools))
                hours = tuple((period, "*", f"{segment}@{h}") for h in range(24))
                out.append(((period, "*", segment), hours))
            for h in range(24):
                for parts in (devices, regions):
                    cells = tuple((period, "*", f"{s}@{h}") for s in parts)
                    out.append(((period, "*", f"all@{h}"), cells))
        for period in periods[len(self.days) :]:
            for tool in (*self.tools, "*"):
                hourly = (f"{s}@{h}" for s in self.segments for h in range(24))
                for segment in (*self.segments, *(hourly if tool == "*" else ())):
                    days = tuple(((d,), tool, segment) for d in period)
                    out.append(((period, tool, segment), days))
                    if period == self.month and self.phases:
                        atoms = [*self.phases, *([self.rest] if self.rest else [])]
                        out.append(
                            ((period, tool, segment), tuple((a, tool, segment) for a in atoms))
                        )
        return out + self.session_lines(periods[len(self.days) :])

    def session_lines(self, periods: list[tuple]) -> list[tuple[tuple, tuple[tuple, ...]]]:
        """Sessions of a period: they add up by first check, a first check's by device and
        by path (a position's first checks, the paths' sessions); a tool's checks are those
        with a next check (a transition's ``transitions``) and its sessions' last ones; the
        month's are its phases' and the rest's."""
        out = []
        cells = [f"start:{t}" for t in self.tools]
        cells += [f"first:{t}:{d}" for t in self.tools for d in self.devices]
        cells += [f"path:{p}" for p in sorted(self.paths)]
        for period in periods:

            def key(cell: str, period: tuple = period) -> tuple:
                return (period, "session", cell)

            out.append((key("all"), tuple(key(f"start:{t}") for t in self.tools)))
            out.append((key("all"), tuple(key(f"path:{p}") for p in sorted(self.paths))))
            for t in self.tools:
                out.append(((period, t, "all"), ((period, t, "next"), (period, t, "last"))))
                out.append((key(f"start:{t}"), tuple(key(f"first:{t}:{d}") for d in self.devices)))
                paths = [p for p in sorted(self.paths) if p.split(">")[0] == t]
                out.append((key(f"start:{t}"), tuple(key(f"path:{p}") for p in paths)))
            if period == self.month and self.phases and self.rest:
                atoms = (*self.phases, self.rest)
                for cell in ("all", *cells):
                    out.append((key(cell), tuple((a, "session", cell) for a in atoms)))
                for t in self.tools:
                    for cell in ("next", "last"):
                        out.append(((period, t, cell), tuple((a, t, cell) for a in atoms)))
        return out

    def solve(self) -> None:
        """Derive what the lines give back until nothing more is derived."""
        lines = self.lines()
        changed = True
        while changed:
            changed = False
            for total, parts in lines:
                members = (total, *parts)
                unknown = [key for key in members if key not in self.known]
                if len(unknown) != 1:
                    continue
                key = unknown[0]
                rest = sum(self.known[p] for p in parts if p in self.known)
                self.known[key] = rest if key == total else self.known[total] - rest
                self.derived[key] = f"{total[1]} {total[2]} over {len(total[0])} day(s)"
                changed = True

    def previous(self, block: dict) -> None:
        """``summary.previous_month`` when the reference is that month (a March against a
        28-day February, or a reference set to the previous month): its totals are the
        reference's."""
        self.publish(self.reference, None, "all", block["setups"])
        for tool, part in block["tools"].items():
            self.publish(self.reference, tool, "all", part["previous"])
        for axis in ("devices", "regions"):
            for name, part in block[axis].items():
                self.publish(self.reference, None, f"{axis[:-1]}:{name}", part["previous"])

    def normals(self, findings: list[dict]) -> None:
        """The reference's counts that its published shares give back with its totals: an
        hour profile's ``normal`` times the segment's checks, and a region contrast's
        ``normal_ratio`` R = (T_US / N_US) / (T_rest / N_rest) with T_US + T_rest = T:
        ``T_US = R·N_US·T / (N_rest + R·N_US)``."""
        ref, known = self.reference, self.known
        for f in findings:
            if f["kind"] == "hour_profile" and not f["segment"].startswith("local:"):
                total = known.get((ref, "*", f["segment"]))
                for hour, share in enumerate(f["normal"]):
                    if total is not None and share is not None:
                        self.publish(ref, None, f"{f['segment']}@{hour}", round(share * total))
            if f["kind"] == "contrast" and f["dimension"] == "region" and f["normal_ratio"]:
                r, tool = f["normal_ratio"], f["tool"]
                n_us, n_rest = (
                    known.get((ref, "*", "region:US")),
                    known.get((ref, "*", "region:rest")),
                )
                total = known.get((ref, tool, "all"))
                if None not in (n_us, n_rest, total):
                    us = round(r * n_us * total / (n_rest + r * n_us))
                    self.publish(ref, tool, "region:US", us)

    def attack(
        self,
        findings: list[dict],
        daily: dict | None,
        summary: dict | None,
        previous: dict | None = None,
    ) -> list[str]:
        """Publish everything, derive what the lines give back, return the leaks."""
        if daily is not None:
            self.daily(daily)
        if summary is not None:
            self.summary(summary)
        self.findings(findings)
        if previous is not None and self.reference:
            self.previous(previous)
        self.published = len(self.known)
        self.solve()
        if self.reference:
            self.normals(findings)
            self.solve()
        return self.leaks()

    def leaks(self) -> list[str]:
        """Derived counts that are a count under k (and are the true count)."""
        out = []
        for key, line in self.derived.items():
            n = self.known[key]
            if small(n, self.k) and n == self.value(key):
                period, tool, segment = key
                out.append(
                    f"across kinds: {tool} {segment} over {period[0]}…{period[-1]} "
                    f"({len(period)} days) = {n}, from the line {line}"
                )
        return out


def across_kinds(
    findings: list[dict],
    raw: Raw,
    k: int,
    spans: list[tuple[str, str, str]],
    daily: dict | None = None,
    summary: dict | None = None,
    reference: tuple[str, str] | None = None,
    previous: dict | None = None,
) -> list[str]:
    """Counts under k that the daily table, the summary and the findings of all kinds give
    back together (:class:`Ledger`); with ``reference`` and ``previous`` (last month's
    protected totals, taken as the reference's), also the reference's."""
    return Ledger(raw, spans, k, reference).attack(findings, daily, summary, previous)
