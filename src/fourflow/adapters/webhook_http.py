"""POSTing webhook bodies over HTTP (``services.webhooks.Poster``): standard library only,
no proxies from the environment, redirects not followed, every request bounded by a timeout."""

from __future__ import annotations

import urllib.error
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx answer is an answer, not an address to follow


class UrllibPoster:
    """One POST per call; the receiver's status, or OSError when nothing came back in time."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url {url!r}: only http and https URLs are accepted")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only, checked above)
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read(65536)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)
