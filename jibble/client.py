"""The connector's only way to Jibble: OAuth2 token, OData paging, retries and typed errors."""

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

_logger = logging.getLogger(__name__)

TOKEN_REFRESH_MARGIN = 60
RETRY_STATUSES = (429, 500, 502, 503, 504)


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


@dataclass(frozen=True)
class JibbleConfig:
    client_id: str
    client_secret: str
    token_url: str
    workspace_url: str
    time_tracking_url: str
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    page_size: int = 100
    max_retries: int = 4
    backoff_factor: float = 0.5
    max_retry_after: float = 30.0

    def __repr__(self):
        return f"JibbleConfig(client_id={self.client_id!r}, token_url={self.token_url!r})"


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


class JibbleClient:
    def __init__(self, config):
        self.config = config
        self.api_calls = 0
        self._token = None
        self._token_expires_at = 0.0
        self.session = requests.Session()
        retry_class = type(
            "ConfiguredRetry",
            (JitteredRetry,),
            {
                "max_retry_after": config.max_retry_after,
            },
        )
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
        if not token:
            shape = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
            raise JibbleUnexpectedResponse(
                "Jibble's token endpoint answered without an access token.",
                detail=f"Token endpoint answer had: {shape}",
            )
        lifetime = float(payload.get("expires_in") or 3600)
        self._token = token
        self._token_expires_at = (
            time.monotonic() + lifetime - min(TOKEN_REFRESH_MARGIN, lifetime / 10)
        )
        return token

    # Transport

    def _send(self, method, url, **kwargs):
        self.api_calls += 1
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
                "Jibble could not be reached; the sync will try again later.",
                detail=f"{method} {url}: {type(error).__name__}: {error}",
            ) from None
        except requests.exceptions.RequestException as error:
            raise JibbleUnavailable(
                "Jibble could not be reached; the sync will try again later.",
                detail=f"{method} {url}: {type(error).__name__}: {error}",
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

    def _get_json(self, url, params=None):
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
            raise JibbleUnexpectedResponse(
                f"Jibble refused the request (HTTP {response.status_code}).",
                detail=f"GET {response.url}: {response.text[:2000]}",
            )
        return self._json(response)

    def _iter_list(self, base_url, resource, params=None):
        """Yield every row of an OData list, one page in memory at a time."""
        page_size = self.config.page_size
        query = {**(params or {}), "$top": page_size}
        url, page_query, seen = f"{base_url.rstrip('/')}/{resource}", query, 0
        server_links_pages = False
        while True:
            payload = self._get_json(url, page_query)
            rows = payload.get("value") if isinstance(payload, dict) else None
            if not isinstance(rows, list):
                raise JibbleUnexpectedResponse(
                    "Jibble sent a list the connector cannot read.",
                    detail=f"{resource}: expected an OData 'value' list",
                )
            yield from rows
            seen += len(rows)
            next_link = payload.get("@odata.nextLink")
            if next_link:
                url, page_query, server_links_pages = next_link, None, True
            elif server_links_pages or len(rows) < page_size:
                return
            else:
                url = f"{base_url.rstrip('/')}/{resource}"
                page_query = {**query, "$skip": seen}

    # Resources

    def get_organization(self):
        rows = self._get_json(f"{self.config.workspace_url.rstrip('/')}/Organizations").get("value")
        if not rows:
            raise JibbleUnexpectedResponse("Jibble returned no organization for this API key.")
        return rows[0]

    def iter_people(self):
        return self._iter_list(self.config.workspace_url, "People")

    def names(self, resource):
        """Map ids to names for Activities, Projects or Locations, read once per run."""
        return {
            row["id"]: row.get("name") or ""
            for row in self._iter_list(self.config.workspace_url, resource, {"$select": "id,name"})
        }

    def iter_time_entries(self, start, end):
        """Every entry whose instant is in [start, end), archived ones included, oldest first."""
        window = f"time ge {format_odata_datetime(start)} and time lt {format_odata_datetime(end)}"
        return self._iter_list(
            self.config.time_tracking_url,
            "TimeEntries",
            {"$filter": window, "$orderby": "time asc"},
        )


def parse_jibble_datetime(value):
    """Jibble instants are ISO 8601 UTC; Odoo stores naive UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.replace(microsecond=0)
