"""Kubernetes resource quantities (CPU and memory) as exact integers.

Scaling the seed's figures ("50% production") and summing them for quotas needs arithmetic, so a
quantity is parsed once into millicores or bytes and formatted back in canonical Kubernetes form.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_CPU = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<unit>m?)$")
_MEMORY = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
MI = 2**20


def cpu_millicores(value: str | int | float) -> int:
    """'500m' -> 500, '1' -> 1000, '1.5' -> 1500. Raises ValueError with what is allowed."""
    match = _CPU.match(str(value).strip())
    if not match:
        raise ValueError(
            f"{value!r} is not a CPU quantity (allowed: millicores like '500m', or cores like '1' or '1.5')"
        )
    number = Decimal(match["num"])
    millicores = number if match["unit"] == "m" else number * 1000
    if millicores != millicores.to_integral_value() or millicores <= 0:
        raise ValueError(f"{value!r} must be a positive whole number of millicores")
    return int(millicores)


def memory_bytes(value: str | int | float) -> int:
    """'512Mi' -> 536870912, '1.5Gi' -> 1610612736. Raises ValueError with what is allowed."""
    match = _MEMORY.match(str(value).strip())
    if not match:
        raise ValueError(
            f"{value!r} is not a memory quantity (allowed: a number with Ki, Mi, Gi, Ti, k, M, G or T, e.g. '512Mi')"
        )
    try:
        amount = Decimal(match["num"]) * _MEMORY_UNITS[match["unit"]]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{value!r} is not a number") from exc
    if amount != amount.to_integral_value() or amount <= 0:
        raise ValueError(f"{value!r} must be a positive whole number of bytes")
    return int(amount)


def format_cpu(millicores: int) -> str:
    return f"{millicores // 1000}" if millicores % 1000 == 0 else f"{millicores}m"


def format_memory(num_bytes: int) -> str:
    """Bytes as Gi when whole, else Mi (rounded up, so a share never shrinks below its figure)."""
    if num_bytes % 2**30 == 0:
        return f"{num_bytes // 2**30}Gi"
    return f"{-(-num_bytes // MI)}Mi"
