"""The small part of OData the connector uses: conjunctive $filter and $orderby."""

import re
from datetime import date, datetime, timezone

OPERATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
}
COMPARISON = re.compile(
    r"^\s*(?P<field>[A-Za-z]+)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+(?P<value>'[^']*'|\S+)\s*$",
    re.IGNORECASE,
)


class ODataError(ValueError):
    """A query the simulator does not understand: answered with HTTP 400, as Jibble does."""


def parse_datetime(text):
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _typed(field, text):
    """Times compare as instants and dates as dates, however they are spelled."""
    if field == "time":
        return parse_datetime(text)
    if field == "belongsToDate":
        return date.fromisoformat(text)
    return text


def _literal(field, text):
    return text[1:-1] if text.startswith("'") else _typed(field, text)


def _field_value(row, field):
    value = row.get(field)
    return None if value is None else _typed(field, value)


def compile_filter(expression, allowed_fields):
    """Turn `a ge X and (b eq 'y')` into a predicate over rows; raise ODataError otherwise."""
    if not expression:
        return lambda row: True
    text = expression.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    comparisons = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        match = COMPARISON.match(part.strip().strip("()"))
        if not match:
            raise ODataError(f"unsupported $filter clause: {part.strip()!r}")
        field, op = match["field"], match["op"].lower()
        if field not in allowed_fields:
            raise ODataError(f"cannot filter on {field!r}")
        try:
            value = _literal(field, match["value"])
        except ValueError:
            raise ODataError(f"bad literal for {field}: {match['value']!r}") from None
        comparisons.append((field, OPERATORS[op], value))
    return lambda row: all(test(_field_value(row, f), value) for f, test, value in comparisons)


def sort_rows(rows, orderby):
    """Apply `$orderby=field [asc|desc]`; ties broken by id so that paging is stable."""
    if not orderby:
        return sorted(rows, key=lambda row: row["id"])
    field, _, direction = orderby.strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    if direction not in ("asc", "desc"):
        raise ODataError(f"unsupported $orderby direction: {direction!r}")
    rows = sorted(rows, key=lambda row: row["id"])
    return sorted(rows, key=lambda row: row.get(field) or "", reverse=direction == "desc")
