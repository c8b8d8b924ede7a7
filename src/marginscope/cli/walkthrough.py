"""``marginscope walkthrough``: a short tour of the calculators (the main job for now)."""


def walkthrough() -> None:
    """Show the calculators at work on published worked examples."""
