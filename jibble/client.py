"""The connector's only way to Jibble: OAuth2 token, OData paging, retries and typed errors."""

import logging
import math
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from .entries import parse_instant, utc_now

_logger = logging.getLogger(__name__)

TOKEN_REFRESH_MARGIN = 60
MAX_TOKEN_LIFETIME = 12 * 3600
RETRY_STATUSES = (429, 500, 502, 503, 504)
LIST_ATTEMPTS = 3
# Widening of a belongsToDate window around a window of UTC time: a person's local date is
# at most a day from the UTC date, and a night shift belongs to the day it started.
DATE_WINDOW_BEFORE, DATE_WINDOW_AFTER = timedelta(days=2), timedelta(days=1)


class JibbleError(Exception):
    """A failure a person can read in one sentence; `detail` holds the technical part."""

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail


class JibbleAuthError(JibbleError):
    pass


class JibbleRateLimited(JibbleError):
    pass


class JibbleUnavailable(JibbleError):
    pass


class JibbleUnexpectedResponse(JibbleError):
    pass


class JibbleRefused(JibbleUnexpectedResponse):
    """Jibble answered 4xx to a request it understood as wrong: not retried."""

    def __init__(self, message, detail=None, status=None):
        super().__init__(message, detail)
        self.status = status


@dataclass(frozen=True)
class JibbleConfig:
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str
    workspace_url: str
    time_tracking_url: str
    time_attendance_url: str = "https://time-attendance.prod.jibble.io/v1"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    page_size: int = 100
    max_pages: int = 2000
    max_retries: int = 4
    backoff_factor: float = 0.5
    max_retry_after: float = 30.0


@dataclass(frozen=True)
class Listing:
    """Every row of one OData list, and when Jibble said them.

    `read_at` is no later than the moment Jibble built the first page (the earlier of our
    clock before asking and Jibble's `Date` header minus a second), so news that Jibble
    dates after it is never taken as older than this read.
    """

    rows: list
    read_at: object
    pages: int
    # A read that stopped at a number of rows is `truncated`; `end` is then the instant
    # before which its rows are complete.
    truncated: bool = False
    end: object = None


class JitteredRetry(Retry):
    """urllib3's Retry plus jitter on the backoff and a ceiling on what Retry-After may ask."""

    max_retry_after = 30.0

    def get_backoff_time(self):
        backoff = super().get_backoff_time()
        return backoff + random.uniform(0, backoff / 2) if backoff else 0

    def get_retry_after(self, response):
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, self.max_retry_after)


def format_odata_datetime(value):
    """OData wants unquoted ISO 8601 UTC instants."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_lifetime(expires_in):
    """Seconds to trust a token: Jibble may answer anything up to 2147483647."""
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError, OverflowError):
        return 3600.0
    if not math.isfinite(lifetime) or lifetime <= 0:
        return 3600.0
    return min(lifetime, MAX_TOKEN_LIFETIME)


def server_time(response):
    """Jibble's clock from the `Date` header, naive UTC, or None."""
    try:
        value = parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


class JibbleClient:
    def __init__(self, config, time_filter_refused=False):
        self.config = config
        self.api_calls = 0
        # Jibble is only known to filter time entries on belongsToDate; once it refuses a
        # filter on `time`, windows are read by date and selected here.
        self.time_filter_refused = time_filter_refused
        self._token = None
        self._token_expires_at = 0.0
        self.session = requests.Session()
        retry_class = type("ConfiguredRetry", (JitteredRetry,), {})
        retry_class.max_retry_after = config.max_retry_after
        retry = retry_class(
            total=config.max_retries,
            connect=config.max_retries,
            read=config.max_retries,
            status=config.max_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),
            backoff_factor=config.backoff_factor,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # Authentication

    def _access_token(self):
        if self._token and time.monotonic() < self._token_expires_at:
            return self._token
        response = self._send(
            "POST",
            self.config.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
            },
        )
        if response.status_code in (400, 401, 403):
            raise JibbleAuthError(
                "Jibble refused the API key: check the API key ID and secret.",
                detail=f"Token endpoint: HTTP {response.status_code}: {response.text[:2000]}",
            )
        payload = self._json(response)
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            shape = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
            raise JibbleUnexpectedResponse(
                "Jibble's token endpoint answered without an access token.",
                detail=f"Token endpoint answer had: {shape}",
            )
        lifetime = token_lifetime(payload.get("expires_in"))
        self._token = token
        self._token_expires_at = (
            time.monotonic() + lifetime - min(TOKEN_REFRESH_MARGIN, lifetime / 10)
        )
        return token

    # Transport

    def _send(self, method, url, **kwargs):
        self.api_calls += 1
        unavailable = "Jibble could not be reached; the sync will try again later."
        try:
            response = self.session.request(
                method,
                url,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                **kwargs,
            )
        except requests.exceptions.Timeout as error:
            raise JibbleUnavailable(
                "Jibble did not answer in time; the sync will try again later.",
                detail=f"{method} {url}: {type(error).__name__}",
            ) from None
        except requests.exceptions.ConnectionError as error:
            reason = getattr(error.args[0], "reason", None) if error.args else None
            if isinstance(reason, Urllib3Timeout):
                raise JibbleUnavailable(
                    "Jibble did not answer in time; the sync will try again later.",
                    detail=f"{method} {url}: {type(reason).__name__} after retries",
                ) from None
            raise JibbleUnavailable(
                unavailable, detail=f"{method} {url}: {type(error).__name__}: {error}"
            ) from None
        except requests.exceptions.RequestException as error:
            raise JibbleUnavailable(
                unavailable, detail=f"{method} {url}: {type(error).__name__}: {error}"
            ) from None
        _logger.debug("Jibble %s %s -> %s", method, url, response.status_code)
        if response.status_code == 429:
            raise JibbleRateLimited(
                "Jibble kept asking to slow down; the sync will try again later.",
                detail=f"{method} {url}: HTTP 429 after retries",
            )
        if response.status_code >= 500:
            raise JibbleUnavailable(
                "Jibble is unavailable right now; the sync will try again later.",
                detail=f"{method} {url}: HTTP {response.status_code}: {response.text[:2000]}",
            )
        return response

    def _json(self, response):
        try:
            return response.json()
        except ValueError:
            raise JibbleUnexpectedResponse(
                "Jibble sent an answer the connector cannot read.",
                detail=f"{response.request.method} {response.url}: HTTP {response.status_code}, "
                f"body starts with {response.text[:500]!r}",
            ) from None

    def _get(self, url, params=None):
        """GET with the cached token; a 401 gets one fresh token and one more try."""
        for _attempt in range(2):
            response = self._send(
                "GET",
                url,
                params=params,
                headers={"Authorization": f"Bearer {self._access_token()}"},
            )
            if response.status_code != 401:
                break
            self._token = None
        if response.status_code == 401:
            raise JibbleAuthError(
                "Jibble refused the connector's access token twice; check the API key.",
                detail=f"GET {url}: HTTP 401 with a cached and with a fresh token",
            )
        if response.status_code >= 400:
            raise JibbleRefused(
                f"Jibble refused the request (HTTP {response.status_code}).",
                detail=f"GET {response.url}: {response.text[:2000]}",
                status=response.status_code,
            )
        return response

    def _get_json(self, url, params=None):
        return self._json(self._get(url, params))

    # Lists

    def list(self, base_url, resource, params=None, max_rows=None):
        """Every row of an OData list, read so that no row is lost to paging.

        A `@odata.nextLink` is followed when Jibble sends one, unless it is built with `$skip`
        too. Otherwise pages are asked with `$skip`, each starting on the last row of the page
        before: when that row is not where it was, rows moved between pages (an entry added,
        edited or deleted meanwhile) and the list is read again rather than risk a skipped row
        (or a row read and gone). Only a page with no new row ends it: a page shorter than
        `$top` proves nothing, as Jibble may cap pages without saying.
        With `max_rows` the read may stop after that many rows (`Listing.end` is then set by
        the caller that knows how the list is ordered).
        """
        url = f"{base_url.rstrip('/')}/{resource}"
        query = {**(params or {}), "$top": self.config.page_size}
        for _attempt in range(LIST_ATTEMPTS):
            listing = self._read_pages(url, query, resource, max_rows)
            if listing:
                return listing
        raise JibbleUnavailable(
            "Jibble's list changed while it was being read, several times in a row; "
            "the sync will read it again later.",
            detail=f"{resource} {params}: the row that ended a page moved {LIST_ATTEMPTS} times",
        )

    def _read_pages(self, url, query, resource, max_rows=None):
        """One pass over a list; None when rows moved between pages."""
        rows, pages, read_at, followed_link = [], 0, None, False
        page_url, page_query, overlap, largest = url, query, 0, 0
        while True:
            pages += 1
            if pages > self.config.max_pages:
                raise JibbleUnexpectedResponse(
                    f"Jibble's list of {resource} did not end after "
                    f"{self.config.max_pages} pages; the read was stopped.",
                    detail=f"{url} {query}: {len(rows)} rows read",
                )
            asked_at = utc_now()
            response = self._get(page_url, page_query)
            payload = self._json(response)
            if read_at is None:
                jibble_time = server_time(response)
                read_at = min(
                    asked_at, jibble_time - timedelta(seconds=1) if jibble_time else asked_at
                )
            page = payload.get("value") if isinstance(payload, dict) else None
            if not isinstance(page, list):
                raise JibbleUnexpectedResponse(
                    "Jibble sent a list the connector cannot read.",
                    detail=f"{resource}: expected an OData 'value' list",
                )
            next_link = payload.get("@odata.nextLink")
            if overlap:
                if not page or _row_id(page[0]) != _row_id(rows[-1]):
                    return None
                page = page[1:]
            rows.extend(page)
            largest = max(largest, len(page) + overlap)
            if max_rows and len(rows) >= max_rows and page:
                return Listing(rows, read_at, pages, truncated=True)
            if isinstance(next_link, str) and next_link and not _links_by_offset(next_link):
                page_url, page_query, followed_link = next_link, None, True
            elif (followed_link and not next_link) or (not page and (overlap or not rows)):
                return Listing(rows, read_at, pages)
            else:
                # Pages of one row leave no room for the overlapping row: read on without it,
                # then ask for the last row again before ending, so that a row read and gone
                # meanwhile (a window of one entry, deleted) is seen as moved too.
                overlap = 1 if largest > 1 or not page else 0
                page_url, page_query = url, {**query, "$skip": len(rows) - overlap}

    # Resources

    def get_organization(self):
        rows = self._get_json(f"{self.config.workspace_url.rstrip('/')}/Organizations").get("value")
        if not rows:
            raise JibbleUnexpectedResponse("Jibble returned no organization for this API key.")
        return rows[0]

    def people(self):
        return self.list(self.config.workspace_url, "People").rows

    def names(self, resource):
        """Map ids to names for Activities, Projects or Locations."""
        return {
            row["id"]: row.get("name") or ""
            for row in self.list(self.config.workspace_url, resource, {"$select": "id,name"}).rows
            if isinstance(row, dict) and isinstance(row.get("id"), str)
        }

    def time_entries(self, start, end, max_rows=None):
        """Every entry whose instant is in [start, end), archived ones included, oldest first.

        With `max_rows` the read may stop early, at the instant of the last row it reached:
        `Listing.end` then says where the rows end (rows of that instant are left to the next
        read), so that a batch holds a bounded number of entries however busy the window.
        """
        if not self.time_filter_refused:
            window = (
                f"time ge {format_odata_datetime(start)} and time lt {format_odata_datetime(end)}"
            )
            try:
                listing = self.list(
                    self.config.time_tracking_url,
                    "TimeEntries",
                    {"$filter": window, "$orderby": "time asc"},
                    max_rows,
                )
                return self._cut(listing, start, end, max_rows)
            except JibbleRefused as error:
                if error.status != 400:
                    raise
                _logger.info("Jibble refused a filter on time; reading by belongsToDate instead")
                self.time_filter_refused = True
        first, last = (start - DATE_WINDOW_BEFORE).date(), (end + DATE_WINDOW_AFTER).date()
        listing = self.list(
            self.config.time_tracking_url,
            "TimeEntries",
            {
                "$filter": f"belongsToDate ge {first} and belongsToDate le {last}",
                "$orderby": "time asc",
            },
        )
        listing = self._cut(listing, start, end, max_rows)
        naive_start, naive_end = _naive_utc(start), _naive_utc(listing.end or end)
        return Listing(
            [row for row in listing.rows if _in_window(row, naive_start, naive_end)],
            listing.read_at,
            listing.pages,
            listing.truncated,
            listing.end,
        )

    def _cut(self, listing, start, end, max_rows):
        """A read stopped at `max_rows` ends before the instant of its last row (rows of that
        instant may go on in the next page); one that could not be cut is read whole."""
        if not listing.truncated:
            return listing
        try:
            cut = parse_instant(listing.rows[-1]["time"])
        except (KeyError, TypeError, ValueError):
            cut = None
        if cut is None or cut <= _naive_utc(start):
            return self.time_entries(start, end) if max_rows else listing
        kept = [row for row in listing.rows if not _at_or_after(row, cut)]
        return Listing(kept, listing.read_at, listing.pages, True, cut)

    def time_entry(self, entry_id):
        """The entry with this id as Jibble has it now (a one-row list), or an empty list."""
        return self.list(
            self.config.time_tracking_url, "TimeEntries", {"$filter": f"id eq {entry_id}"}
        )

    def timesheets_summary(self, first_date, last_date, person_ids=None):
        """Jibble's own tracked time per person and day (breaks are not tracked time)."""
        params = {"period": "Custom", "date": str(first_date), "endDate": str(last_date)}
        if person_ids:
            params["personIds"] = ",".join(person_ids)
        return self.list(self.config.time_attendance_url, "TimesheetsSummary", params).rows


def _links_by_offset(next_link):
    """A next link built with `$skip` misses a row when an earlier one is deleted, as a page
    asked by offset does: such a list is paged by the connector, with its overlapping row."""
    return "$skip" in parse_qs(urlsplit(next_link).query)


def _row_id(row):
    return row.get("id") if isinstance(row, dict) else row


def _naive_utc(value):
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _at_or_after(row, instant):
    try:
        return parse_instant(row["time"]) >= instant
    except (KeyError, TypeError, ValueError):
        return False


def _in_window(row, start, end):
    """Whether a row read by date belongs to [start, end); rows whose time is unreadable are
    kept, so that they are stored and held with their reason."""
    try:
        instant = parse_instant(row["time"])
    except (KeyError, TypeError, ValueError):
        return True
    return start <= instant < end
