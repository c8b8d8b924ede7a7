"""marginscope: exchange-faithful leveraged-trading risk, and what traders do with it.

The public entry points most people want:

>>> from marginscope import evaluate_account
>>> from marginscope import risk          # vectorized engine (NumPy)
"""

from marginscope.errors import InputError

__version__ = "0.1.0"
__all__ = ["InputError", "__version__", "evaluate_account"]


def __getattr__(name: str):
    # Imported lazily so that `import marginscope.risk` stays NumPy-only and fast.
    if name == "evaluate_account":
        from marginscope.calculators.account import evaluate_account

        return evaluate_account
    raise AttributeError(name)
