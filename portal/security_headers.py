"""Security headers on every response, errors and static files included.

The Content-Security-Policy allows no inline script or style. The one inline
script of the GOV.UK page template (it marks the body as JavaScript-enabled
before first paint) runs by a per-response nonce; nothing a user typed can
carry that nonce.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g

HSTS = "max-age=31536000; includeSubDomains"  # one year, subdomains too


def csp_nonce() -> str:
    """This response's nonce, made when a page first asks for it."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str | None) -> str:
    script = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce"))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # for browsers without frame-ancestors
    # Token links sit in URLs; never send them on to another site.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["PORTAL_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)

    # The GOV.UK page template reads cspNonce for its inline script.
    @app.context_processor
    def nonce() -> dict[str, str]:
        return {"cspNonce": csp_nonce()}
