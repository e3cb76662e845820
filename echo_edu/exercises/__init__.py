"""Checkers for the lesson exercises: ``check_…`` functions that say right or wrong, with a hint.

One small module per lesson, named by its topic, not its number (``attention_basics`` for
``notebooks/02_attention_basics.ipynb``, ...), so reordering the lessons renames no module. Every
checker prints one clear line, ``✓ …`` or ``✗ … Hint: …``, and returns ``True`` or ``False``, so a
lesson cell can ``assert`` it. The worked solutions are the collapsed cells after each lesson's exercises.
"""

from __future__ import annotations

__all__ = ["verdict"]


def verdict(ok: bool, right: str, hint: str) -> bool:
    """Print ``✓ right`` or ``✗ Not yet. Hint: hint`` and return ``ok`` as a plain bool."""
    ok = bool(ok)
    print(f"✓ {right}" if ok else f"✗ Not yet. Hint: {hint}")
    return ok
