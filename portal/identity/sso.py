"""Single sign-on with OpenID Connect: Microsoft Entra ID, Google Workspace and
any provider the operator configures.

Authlib's client does the protocol, never our own code: the discovery
document, PKCE (S256), the state and nonce kept in the session and checked
once, and the ID token's signature (against the provider's published keys),
issuer, audience and expiry. This module says which providers are configured,
starts and finishes a sign-in with one, and turns the verified ID token into
an :class:`Identity` for the account services to decide on. It raises
:class:`SsoError` with a message a person can act on.

The HTTP calls to the provider (token, keys, discovery) happen here, before
the view opens its write transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, session
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from ..models import SsoProvider
from ..services.accounts.sso import Identity

log = logging.getLogger(__name__)

# Entra's multi-tenant discovery document names its issuer with this
# placeholder; each ID token's issuer has the tenant's id in its place.
TENANT_PLACEHOLDER = "{tenantid}"
SCOPES = "openid email profile"
# Where each sign-in under way is going (sign in, or link a tenant), by state.
FLOW = "sso_flow"
MAX_FLOWS = 5
# An "amr" value that says more than one factor was used (RFC 8176).
MULTI_FACTOR = "mfa"


class SsoError(Exception):
    """A sign-in the provider refused or we could not verify."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # short, for the audit trail


@dataclass(frozen=True)
class Provider:
    key: str  # an SsoProvider value
    label: str  # "Microsoft", "Google", or the operator's name for theirs
    metadata_url: str
    client_id: str
    client_secret: str
    # The issuer the operator configured (a generic provider): the discovery
    # document must name the same one.
    issuer: str | None = None

    @property
    def tenant_word(self) -> str:
        """What an admin links: the word used on the pages."""
        return {
            SsoProvider.MICROSOFT: "Microsoft 365 tenant",
            SsoProvider.GOOGLE: "Google Workspace domain",
        }.get(SsoProvider(self.key), "email domain")


def configured(config: Any) -> list[Provider]:
    """The providers with a client id and secret, in the order the page shows them."""
    found = []
    if config.get("SSO_MICROSOFT_CLIENT_ID") and config.get("SSO_MICROSOFT_CLIENT_SECRET"):
        found.append(
            Provider(
                SsoProvider.MICROSOFT.value,
                "Microsoft",
                config["SSO_MICROSOFT_METADATA_URL"],
                config["SSO_MICROSOFT_CLIENT_ID"],
                config["SSO_MICROSOFT_CLIENT_SECRET"],
            )
        )
    if config.get("SSO_GOOGLE_CLIENT_ID") and config.get("SSO_GOOGLE_CLIENT_SECRET"):
        found.append(
            Provider(
                SsoProvider.GOOGLE.value,
                "Google",
                config["SSO_GOOGLE_METADATA_URL"],
                config["SSO_GOOGLE_CLIENT_ID"],
                config["SSO_GOOGLE_CLIENT_SECRET"],
            )
        )
    issuer = str(config.get("SSO_OIDC_ISSUER") or "").rstrip("/")
    if issuer and config.get("SSO_OIDC_CLIENT_ID") and config.get("SSO_OIDC_CLIENT_SECRET"):
        found.append(
            Provider(
                SsoProvider.OIDC.value,
                config.get("SSO_OIDC_NAME") or "your organisation's account",
                issuer + "/.well-known/openid-configuration",
                config["SSO_OIDC_CLIENT_ID"],
                config["SSO_OIDC_CLIENT_SECRET"],
                issuer=issuer,
            )
        )
    return found


def init_app(app: Flask) -> None:
    oauth = OAuth(app)
    for provider in configured(app.config):
        oauth.register(
            provider.key,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={
                "scope": SCOPES,
                "code_challenge_method": "S256",
                "default_timeout": app.config["SSO_TIMEOUT_SECONDS"],
            },
        )
    app.extensions["portal_sso"] = oauth


def providers() -> list[Provider]:
    return configured(current_app.config)


def provider(key: str) -> Provider | None:
    return next((p for p in providers() if p.key == key), None)


def begin(chosen: Provider, redirect_uri: str, flow: dict[str, Any]) -> ResponseReturnValue:
    """Send the browser to the provider; ``flow`` says what to do on its return."""
    client = _client(chosen)
    extra: dict[str, str] = {}
    if chosen.key == SsoProvider.MICROSOFT:
        extra["prompt"] = "select_account"  # staff often have a personal account too
    try:
        _check_issuer_configured(chosen, client.load_server_metadata())
        response = client.authorize_redirect(redirect_uri, **extra)
    except (requests.RequestException, ValueError, KeyError) as exc:
        log.warning("SSO discovery failed for %s: %s", chosen.key, exc)
        raise SsoError(
            f"We could not reach {chosen.label} just now. Try again in a few minutes, "
            "or sign in with your email address and password if your organisation allows it.",
            "provider unreachable",
        ) from exc
    # Keyed by the request's state: a person may start sign-ins in two tabs.
    state = parse_qs(urlsplit(response.location).query).get("state", [""])[0]
    flows = {k: v for k, v in (session.get(FLOW) or {}).items() if k != state}
    flows = dict(list(flows.items())[-(MAX_FLOWS - 1) :])  # the newest few
    flows[state] = {**flow, "provider": chosen.key}
    session[FLOW] = flows
    return response


def pending_flow(key: str, state: str | None) -> dict[str, Any]:
    """What the sign-in this state belongs to was for (and forget it)."""
    flows = dict(session.get(FLOW) or {})
    flow = flows.pop(state or "", None)
    session[FLOW] = flows
    return flow if isinstance(flow, dict) and flow.get("provider") == key else {}


def finish(chosen: Provider) -> Identity:
    """Exchange the code for tokens and verify the ID token; raises SsoError."""
    client = _client(chosen)
    try:
        metadata = client.load_server_metadata()
        _check_issuer_configured(chosen, metadata)
        token = client.authorize_access_token(claims_options=_claims_options(chosen, metadata))
    except MismatchingStateError as exc:
        raise SsoError(
            "This sign-in was already used or has expired. Start again from the sign-in page.",
            "state missing or reused",
        ) from exc
    except OAuthError as exc:
        if exc.error == "access_denied":
            detail = f" ({exc.description})" if exc.description else ""
            raise SsoError(
                f"{chosen.label} did not sign you in{detail}. If your account there is new "
                "or was disabled, ask your IT administrator.",
                f"refused by the provider: {exc.error}",
            ) from exc
        raise SsoError(
            f"{chosen.label} could not complete the sign-in. Start again from the sign-in page.",
            f"provider error: {exc.error or exc.description}",
        ) from exc
    except JoseError as exc:
        log.warning("SSO ID token from %s refused: %r", chosen.key, exc)
        raise SsoError(
            f"The sign-in from {chosen.label} could not be verified, so we did not accept it. "
            "Start again from the sign-in page.",
            f"ID token refused: {exc.__class__.__name__} {getattr(exc, 'claim', '')}".strip(),
        ) from exc
    except requests.RequestException as exc:
        log.warning("SSO token request to %s failed: %s", chosen.key, exc)
        raise SsoError(
            f"We could not reach {chosen.label} just now. Try again in a few minutes.",
            "provider unreachable",
        ) from exc
    claims = token.get("userinfo")
    if not claims:
        raise SsoError(
            f"{chosen.label} did not send who you are. Start again from the sign-in page.",
            "no ID token",
        )
    return identity_from(chosen, dict(claims))


def identity_from(chosen: Provider, claims: dict[str, Any]) -> Identity:
    """The verified claims as the account services need them."""
    email = str(claims.get("email") or "").strip().lower()
    if chosen.key == SsoProvider.MICROSOFT:
        # Entra sends email_verified only when asked; its optional claim
        # xms_edov says the email's domain is verified by the tenant. Without
        # either an Entra email is whatever a tenant admin typed.
        verified = _true(claims.get("email_verified")) or _true(claims.get("xms_edov"))
        tenant = str(claims.get("tid") or "").lower() or None
    elif chosen.key == SsoProvider.GOOGLE:
        verified = _true(claims.get("email_verified"))
        tenant = str(claims.get("hd") or "").lower() or None  # none: a personal account
    else:
        verified = _true(claims.get("email_verified"))
        tenant = email.rpartition("@")[2] or None
    amr = claims.get("amr") or []
    return Identity(
        provider=chosen.key,
        provider_label=chosen.label,
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=email,
        email_verified=verified,
        name=str(claims.get("name") or email.partition("@")[0])[:200],
        tenant=tenant,
        mfa=isinstance(amr, list) and MULTI_FACTOR in amr,
    )


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true") or value == 1


def _client(chosen: Provider) -> Any:
    oauth: OAuth = current_app.extensions["portal_sso"]
    return oauth.create_client(chosen.key)


def _check_issuer_configured(chosen: Provider, metadata: dict[str, Any]) -> None:
    if chosen.issuer and str(metadata.get("issuer", "")).rstrip("/") != chosen.issuer:
        # OpenID Connect Discovery 1.0, section 4.3: they must be the same.
        log.error("SSO_OIDC_ISSUER %s does not match %s", chosen.issuer, metadata.get("issuer"))
        raise SsoError(
            f"Sign-in with {chosen.label} is not set up correctly here. Tell the portal's operator.",
            "issuer in the discovery document differs from SSO_OIDC_ISSUER",
        )


def _claims_options(chosen: Provider, metadata: dict[str, Any]) -> dict[str, Any]:
    """What the ID token must say: our client id as audience, the provider's
    issuer (with the token's own tenant in Entra's multi-tenant placeholder)."""
    issuer = str(metadata.get("issuer", ""))
    options: dict[str, Any] = {
        "aud": {"essential": True, "values": [chosen.client_id]},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }
    if TENANT_PLACEHOLDER in issuer:

        def tenant_issuer(claims: Any, value: Any) -> bool:
            tenant = claims.get("tid")
            return bool(tenant) and value == issuer.replace(TENANT_PLACEHOLDER, str(tenant))

        options["iss"] = {"essential": True, "validate": tenant_issuer}
    else:
        options["iss"] = {"essential": True, "values": [issuer]}
    return options
