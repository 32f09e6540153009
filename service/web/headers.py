"""Security headers, set once for every response (pages, JSON, files) after the view ran.

Pages load only our own script and stylesheet (no inline script or style anywhere in the
templates or in `static/site.js`), so the CSP needs no 'unsafe-inline'; the SVG charts are markup.
`frame-ancestors 'none'` (and X-Frame-Options for older browsers) stops the join and delete
buttons from being clickjacked inside another site's frame. Everything gets `nosniff`, so a JSON
error or an uploaded file's echo is never sniffed into HTML.

Whatever answers a signed-in browser or a credential (a runner's page, a club's dashboard, JSON
with findings) is `Cache-Control: no-store`: no shared or browser cache keeps personal data
after sign-out, and the back button does not show it to the next person at the machine.
"""

from __future__ import annotations

from flask import Flask, Response, request, session

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# Anything that is not a page (JSON, metrics, files) renders nothing and is framed by no one.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"


def apply(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    # /docs included: Swagger UI styles through the CSSOM, which a CSP does not restrict.
    csp = PAGE_CSP if response.mimetype == "text/html" else OTHER_CSP
    headers.setdefault("Content-Security-Policy", csp)
    if _authenticated(response):
        headers["Cache-Control"] = "no-store"
        response.vary.update(("Cookie", "Authorization"))
    return response


def _authenticated(response: Response) -> bool:
    """A credential came with the request, or the session holds (or now gets) a sign-in."""
    signed_in = any(k in session for k in ("athlete_id", "key_id"))
    return bool(request.headers.get("Authorization")) or signed_in or bool(
        response.headers.get("Set-Cookie"))


def init_app(app: Flask) -> None:
    app.after_request(apply)
