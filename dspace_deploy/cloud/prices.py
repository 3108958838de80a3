"""The shipped price table (prices.json: dated, with its source) and the monthly estimate."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("prices.json")


@dataclass
class CostLine:
    what: str  # e.g. "2 x t3.large"
    monthly: float | None  # None: not in the table


@dataclass
class CostEstimate:
    region: str
    currency: str
    compiled: str  # the table's date
    source: str
    lines: list[CostLine] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(line.monthly is not None for line in self.lines)

    @property
    def monthly(self) -> float:
        """The sum of the known lines (see `complete`)."""
        return round(sum(line.monthly or 0.0 for line in self.lines), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "currency": self.currency,
            "monthly": self.monthly,
            "complete": self.complete,
            "price_table_date": self.compiled,
            "price_table_source": self.source,
            "lines": [{"what": line.what, "monthly": line.monthly} for line in self.lines],
        }


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return data


def estimate(region: str, size: str, count: int, volume_gb: int) -> CostEstimate:
    """Monthly cost of `count` running instances of `size`, each with `volume_gb` of gp3
    (root and data volumes together) and one public IPv4 address."""
    data = table()
    hours = float(data["hours_per_month"])
    prices = data["regions"].get(region, {})
    hourly = prices.get("instance_per_hour", {}).get(size)
    gb_month = prices.get("gp3_gb_month")
    result = CostEstimate(region=region, currency=data["currency"], compiled=data["compiled"],
                          source=data["source"])
    result.lines.append(CostLine(f"{count} x {size}",
                                 None if hourly is None else round(hourly * hours * count, 2)))
    result.lines.append(CostLine(f"{count * volume_gb} GB gp3",
                                 None if gb_month is None else
                                 round(gb_month * volume_gb * count, 2)))
    result.lines.append(CostLine(f"{count} x public IPv4",
                                 round(data["public_ipv4_per_hour"] * hours * count, 2)))
    return result
