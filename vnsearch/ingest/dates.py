"""Dates in Vietnamese press text: metadata strings, bylines and leads ("Chiều 3/8, ...").

Everything returns an ISO ``YYYY-MM-DD`` string or ``None``. A date that cannot be real
(31/2, month 13) or whose year cannot be found gives ``None``: no date beats a wrong date.
"""

from __future__ import annotations

import datetime as _dt
import re

#: Years we accept as plausible publication years (anything else is a number, not a year).
MIN_YEAR = 1900
MAX_YEAR = 2100

#: Unix timestamps are turned into the calendar day in Vietnam (UTC+7), where the news is.
VIETNAM_TIME = _dt.timezone(_dt.timedelta(hours=7))

_SEP = r"[/\-.]"

# ISO: 2023-08-03, 2023-08-03T14:05:00+07:00, 2023-08-03 14:05
_ISO_RE = re.compile(r"(?<!\d)(\d{4})([\-/.])(\d{1,2})\2(\d{1,2})(?!\d)")  # 2023-08-03, 2023/08/03
# Vietnamese order: 03/08/2023, 3-8-2023, 03.08.2023 (optionally with a time before or after)
_DMY_RE = re.compile(r"(?<![\d/.\-])(\d{1,2})" + _SEP + r"(\d{1,2})" + _SEP + r"(\d{4})(?!\d)")
# "ngày 3 tháng 8 năm 2023"
_WORDS_RE = re.compile(
    r"(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s*(?:năm|,)\s*(\d{4}))?(?!\d)", re.IGNORECASE
)
# A year standing alone or ending a date ("1/6/2023", "tháng 8/2023"), not part of a number.


# "thứ Năm", "Chủ nhật", with the comma that may follow ("Chiều Chủ nhật, 6/8, ...")
_WEEKDAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)\s*,?"
_TIME_OF_DAY = (  # "Sáng", "Tối qua", "Chiều nay", "Sáng thứ Năm", "Thứ Hai"
    r"(?:(?:rạng\s+sáng|sáng\s+sớm|sáng|trưa|chiều\s+tối|chiều|tối|đêm|khuya|hôm)"
    r"(?:\s+(?:nay|qua))?(?:\s+" + _WEEKDAY + r")?|ngày(?:\s+" + _WEEKDAY + r")?|"
    + _WEEKDAY + r")"
)
# The start of a lead: optional dateline ("HÀ NỘI -", "(Chinhphu.vn) -"), an optional time of
# day, optional "ngày"/"hôm", then day/month[/year] and a comma, space or ")".
_LEAD_RE = re.compile(
    r"^\s*(?:(?:\([^()\n]{1,60}\)|[^\n,.()\d]{1,40}?)\s*[-–—]\s*)?"  # dateline
    r"(?:(?P<tod>" + _TIME_OF_DAY + r")(?:\s+(?:ngày|hôm))?\s*\(?\s*)?"
    r"(?P<d>\d{1,2})\s*(?P<sep>[/\-.])\s*(?P<m>\d{1,2})"
    r"(?:\s*(?P=sep)\s*(?P<y>\d{4}))?"
    r"(?P<after>\s*[,:)]|\s+(?=\D))",
    re.IGNORECASE,
)
_LEAD_HINT_RE = re.compile(r"\d\s*[/\-.]\s*\d|\d\s+tháng", re.IGNORECASE)  # cheap pre-check
_LEAD_WORDS_RE = re.compile(
    r"^\s*(?:(?:\([^()\n]{1,60}\)|[^\n,.()\d]{1,40}?)\s*[-–—]\s*)?"
    r"(?:" + _TIME_OF_DAY + r"\s+)?(?:ngày\s+)?"
    r"(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})(?:\s*(?:năm|,)?\s*(?P<y>\d{4}))?\s*[,:)]?",
    re.IGNORECASE,
)


def make_date(year: int, month: int, day: int) -> str | None:
    """ISO date for a real calendar day in a plausible year, else None."""
    if not (MIN_YEAR <= year <= MAX_YEAR):
        return None
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date_value(value: object) -> str | None:
    """Parse a metadata date: ISO (also ``20230803``), ``dd/mm/yyyy [hh:mm]``,
    ``hh:mm dd/mm/yyyy``, ``dd-mm-yyyy``, ``ngày 3 tháng 8 năm 2023``, RSS's RFC 2822
    (``Thu, 03 Aug 2023 14:05:00 +0700``; like ISO, the day as written), or a Unix timestamp,
    a number or digits (seconds or milliseconds, read in Vietnam time)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if value < 1e8:  # a year (2023) or a small number is not a point in time
            return None
        seconds = value / 1000 if value > 1e11 else value
        try:
            day = _dt.datetime.fromtimestamp(seconds, tz=VIETNAM_TIME).date()
        except (OverflowError, OSError, ValueError):
            return None
        return make_date(day.year, day.month, day.day)
    if not isinstance(value, str):
        return None
    digits = _DIGITS_RE.fullmatch(value)
    if digits:
        if len(digits.group(1)) == 8:  # 20230803
            text = digits.group(1)
            return make_date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return parse_date_value(float(value))  # a timestamp exported as text
    rfc = _RFC2822_RE.match(value)  # RSS pubDate: "Thu, 03 Aug 2023 14:05:00 +0700"
    if rfc:
        month = _MONTHS.get(rfc.group("mon").lower())
        return make_date(int(rfc.group("y")), month, int(rfc.group("d"))) if month else None
    return find_full_date(value)


_DIGITS_RE = re.compile(r"\s*(\d{8}|\d{10}|\d{13})(?:\.\d+)?\s*")
_RFC2822_RE = re.compile(
    r"\s*(?:[A-Za-z]{3},?\s+)?(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})\s+(?P<y>\d{4})(?!\d)"
)
_MONTHS = {
    name: number
    for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}


def find_full_date(text: str) -> str | None:
    """The first complete date (with a year) written in ``text``, in any supported form."""
    candidates = []
    m = _ISO_RE.search(text)
    if m:
        candidates.append((m.start(), m.group(1), m.group(3), m.group(4)))
    for regex in (_DMY_RE, _WORDS_RE):
        m = regex.search(text)
        if m and m.group(3):
            candidates.append((m.start(), m.group(3), m.group(2), m.group(1)))
    if not candidates:
        return None
    _, year, month, day = min(candidates)
    return make_date(int(year), int(month), int(day))


def lead_day_month(lead: str) -> tuple[int, int, int | None] | None:
    """(day, month, year or None) when ``lead`` starts with a date, else None."""
    head = lead[:200]
    if not _LEAD_HINT_RE.search(head, 0, 80):
        return None
    m = _LEAD_RE.match(head)
    if m is None or (m.group("tod") is None and m.group("after").strip() not in (",", ")")):
        # A bare "3/8" must be followed by a comma to count as a date ("16/18 huyện" is not).
        m = _LEAD_WORDS_RE.match(head)
        if m is None:
            return None
    return int(m.group("d")), int(m.group("m")), int(m.group("y")) if m.group("y") else None


def lead_date(lead: str, title: str = "") -> str | None:
    """The date a lead starts with ("Ngày 1/6/2023, ...", "Chiều 3/8, ...", "tối 20-11").

    Precision over recall: a lead date without its own year takes one only from the title,
    and only from a full date there on the same day and month ("Kết quả xổ số ngày 6/2/2017"
    over "Ngày 6/2, ..."). Any other year written nearby may be a birth year ("SN 1994"), a
    plan ("tới năm 2035"), an anniversary ("14/6/1957 - 14/6/2017") or another month
    ("12/2016"): no date beats a wrong one.
    """
    found = lead_day_month(lead)
    if found is None:
        return None
    day, month, year = found
    if year is None:
        year = _year_of_same_day(day, month, title)
    return make_date(year, month, day) if year else None


def _year_of_same_day(day: int, month: int, text: str) -> int | None:
    """The year of the full dates on ``day``/``month`` written in ``text``, if they agree."""
    years = {
        int(m.group(3))
        for regex in (_DMY_RE, _WORDS_RE)
        for m in regex.finditer(text)
        if m.group(3) and (int(m.group(1)), int(m.group(2))) == (day, month)
    }
    return years.pop() if len(years) == 1 else None
