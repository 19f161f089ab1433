"""A real OpenID Connect provider on loopback, for the single sign-on tests (issue 27).

Authlib's own authorization server does the protocol: the authorization code
grant with OpenID Connect's ID token (``OpenIDCode``), PKCE (``CodeChallenge``,
S256 only and required at the authorization endpoint), client authentication
(``client_secret_basic`` or ``client_secret_post``), single-use codes bound to
the client and the redirect URI, and the userinfo endpoint. What is ours is the
in-memory storage, a plain sign-in page that asks only for an email address,
and a few ways to misbehave that a careful client must notice.

    with OidcTestProvider().start() as provider:
        provider.add_client("portal", "secret", ["http://127.0.0.1:5000/sso/oidc/callback"])
        provider.add_user("ada@school.example", claims={"amr": ["pwd", "mfa"]})
        ...  # the portal redirects to the provider; then
        callback = provider.sign_in(authorize_url, "ada@school.example")

``tenant_issuer=True`` imitates Microsoft Entra ID's multi-tenant
("organizations") authority: the discovery document's issuer holds the literal
text ``{tenantid}``, and each ID token's ``iss`` has the signed-in user's ``tid``
in its place. (A user without a ``tid`` claim gets the placeholder issuer
unchanged, which a client must refuse.)

HTTP on loopback needs no ``AUTHLIB_INSECURE_TRANSPORT``: Authlib counts
127.0.0.1 as secure transport (RFC 8252, section 7.3).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError, grants
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, Response, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from markupsafe import Markup
from werkzeug.serving import BaseWSGIServer, make_server

SCOPES = ["openid", "email", "profile"]
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
ID_TOKEN_SECONDS = 300
ACCESS_TOKEN_SECONDS = 300
CODE_SECONDS = 600
TENANT_PLACEHOLDER = "{tenantid}"
MISBEHAVIOURS = ("bad_signature", "wrong_audience", "expired", "wrong_issuer", "wrong_nonce")


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    # Authlib's UserInfoEndpoint reads client.client_metadata (for a signed
    # userinfo response), though ClientMixin does not declare it.
    client_metadata: dict[str, Any] = field(default_factory=dict)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return list_to_scope([s for s in scope_to_list(scope or "") or [] if s in SCOPES])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in TOKEN_AUTH_METHODS if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class User:
    email: str
    sub: str
    name: str
    email_verified: bool | None
    disabled: bool
    claims: dict[str, object]


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: User
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None  # a user's own "amr" comes with their claims


@dataclass
class Token:
    access_token: str
    client: Client
    user: User
    scope: str
    expires_at: float

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.expires_at - time.time()))

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> User:
        return self.user

    def get_client(self) -> Client:
        return self.client


class S256Required(CodeChallenge):
    """PKCE with S256, required of every client at the authorization endpoint.

    Authlib's ``CodeChallenge(required=True)`` lets an authorization request
    without a code_challenge through and only insists on a code_verifier from
    public clients (authlib/authlib#503); the portal's client is confidential.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("The 'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class Server(AuthorizationServer):
    def __init__(self, app: Flask, provider: OidcTestProvider) -> None:
        self.provider = provider
        super().__init__(app, query_client=provider._query_client, save_token=provider._save_token)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    @property
    def provider(self) -> OidcTestProvider:
        return self.server.provider

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.provider._save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                user=request.user,
                nonce=data.get("nonce"),
                auth_time=int(time.time()),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=time.time() + CODE_SECONDS,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        return self.provider._find_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.provider._delete_code(authorization_code.code)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        return self.provider._active_user(authorization_code.user.email)


class IdToken(OpenIDCode):
    def __init__(self, provider: OidcTestProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # Entra ID and Google do not refuse an authorization request whose nonce
        # they saw before; the client checks the nonce in the ID token. So a test
        # may sign in twice through one authorize URL (one state, two codes).
        return False

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider._key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.kid}

    def get_client_claims(self, client: Client) -> dict[str, object]:
        now = int(time.time())
        return {"aud": client.client_id, "iat": now, "exp": now + ID_TOKEN_SECONDS}

    def generate_user_info(self, user: User, scope: str) -> dict[str, object]:
        # Applied last by Authlib, so the issuer (which in tenant mode depends on
        # the user) and the user's extra claims belong here.
        return {"iss": self.provider._issuer_for(user), **self.provider._user_claims(user)}

    def encode_id_token(self, token: Mapping[str, Any], request: OAuth2Request) -> str:
        id_token: str = super().encode_id_token(token, request)
        return self.provider._misbehave_with(id_token)


class Userinfo(UserInfoEndpoint):
    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        claims: dict[str, object] = {"sub": user.sub, "email": user.email, "name": user.name}
        if user.email_verified is not None:
            claims["email_verified"] = user.email_verified
        return UserInfo(claims)

    def get_issuer(self) -> str:
        return self.server.provider.issuer


class BearerTokens(BearerTokenValidator):
    def __init__(self, provider: OidcTestProvider) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.provider._find_token(token_string)


class OidcTestProvider:
    """An OpenID Connect provider on 127.0.0.1, in memory, for tests."""

    def __init__(self, *, tenant_issuer: bool = False) -> None:
        self.tenant_issuer = tenant_issuer
        self.kid = f"test-{secrets.token_hex(4)}"
        self._key = RSAKey.generate_key(2048, parameters={"kid": self.kid, "use": "sig"})
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._users: dict[str, User] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._tokens: dict[str, Token] = {}
        self._misbehaviour: str | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base = ""
        self.metadata_url = ""
        self.last_authorization: dict[str, str] = {}
        self.token_requests = 0
        self.app = self._make_app()

    # -- running --

    def start(self) -> OidcTestProvider:
        if self._server is not None:
            raise RuntimeError("the provider is already running")
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self.metadata_url = self.base + "/.well-known/openid-configuration"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for one poll
            name="oidc-test-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OidcTestProvider:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def issuer(self) -> str:
        return f"{self.base}/{TENANT_PLACEHOLDER}/v2.0" if self.tenant_issuer else self.base

    # -- what tests arrange --

    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        with self._lock:
            self._clients[client_id] = Client(client_id, client_secret, list(redirect_uris))

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
        key = email.strip().lower()
        with self._lock:
            known = self._users.get(key)
            subject = sub or (known.sub if known else secrets.token_hex(16))
            self._users[key] = User(
                email=email.strip(),
                sub=subject,
                name=name,
                email_verified=email_verified,
                disabled=disabled,
                claims=dict(claims or {}),
            )
        return subject

    def disable(self, email: str) -> None:
        with self._lock:
            self._users[email.strip().lower()].disabled = True

    def misbehave(self, mode: str) -> None:
        if mode not in MISBEHAVIOURS:
            raise ValueError(f"unknown misbehaviour {mode!r}; one of {', '.join(MISBEHAVIOURS)}")
        with self._lock:
            self._misbehaviour = mode

    def sign_in(self, authorize_url: str, email: str) -> str:
        """Submit the sign-in form of ``authorize_url`` as this person; the
        Location the provider redirects to (the client's redirect_uri with a
        code and the state, or with an error)."""
        with requests.Session() as session:
            session.trust_env = False  # loopback: no proxy from the environment
            response = session.post(
                authorize_url, data={"email": email}, allow_redirects=False, timeout=10
            )
        location = response.headers.get("Location")
        if response.status_code not in (302, 303) or not location:
            raise AssertionError(
                f"the provider answered {response.status_code}, not a redirect: "
                f"{response.text[:500]}"
            )
        return location

    # -- storage, for the grant classes --

    def _save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def _find_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        with self._lock:
            found = self._codes.get(code)
        if found is None or found.client_id != client_id or found.expires_at < time.time():
            return None
        return found

    def _delete_code(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)

    def _active_user(self, email: str) -> User | None:
        with self._lock:
            user = self._users.get(email.strip().lower())
        return user if user is not None and not user.disabled else None

    def _save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        with self._lock:
            self._tokens[token["access_token"]] = Token(
                access_token=token["access_token"],
                client=request.client,
                user=request.user,
                scope=token.get("scope", ""),
                expires_at=time.time() + int(token.get("expires_in", ACCESS_TOKEN_SECONDS)),
            )

    def _find_token(self, access_token: str) -> Token | None:
        with self._lock:
            return self._tokens.get(access_token)

    # -- the ID token --

    def _issuer_for(self, user: User) -> str:
        tenant = user.claims.get("tid")
        if self.tenant_issuer and tenant:
            return self.issuer.replace(TENANT_PLACEHOLDER, str(tenant))
        return self.issuer

    def _user_claims(self, user: User) -> dict[str, object]:
        claims: dict[str, object] = {"sub": user.sub, "email": user.email, "name": user.name}
        if user.email_verified is not None:
            claims["email_verified"] = user.email_verified
        claims.update(user.claims)
        return claims

    def _misbehave_with(self, id_token: str) -> str:
        """The ID token as issued, or (once, if asked) made wrong in one way."""
        with self._lock:
            mode, self._misbehaviour = self._misbehaviour, None
        if mode is None:
            return id_token
        claims = dict(jwt.decode(id_token, self._key, algorithms=["RS256"]).claims)
        key = self._key
        if mode == "bad_signature":
            # Another key under the published kid: the client finds the key and
            # the signature fails.
            key = RSAKey.generate_key(2048, parameters={"kid": self.kid})
        elif mode == "wrong_audience":
            claims["aud"] = "someone-else"
        elif mode == "expired":
            for name in ("iat", "exp", "auth_time"):
                claims[name] = int(claims[name]) - 3600
        elif mode == "wrong_issuer":
            claims["iss"] = "http://evil.example"
        elif mode == "wrong_nonce":
            claims["nonce"] = "not-yours"
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, key, algorithms=["RS256"])

    # -- the web side --

    def _discovery(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.base + "/authorize",
            "token_endpoint": self.base + "/token",
            "jwks_uri": self.base + "/jwks",
            "userinfo_endpoint": self.base + "/userinfo",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES,
            "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "amr",
                "email",
                "email_verified",
                "name",
            ],
        }

    def _make_app(self) -> Flask:
        app = Flask(__name__)
        app.config["OAUTH2_SCOPES_SUPPORTED"] = SCOPES
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": ACCESS_TOKEN_SECONDS}

        server = Server(app, self)
        server.register_grant(CodeGrant, [S256Required(required=True), IdToken(self)])
        protector = ResourceProtector()
        protector.register_token_validator(BearerTokens(self))
        server.register_endpoint(Userinfo(resource_protector=protector))

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Response:
            return jsonify(self._discovery())

        @app.get("/jwks")
        def jwks() -> Response:
            return jsonify(KeySet([self._key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            with self._lock:
                self.last_authorization = request.args.to_dict()
            user = None
            if request.method == "POST":
                with self._lock:
                    user = self._users.get(request.form.get("email", "").strip().lower())
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                # Never a redirect from here: the client or its redirect_uri may be
                # unknown, and a request without PKCE is refused outright.
                return _error_page(error), 400
            if request.method == "GET":
                return _sign_in_page(request.full_path)
            if user is None:
                return _sign_in_page(
                    request.full_path,
                    email=request.form.get("email", ""),
                    problem="No account with that email",
                )
            if user.disabled:
                # RFC 6749, section 4.1.2.1: back to the client with access_denied.
                denied = AccessDeniedError(
                    description="This account is disabled",
                    redirect_uri=grant.redirect_uri,
                    state=request.args.get("state"),
                )
                return server.handle_error_response(None, denied)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token() -> Response:
            with self._lock:
                self.token_requests += 1
            response: Response = server.create_token_response()
            return response

        @app.route("/userinfo", methods=["GET", "POST"])
        def userinfo_endpoint() -> Response:
            response: Response = server.create_endpoint_response("userinfo")
            return response

        return app

    def _query_client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)


PAGE = Markup(
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>{title}</title></head><body><main>"
    "<h1>Test identity provider</h1>{body}</main></body></html>"
)


def _sign_in_page(action: str, *, email: str = "", problem: str = "") -> str:
    body = Markup("")
    described = Markup("")
    if problem:
        body += Markup('<p id="email-problem" role="alert">{}</p>').format(problem)
        described = Markup(' aria-describedby="email-problem" aria-invalid="true"')
    body += Markup(
        '<form method="post" action="{action}">'
        '<label for="email">Email address</label>'
        '<input id="email" name="email" type="email" autocomplete="email" value="{email}"{described}>'
        '<button type="submit">Continue</button></form>'
    ).format(action=action, email=email, described=described)
    title = ("Error: " if problem else "") + "Sign in - Test identity provider"
    return PAGE.format(title=title, body=body)


def _error_page(error: OAuth2Error) -> str:
    body = Markup("<p>The sign-in request was refused: <code>{}</code>. {}</p>").format(
        error.error, error.description or ""
    )
    return PAGE.format(title="Error - Test identity provider", body=body)
