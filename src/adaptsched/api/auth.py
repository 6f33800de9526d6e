"""Who may use the API: an ASGI middleware in front of every route.

Bound to a loopback address, the API is open to this machine's programs; requests must name a
loopback host, so that a web page cannot reach it through DNS rebinding. Bound to any other
address, every request but ``GET /health`` needs the token (``cluster.token``):

- ``Authorization: Bearer TOKEN`` (the CLI, the Python client, the workers, Prometheus);
- or the dashboard's session cookie, set once a browser has logged in (``GET`` any page with
  ``?token=TOKEN``, or the login form, ``POST /login``). The cookie holds a value derived from
  the token, is ``HttpOnly`` and ``SameSite=Strict``; a request that changes something must
  also carry the header the dashboard's script sends, which no other site's form can.

A refused request never reaches a route: 401 (403 for a non-loopback host on a loopback
bind), nothing changed.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "adaptsched_session"
#: The header the dashboard's script sends with every request (cookie-authenticated writes
#: without it are refused: a cross-site form cannot set it).
DASHBOARD_HEADER = "x-adaptsched-dashboard"
LOGIN_PATH = "/login"
#: Requests that never need the token (liveness probes, `up` waiting for the controller).
OPEN = {("GET", "/health"), ("HEAD", "/health")}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
#: Largest login form accepted.
MAX_FORM_BYTES = 4096


def _host_is_loopback(header: str) -> bool:
    """Whether a Host header names this machine's loopback (``localhost``, 127.x, [::1])."""
    name = header[1 : header.find("]")] if header.startswith("[") else header.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class AccessGuard:
    """Let a request through to ``app`` only if the bind mode and the token allow it."""

    def __init__(self, app: ASGIApp, token: str, required: bool) -> None:
        """``required``: the token is needed (a non-loopback bind); else loopback rules."""
        if required and not token:
            raise ValueError("an API that requires a token needs one")
        self.app, self.token, self.required = app, token, required
        self.session = hmac.new(token.encode(), b"adaptsched-dashboard", hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._refusal(request)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _refusal(self, request: Request) -> Response | None:
        """None to let the request through, else the response that refuses (or logs in)."""
        if not self.required:
            if _host_is_loopback(request.headers.get("host", "127.0.0.1")):
                return None
            return JSONResponse({"detail": "this API answers loopback hosts only"}, 403)
        method, path = request.method, request.url.path
        if (method, path) in OPEN:
            return None
        if path == LOGIN_PATH and method == "POST":
            return await self._login_form(request)
        if "token" in request.query_params and method == "GET":
            return self._login_link(request)
        if self._bearer_ok(request):
            return None
        if self._cookie_ok(request):
            if method in SAFE_METHODS or request.headers.get(DASHBOARD_HEADER):
                return None
            why = f"a write from the dashboard needs the {DASHBOARD_HEADER} header"
            return JSONResponse({"detail": why}, 403)
        return self._unauthorized(request, "this API needs its token")

    def _bearer_ok(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self.token)

    def _cookie_ok(self, request: Request) -> bool:
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), self.session)

    def _logged_in(self, target: str) -> Response:
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self.session, httponly=True, samesite="strict", path="/")
        return response

    def _login_link(self, request: Request) -> Response:
        """``GET PATH?token=...``: with the right token, the session cookie and a redirect to
        the same page without the token in its address."""
        if not hmac.compare_digest(request.query_params["token"], self.token):
            return self._unauthorized(request, "wrong token")
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        return self._logged_in(str(URL(path=request.url.path, query=urlencode(rest))))

    async def _login_form(self, request: Request) -> Response:
        body = await request.body()
        form = parse_qs(body[:MAX_FORM_BYTES].decode(errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        target = (form.get("next") or ["/"])[0]
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if not hmac.compare_digest(token, self.token):
            return _login_page(target, "wrong token", 401)
        return self._logged_in(target)

    def _unauthorized(self, request: Request, why: str) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            return _login_page(request.url.path, why, 401)
        return JSONResponse(
            {
                "detail": f"{why}: send 'Authorization: Bearer TOKEN' (the token is in the "
                "controller's state directory)"
            },
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )


def _login_page(target: str, why: str, status: int) -> HTMLResponse:
    """A page of its own (no script, no asset): the dashboard's files need the login too."""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>adaptsched: log in</title>
<link rel="icon" href="data:,">
<style>body{{font:15px system-ui,sans-serif;max-width:32em;margin:4em auto;color:#222}}
input{{font:inherit;padding:.3em;width:100%;box-sizing:border-box;margin:.5em 0}}
button{{font:inherit;padding:.3em 1em}}.why{{color:#a33}}</style></head>
<body><h1>adaptsched</h1>
<p class="why">{html.escape(why)}.</p>
<p>This controller is reachable from other machines, so it asks for its token: the file
<code>token</code> in its state directory (<code>adaptsched up</code> wrote it).</p>
<form method="post" action="{LOGIN_PATH}">
<input type="hidden" name="next" value="{html.escape(target)}">
<input type="password" name="token" autocomplete="current-password" placeholder="token" autofocus>
<button type="submit">Log in</button></form></body></html>"""
    return HTMLResponse(page, status)
