"""Planted effects against what the analysis recovers, printed side by side, and false flags.

The month is ``NOVEMBER_2025`` from ``marginscope.sim.planted`` (seed 1): single-day spikes of
+20 % to +150 %, a U.S. share shift of margin-call checks, mobile and desktop share shifts,
three tool-mix phases, with day-level overdispersion (gamma noise, CV ≈ 7 %) and a weekly
rhythm (−12 % at weekends). The truth of every series is the generator's noise-free expected
count with and without the effects, so an overlap of effects is accounted for.

A flag is *false* when the series it names was not touched by any planted effect (true ratio
below 1.05 for spikes; true share within 1 pp of normal for shares). Rates are printed (run
with ``-s``) and written to ``test-artifacts/planted_vs_recovered.txt`` and
``test-artifacts/null_month_seed*.txt``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from marginscope.analytics import analyze
from marginscope.sim.planted import NOVEMBER_2025, PhaseShift, ShareShift, Spike, planted_month

from .conftest import ARTIFACTS, cube_of

NULL_SEEDS = (11, 12, 13, 14)


@pytest.fixture(scope="module")
def recovered(story):
    return analyze(cube_of(story), "2025-11", k=10, today=date(2026, 1, 1))


def _spike_rows(story, analysis):
    rows = []
    tests = {(t.date, t.tool, t.segment): t for t in analysis.spikes}
    for effect in NOVEMBER_2025:
        if not isinstance(effect, Spike):
            continue
        day = story.day_index(effect.date)
        planted = story.true_ratio(effect.tool, effect.segment)[day] - 1.0
        test = tests[(effect.date, effect.tool, effect.segment)]
        rows.append((effect, planted, test))
    return rows


def _share_rows(story, analysis):
    rows = []
    tests = {(t.date, t.tool, t.segment): t for t in analysis.shares}
    for effect in NOVEMBER_2025:
        if not isinstance(effect, ShareShift):
            continue
        for offset in range(effect.days):
            day = story.day_index(effect.date) + offset
            iso = str(story.days[day])
            planted = story.true_share(effect.tool, effect.segment)[day]
            normal = story.true_share(effect.tool, effect.segment, planted=False)[day]
            rows.append((effect, iso, planted, normal, tests[(iso, effect.tool, effect.segment)]))
    return rows


def _false_flags(month, analysis) -> tuple[int, int, int, int]:
    spike_false = spike_null = share_false = share_null = 0
    for test in analysis.spikes:
        untouched = month.true_ratio(test.tool, test.segment)[test.day] < 1.05
        spike_null += untouched
        spike_false += untouched and test.flagged
    for test in analysis.shares:
        true = month.true_share(test.tool, test.segment)[test.day]
        normal = month.true_share(test.tool, test.segment, planted=False)[test.day]
        untouched = abs(true - normal) < 0.01
        share_null += untouched
        share_false += untouched and test.flagged
    return spike_false, spike_null, share_false, share_null


def _table(story, analysis) -> str:
    lines = ["SPIKES (planted lift = noise-free truth; recovered = lift [95% CI], q)",
             f"{'date':<11}{'tool':<18}{'planted':>9}  {'recovered':<24}{'q':>9}  flagged"]
    for effect, planted, test in _spike_rows(story, analysis):
        r = test.result
        lines.append(f"{effect.date:<11}{effect.tool:<18}{planted:>+9.2f}  "
                     f"{r.lift:+.2f} [{r.low:+.2f}, {r.high:+.2f}]{'':<6}{test.q_value:>9.2g}  "
                     f"{'yes' if test.flagged else 'no'}")
    lines += ["", "SHARE SHIFTS (share / normal share)",
              f"{'date':<11}{'tool':<13}{'segment':<16}{'planted':>15}  {'recovered':<26}flagged"]
    for effect, iso, planted, normal, test in _share_rows(story, analysis):
        lines.append(f"{iso:<11}{effect.tool or 'all':<13}{effect.segment:<16}"
                     f"{planted:>6.3f} / {normal:.3f}  {test.share:.3f} / {test.baseline.share:.3f}"
                     f" [{test.ratio_low:.2f}×–{test.ratio_high:.2f}×]  "
                     f"{'yes' if test.flagged else 'no'}")
    lines += ["", "PHASES (planted start → recovered phase covering it)"]
    days = analysis.days
    for effect in NOVEMBER_2025:
        if isinstance(effect, PhaseShift):
            index = int(np.flatnonzero(days == np.datetime64(effect.start))[0])
            phase = next(p for p in analysis.phases if p.start <= index < p.end)
            lines.append(f"{effect.start} → {effect.end}  {effect.name:<17} recovered "
                         f"{days[phase.start]} → {days[phase.end - 1]}  {phase.label}")
    return "\n".join(lines)


def test_planted_effects_are_recovered_side_by_side(story, recovered):
    table = _table(story, recovered)
    spike_false, spike_null, share_false, share_null = _false_flags(story, recovered)
    table += (f"\n\nFALSE FLAGS in the planted month: spikes {spike_false} of {spike_null} "
              f"untouched series-days ({spike_false / spike_null:.2%}); shares {share_false} of "
              f"{share_null} ({share_false / share_null:.2%})")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "planted_vs_recovered.txt").write_text(table + "\n", encoding="utf-8")
    print("\n" + table)

    large = [(effect, planted, test) for effect, planted, test in _spike_rows(story, recovered)
             if planted >= 0.5]
    assert large and all(test.flagged for _, _, test in large)  # large spikes: always found
    # Each 95 % interval covers its truth; with four of them one miss is ordinary (19 % of
    # months), two would happen in 1.4 % of months: a sign of bias, not bad luck.
    misses = [effect for effect, planted, test in large
              if not test.result.low <= planted <= test.result.high]
    assert len(misses) <= 1, misses
    for _, _, planted, normal, test in _share_rows(story, recovered):
        assert test.flagged
        assert test.share == pytest.approx(planted, abs=0.06)
        assert test.baseline.share == pytest.approx(normal, abs=0.03)
    assert spike_false / spike_null < 0.01
    assert share_false / share_null < 0.02


def test_planted_phase_changes_are_found_within_a_day_and_named_by_their_tools(recovered):
    days = recovered.days
    starts = [str(days[p.start]) for p in recovered.phases]
    for effect in NOVEMBER_2025:
        if not isinstance(effect, PhaseShift):
            continue
        planted = date.fromisoformat(effect.start)
        nearest = min(abs((date.fromisoformat(s) - planted).days) for s in starts)
        assert nearest <= 1, (effect.name, starts)
        middle = int(np.flatnonzero(days == np.datetime64(effect.end))[0])
        phase = next(p for p in recovered.phases if p.start <= middle < p.end)
        assert phase.theme == effect.name
        dominant = {tool for tool, _, _ in phase.dominant}
        assert max(effect.weights, key=effect.weights.get) in dominant
    assert recovered.phases[0].dominant == ()  # the first days are the usual mix


@pytest.mark.parametrize("seed", NULL_SEEDS)
def test_a_month_with_nothing_planted_raises_few_flags(seed):
    month = planted_month(seed, ())
    analysis = analyze(cube_of(month), "2025-11", k=10, today=date(2026, 1, 1))
    spike_false, spike_null, share_false, share_null = _false_flags(month, analysis)
    line = (f"null month seed {seed}: spike flags {spike_false}/{spike_null} "
            f"({spike_false / spike_null:.2%}), share flags {share_false}/{share_null} "
            f"({share_false / share_null:.2%}), phases {len(analysis.phases)}")
    print(line)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"null_month_seed{seed}.txt").write_text(line + "\n", encoding="utf-8")
    assert spike_false <= 6  # of 1,650 tests: under 0.4 %
    assert share_false <= 4  # of 990 tests
    assert len(analysis.phases) == 1 and analysis.phases[0].dominant == ()
