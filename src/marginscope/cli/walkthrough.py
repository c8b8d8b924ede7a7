"""``marginscope walkthrough``: the calculators at work on published worked examples."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from marginscope.calculators import REGISTRY
from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE
from marginscope.cli.render import show


def walkthrough() -> None:
    """Show the calculators at work on published worked examples (the main job for now)."""
    console = Console()
    console.print(Panel.fit(
        "marginscope: liquidation prices as the exchange computes them.\n"
        "Binance's two-position cross-margin example (USDⓈ-M FAQ): wallet 1,535,443.01 USDT,\n"
        "BTCUSDT long 109.488 @ 32,481.98 and ETHUSDT long 3,683.979 @ 1,456.84.\n"
        "Published answers: BTC 26,316.89, ETH 1,153.26.", title="walkthrough"))
    show("Binance USDⓈ-M cross account", REGISTRY["account"].run(BINANCE_CROSS_EXAMPLE), console)
    for name in ("liquidation", "margin-call", "position-size", "pnl", "funding", "average",
                 "stops", "leverage"):
        calculator = REGISTRY[name]
        console.rule(f"[bold]{calculator.title}[/] — marginscope calc {name}")
        console.print(f"input: {calculator.example}")
        show(calculator.title, calculator.run(calculator.example), console)
    console.print("Every calculator: [bold]marginscope calc --help[/]; JSON out: add --json.")
