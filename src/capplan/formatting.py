"""Plain-text formatting of figures, shared by messages, tables and reports."""

from __future__ import annotations

import math

__all__ = ["fmt_age", "fmt_money", "fmt_number", "json_float", "money_affixes"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def fmt_number(value: float, digits: int | None = None) -> str:
    """``12500`` → ``12,500``; ``11.7`` → ``11.7``; ``0.0123`` → ``0.0123``; NaN → ``-``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if digits is not None:
        return f"{value:,.{digits}f}"
    magnitude = abs(value)
    if magnitude >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def fmt_money(value: float, currency: str = "USD") -> str:
    """``3500`` → ``$3,500``; ``2.8`` → ``$2.80``; ``0.0035`` → ``$0.0035``; other currencies
    are suffixed (``3,500 CHF``)."""
    if not math.isfinite(value):
        return "-"
    whole = abs(value) >= 100 or abs(value) < 5e-7
    # cents, but two significant digits below 10 cents: a cost per user of $0.0035 is
    # not $0.00
    decimals = 2 if abs(value) >= 0.1 else min(6, 1 - math.floor(math.log10(abs(value) or 1)))
    text = f"{value:,.0f}" if whole else f"{value:,.{decimals}f}"
    prefix, suffix = money_affixes(currency)
    return f"{prefix}{text}{suffix}"


def money_affixes(currency: str = "USD") -> tuple[str, str]:
    """What :func:`fmt_money` writes before and after a figure: ``("$", "")`` for USD,
    ``("", " CHF")`` for a currency without a symbol here (a chart axis' tick prefix and
    suffix)."""
    symbol = _SYMBOLS.get(currency.upper())
    return (symbol, "") if symbol else ("", f" {currency}")


_AGE_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def fmt_age(seconds: float | None) -> str:
    """A duration in its two largest units, rounded down: ``4_233_600`` → ``7w 0d``,
    ``11_400`` → ``3h 10m``, ``42`` → ``42s``; None → ``-``; negative → ``-5m 0s`` (ahead)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    sign, rest = ("-" if seconds < 0 else ""), int(abs(seconds))
    for i, (unit, size) in enumerate(_AGE_UNITS[:-1]):
        if rest >= size:
            small, small_size = _AGE_UNITS[i + 1]
            return f"{sign}{rest // size}{unit} {rest % size // small_size}{small}"
    return f"{sign}{rest}s"


def json_float(value: float) -> float | int | None:
    """JSON-safe figure: NaN and infinities become None, float dust is rounded away, and
    whole numbers become ints."""
    if not math.isfinite(value):
        return None
    rounded = round(value, 9)
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded
