"""Listing one page at a time: a page of repos with the cursor of the next, and cursor checks.

A cursor is opaque to tasks: they store it in a record (SyncRepos' `cursor`) and hand it back
to the provider that made it. A REST provider's cursor is its `next` link relative to the API
root (GitHub: `/user/repos?per_page=100&page=3`; GitLab and Bitbucket links fit as well).
Relative, so a record can only ever name a path on the configured API root: a cursor is
refused (`InvalidCursor`) unless it is exactly the listing's own path plus a query of paging
parameters only, in printable ASCII, with no scheme, host, user info or fragment. A record
therefore cannot point the token at another host, at another endpoint of the same host, nor
change what the listing lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from stream_app.providers.errors import ProviderClientError
from stream_app.providers.types import RepoInfo

MAX_CURSOR_CHARS = 2000  # a next link is ~100 characters; anything huge is not ours
PAGE_PARAMS = frozenset({"page", "per_page"})  # what a GitHub listing's next link sets


@dataclass(frozen=True, slots=True)
class RepoPage:
    repos: list[RepoInfo]
    next_cursor: str | None  # where the listing goes on; None on the last page


class InvalidCursor(ProviderClientError):
    """A cursor (or a provider's next link) that does not name the listing on the API root."""

    code = "provider_invalid_cursor"


def request_path(cursor: str, path: str, *, params: frozenset[str] = PAGE_PARAMS) -> str:
    """The path and query to request for `cursor` on listing `path`; raises InvalidCursor.

    Only the paging parameters `params` may be in the query, each once with a number, so a
    cursor cannot narrow or widen the listing (`visibility=`, `affiliation=`).
    """
    if len(cursor) > MAX_CURSOR_CHARS or not all("!" <= ch <= "~" and ch != "\\" for ch in cursor):
        raise InvalidCursor(f"GET {path}: malformed page cursor")  # printable ASCII only
    parts = urlsplit(cursor)
    if parts.scheme or parts.netloc or parts.fragment or not cursor.startswith("/"):
        raise InvalidCursor(f"GET {path}: page cursor {cursor[:80]!r} is not a path on the API root")
    if parts.path != path:
        raise InvalidCursor(f"GET {path}: page cursor {cursor[:80]!r} is not on this listing")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise InvalidCursor(f"GET {path}: page cursor {cursor[:80]!r} has a malformed query") from None
    names = [name for name, _ in query]
    if len(set(names)) != len(names) or not set(names) <= params or not all(v.isdigit() for _, v in query):
        raise InvalidCursor(f"GET {path}: page cursor {cursor[:80]!r} sets more than the page")
    return cursor


def cursor_for(next_url: str | None, *, api_url: str, path: str) -> str | None:
    """The cursor of a provider's `next` link (None on the last page); raises InvalidCursor.

    The link must be on the API root we called (GitHub Enterprise: `https://host/api/v3/...`).
    """
    if next_url is None:
        return None
    root = api_url.rstrip("/")
    if not next_url.startswith(root + "/"):
        raise InvalidCursor(f"GET {path}: next page link leaves the API root")
    return request_path(next_url[len(root) :], path)
