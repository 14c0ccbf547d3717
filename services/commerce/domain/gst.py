"""India's GST facts an invoice needs: the rates, the states and their codes, GSTIN and HSN/SAC shapes, and the
financial year (April to March, India time). No I/O.

Rates (basis points), as in force since 22 September 2025 ("GST 2.0"): the common slabs are 5% and 18%, with 40%
for luxury and sin goods and 0% for nil-rated supplies; 3% (gold, silver, jewellery), 1.5% (cut and polished
diamonds), 0.25% (rough diamonds) and 0.1% (supplies to merchant exporters) are special rates. 12% and 28% were
folded into the others for most goods, but stay accepted: 28% still applies to tobacco products until the
compensation cess ends, and credit notes against invoices of earlier years carry their rates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

RATES_BP = frozenset({0, 10, 25, 150, 300, 500, 1200, 1800, 2800, 4000})
IST = timezone(timedelta(hours=5, minutes=30), "IST")
GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
HSN = re.compile(r"^[0-9]{4}([0-9]{2}){0,2}$")  # 4, 6 or 8 digits (SAC codes are 6 digits, 99....)

# GST state codes (the first two digits of a GSTIN).
STATES = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}


def rate_text(rate_bp: int) -> str:
    """1800 -> `18%`, 25 -> `0.25%`."""
    whole, rest = divmod(rate_bp, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") + "%"


def financial_year(at: float) -> str:
    """The Indian financial year of a moment: `2026-27` runs from 1 April 2026 to 31 March 2027, India time."""
    day = datetime.fromtimestamp(at, IST).date()
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def india_date(at: float) -> date:
    return datetime.fromtimestamp(at, IST).date()


def day_bounds(day: date) -> tuple[float, float]:
    """[start, end) of a day in India time, as epoch seconds."""
    start = datetime(day.year, day.month, day.day, tzinfo=IST)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def parse_date(text: str) -> date:
    """`YYYY-MM-DD`, or ValueError."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError("`YYYY-MM-DD`")
    return date.fromisoformat(text)
