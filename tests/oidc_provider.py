"""A real OpenID Connect provider for the tests, on loopback.

Built on Authlib's own authorization server (the authorization code grant
with PKCE required and OpenID Connect's ID token), served by werkzeug in a
thread: the portal's client talks to it over HTTP exactly as it talks to
Microsoft or Google (discovery document, keys, token endpoint). Tests add
people, disable them, and make the next ID token misbehave in one named way
(bad signature, wrong audience, expired, wrong issuer, wrong nonce).

It keeps no cookie: the sign-in form posts back to the authorization
request's own address, so a browser on the same host keeps the portal's.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import create_half_hash
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

KID = "test-key-1"
MODES = {"bad_signature", "wrong_audience", "expired", "wrong_issuer", "wrong_nonce"}
SCOPES = {"openid", "email", "profile"}


@dataclass
class Person:
    email: str
    name: str
    sub: str
    email_verified: bool | None
    disabled: bool
    claims: dict[str, Any]


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    # Authlib's ClientMixin, by duck typing.
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.client_secret, client_secret or "")

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    email: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    # Authlib's AuthorizationCodeMixin (OpenID Connect's), by duck typing.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class OidcTestProvider:
    def __init__(self, *, tenant_issuer: bool = False) -> None:
        self.tenant_issuer = tenant_issuer
        self.key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig"})
        # Signs with the same kid as the published key: its signature fails.
        self.impostor_key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig"})
        self.clients: dict[str, Client] = {}
        self.people: dict[str, Person] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, str] = {}  # access token -> email
        self.mode: str | None = None
        self.last_authorization: dict[str, str] = {}
        self.token_requests = 0
        self._lock = threading.Lock()
        self.app = self._build()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base = ""

    # What tests call.

    def start(self) -> OidcTestProvider:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def metadata_url(self) -> str:
        return self.base + "/.well-known/openid-configuration"

    @property
    def issuer(self) -> str:
        return f"{self.base}/{{tenantid}}/v2.0" if self.tenant_issuer else self.base

    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        with self._lock:
            self.clients[client_id] = Client(client_id, client_secret, list(redirect_uris))

    def add_user(
        self,
        email: str,
        *,
        name: str = "Test Person",
        sub: str | None = None,
        email_verified: bool | None = True,
        disabled: bool = False,
        claims: dict[str, object] | None = None,
    ) -> str:
        email = email.lower()
        with self._lock:
            earlier = self.people.get(email)
            subject = sub or (earlier.sub if earlier else secrets.token_hex(8))
            self.people[email] = Person(
                email, name, subject, email_verified, disabled, dict(claims or {})
            )
            return subject

    def disable(self, email: str) -> None:
        with self._lock:
            self.people[email.lower()].disabled = True

    def misbehave(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        self.mode = mode

    def sign_in(self, authorize_url: str, email: str) -> str:
        """Post the provider's sign-in form as ``email``; the redirect's target."""
        response = requests.post(
            authorize_url, data={"email": email}, allow_redirects=False, timeout=10
        )
        if response.status_code != 302:
            raise AssertionError(f"the provider answered {response.status_code}: {response.text}")
        return str(response.headers["Location"])

    # The ID token.

    def issuer_for(self, person: Person) -> str:
        if self.tenant_issuer:
            return f"{self.base}/{person.claims.get('tid', '')}/v2.0"
        return self.base

    def id_token(self, client_id: str, code: Code, access_token: str) -> str:
        person = self.people[code.email]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_for(person),
            "sub": person.sub,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": code.auth_time,
            "email": person.email,
            "name": person.name,
            **person.claims,
        }
        if code.nonce:
            claims["nonce"] = code.nonce
        if person.email_verified is not None:
            claims["email_verified"] = person.email_verified
        half = create_half_hash(access_token, "RS256")
        if half is not None:
            claims["at_hash"] = half.decode()
        mode, self.mode = self.mode, None
        key = self.key
        if mode == "bad_signature":
            key = self.impostor_key
        elif mode == "wrong_audience":
            claims["aud"] = "someone-else"
        elif mode == "expired":
            claims.update(iat=now - 3600, exp=now - 3300, auth_time=now - 3600)
        elif mode == "wrong_issuer":
            claims["iss"] = "http://evil.example"
        elif mode == "wrong_nonce":
            claims["nonce"] = "not-yours"
        return jwt.encode({"alg": "RS256", "kid": KID}, claims, key)

    # The Flask app.

    def _build(self) -> Flask:
        provider = self
        app = Flask(__name__)
        app.config.update(SECRET_KEY=secrets.token_hex(16), SESSION_COOKIE_NAME="idp_session")

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                payload = req.payload
                with provider._lock:
                    provider.codes[code] = Code(
                        code=code,
                        client_id=req.client.client_id,
                        redirect_uri=payload.redirect_uri,
                        scope=req.scope,
                        email=req.user.email,
                        nonce=payload.data.get("nonce"),
                        code_challenge=payload.data.get("code_challenge"),
                        code_challenge_method=payload.data.get("code_challenge_method"),
                    )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                with provider._lock:
                    provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Person | None:
                return provider.people.get(authorization_code.email)

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def encode_id_token(self, token: dict[str, Any], req: Any) -> str:
                return provider.id_token(
                    req.client.client_id, req.authorization_code, token["access_token"]
                )

        def save_token(token: dict[str, Any], req: Any) -> None:
            with provider._lock:
                provider.tokens[token["access_token"]] = req.user.email

        server = AuthorizationServer(
            app, query_client=lambda client_id: provider.clients.get(client_id),
            save_token=save_token,
        )  # fmt: skip
        server.register_grant(CodeGrant, [CodeChallenge(required=True), OpenID(require_nonce=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(
                issuer=provider.issuer,
                authorization_endpoint=provider.base + "/authorize",
                token_endpoint=provider.base + "/token",
                jwks_uri=provider.base + "/jwks",
                userinfo_endpoint=provider.base + "/userinfo",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                scopes_supported=sorted(SCOPES),
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
                claims_supported=["sub", "iss", "aud", "exp", "iat", "email", "email_verified",
                                  "name", "nonce", "auth_time", "amr", "tid", "hd"],
            )  # fmt: skip

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            provider.last_authorization = request.args.to_dict()
            try:
                grant = server.get_consent_grant(end_user=None)
            except OAuth2Error as error:
                # Never a redirect: the client or its redirect URI is not to be trusted.
                return _page(f"The sign-in request is not valid: {error.error}"), 400
            if request.method == "GET":
                return _page()
            email = (request.form.get("email") or "").strip().lower()
            person = provider.people.get(email)
            if person is None:
                return _page("No account with that email")
            if person.disabled:
                return (
                    "",
                    302,
                    {
                        "Location": add_params_to_uri(
                            grant.redirect_uri,
                            {
                                "error": "access_denied",
                                "error_description": "The account is disabled",
                                "state": grant.request.payload.state,
                            },
                        )
                    },
                )
            return server.create_authorization_response(grant_user=person, grant=grant)

        @app.post("/token")
        def token() -> Any:
            provider.token_requests += 1
            return server.create_token_response()

        @app.get("/userinfo")
        def userinfo() -> Any:
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            email = provider.tokens.get(bearer)
            if email is None:
                return jsonify(error="invalid_token"), 401
            person = provider.people[email]
            return jsonify(
                sub=person.sub, email=person.email, name=person.name,
                email_verified=person.email_verified,
            )  # fmt: skip

        def _page(message: str = "") -> str:
            query = urlencode(request.args)
            note = f'<p role="alert">{html.escape(message)}</p>' if message else ""
            return (
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                "<title>Test identity provider</title></head><body><main>"
                f"<h1>Test identity provider</h1>{note}"
                f'<form method="post" action="/authorize?{html.escape(query)}">'
                '<label for="email">Email address</label> '
                '<input id="email" name="email" type="email" autocomplete="username"> '
                '<button type="submit">Continue</button></form></main></body></html>'
            )

        return app
