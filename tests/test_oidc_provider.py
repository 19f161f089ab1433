"""The loopback OpenID Connect provider (tests/oidc_provider.py), tried with
Authlib's requests client: it must be a real provider for the SSO tests to mean
anything, and it must misbehave exactly when asked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from .oidc_provider import OidcTestProvider

CLIENT_ID = "portal"
SECRET = "portal-secret"
# Never requested: sign_in returns the redirect to it instead of following it.
CALLBACK = "http://127.0.0.1:9/sso/test/callback"
TENANT = "3f0e5c2a-0d4b-4b53-9a34-5c8b7c2e1a90"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcTestProvider]:
    with OidcTestProvider() as running:
        running.add_client(CLIENT_ID, SECRET, [CALLBACK])
        running.add_user("ada@school.example", name="Ada Lovelace")
        yield running


@dataclass
class Flow:
    session: OAuth2Session
    url: str
    state: str
    nonce: str
    verifier: str


def begin(provider: OidcTestProvider, auth_method: str = "client_secret_basic") -> Flow:
    session = OAuth2Session(
        CLIENT_ID,
        SECRET,
        scope="openid email profile",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )
    session.trust_env = False
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(
        provider.base + "/authorize", code_verifier=verifier, nonce=nonce
    )
    return Flow(session, url, state, nonce, verifier)


def exchange(provider: OidcTestProvider, flow: Flow, callback: str, **kwargs: Any) -> Any:
    kwargs.setdefault("code_verifier", flow.verifier)
    return flow.session.fetch_token(
        provider.base + "/token", authorization_response=callback, **kwargs
    )


def sign_in(provider: OidcTestProvider, email: str, flow: Flow | None = None) -> Any:
    flow = flow or begin(provider)
    return exchange(provider, flow, provider.sign_in(flow.url, email))


def published_keys(provider: OidcTestProvider) -> KeySet:
    return KeySet.import_key_set(requests.get(provider.base + "/jwks", timeout=5).json())


def verified(provider: OidcTestProvider, token: Any, flow: Flow, issuer: str) -> dict[str, Any]:
    """The ID token's claims, checked as a careful client checks them."""
    decoded = jwt.decode(token["id_token"], published_keys(provider), algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": CLIENT_ID},
        },
        params={"nonce": flow.nonce, "access_token": token["access_token"]},
    )
    claims.validate()
    return dict(claims)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_discovery_document(provider: OidcTestProvider) -> None:
    doc = requests.get(provider.metadata_url, timeout=5).json()
    OpenIDProviderMetadata(doc).validate()
    assert provider.metadata_url == provider.base + "/.well-known/openid-configuration"
    assert doc["issuer"] == provider.base
    assert doc["authorization_endpoint"] == provider.base + "/authorize"
    assert doc["token_endpoint"] == provider.base + "/token"
    assert doc["jwks_uri"] == provider.base + "/jwks"
    assert doc["userinfo_endpoint"] == provider.base + "/userinfo"
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["scopes_supported"] == ["openid", "email", "profile"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert {"sub", "email", "email_verified", "name", "nonce"} <= set(doc["claims_supported"])
    (key,) = published_keys(provider).keys
    assert key.kid and not key.is_private


def test_sign_in_page(provider: OidcTestProvider) -> None:
    flow = begin(provider)
    page = requests.get(flow.url, timeout=5)
    assert page.status_code == 200
    action = urlsplit(flow.url).path + "?" + urlsplit(flow.url).query
    assert "<h1>Test identity provider</h1>" in page.text
    assert f'<form method="post" action="{action.replace("&", "&amp;")}">' in page.text
    assert '<label for="email">Email address</label>' in page.text
    assert '<input id="email" name="email" type="email"' in page.text
    assert '<button type="submit">Continue</button>' in page.text
    assert provider.last_authorization == query(flow.url)
    assert provider.last_authorization["code_challenge_method"] == "S256"
    assert provider.last_authorization["nonce"] == flow.nonce
    assert provider.last_authorization["state"] == flow.state

    unknown = requests.post(flow.url, data={"email": "nobody@school.example"}, timeout=5)
    assert unknown.status_code == 200
    assert "No account with that email" in unknown.text
    assert "Location" not in unknown.headers


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_code_flow_gives_a_verifiable_id_token(
    provider: OidcTestProvider, auth_method: str
) -> None:
    sub = provider.add_user(
        "grace@school.example",
        name="Grace Hopper",
        claims={"amr": ["pwd", "mfa"], "hd": "school.example"},
    )
    flow = begin(provider, auth_method)
    callback = provider.sign_in(flow.url, "Grace@School.example")
    assert callback.startswith(CALLBACK + "?")
    assert query(callback)["state"] == flow.state
    before = provider.token_requests
    signed_in = time.time()
    token = exchange(provider, flow, callback)
    assert provider.token_requests == before + 1
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 0

    claims = verified(provider, token, flow, issuer=provider.base)
    assert claims["sub"] == sub
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == flow.nonce
    assert claims["email"] == "grace@school.example"
    assert claims["email_verified"] is True
    assert claims["name"] == "Grace Hopper"
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["hd"] == "school.example"
    assert claims["exp"] == claims["iat"] + 300
    assert abs(claims["iat"] - signed_in) < 5
    assert abs(claims["auth_time"] - signed_in) < 5
    assert "at_hash" in claims
    assert jwt.decode(token["id_token"], published_keys(provider)).header["kid"] == (
        published_keys(provider).keys[0].kid
    )

    userinfo = requests.get(
        provider.base + "/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert userinfo.json() == {
        "sub": sub,
        "email": "grace@school.example",
        "name": "Grace Hopper",
        "email_verified": True,
    }
    assert requests.get(provider.base + "/userinfo", timeout=5).status_code == 401


def test_users_are_replaced_and_email_verified_may_be_left_out(
    provider: OidcTestProvider,
) -> None:
    sub = provider.add_user("alan@school.example")
    assert provider.add_user("alan@school.example", email_verified=None) == sub
    assert provider.add_user("alan@school.example", sub="fixed", email_verified=None) == "fixed"
    flow = begin(provider)
    claims = verified(provider, sign_in(provider, "alan@school.example", flow), flow, provider.base)
    assert claims["sub"] == "fixed"
    assert "email_verified" not in claims


def test_a_code_works_once(provider: OidcTestProvider) -> None:
    flow = begin(provider)
    callback = provider.sign_in(flow.url, "ada@school.example")
    exchange(provider, flow, callback)
    with pytest.raises(OAuthError) as refused:
        exchange(provider, flow, callback)
    assert refused.value.error == "invalid_grant"


def test_a_wrong_code_verifier_is_refused(provider: OidcTestProvider) -> None:
    flow = begin(provider)
    callback = provider.sign_in(flow.url, "ada@school.example")
    with pytest.raises(OAuthError) as refused:
        exchange(provider, flow, callback, code_verifier=generate_token(48))
    assert refused.value.error == "invalid_grant"


def test_a_wrong_secret_is_refused(provider: OidcTestProvider) -> None:
    flow = begin(provider)
    callback = provider.sign_in(flow.url, "ada@school.example")
    flow.session.client_secret = "guess"
    with pytest.raises(OAuthError) as refused:
        exchange(provider, flow, callback)
    assert refused.value.error == "invalid_client"


def authorize_url(provider: OidcTestProvider, **changes: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": "st",
        "nonce": "nn",
        "code_challenge": create_s256_code_challenge(generate_token(48)),
        "code_challenge_method": "S256",
        **changes,
    }
    return provider.base + "/authorize?" + urlencode({k: v for k, v in params.items() if v})


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"client_id": "stranger"}, "invalid_client"),
        ({"redirect_uri": "http://evil.example/callback"}, "invalid_request"),
    ],
    ids=["no PKCE", "plain PKCE", "unknown client", "unregistered redirect_uri"],
)
def test_bad_authorization_requests_are_refused_at_the_provider(
    provider: OidcTestProvider, changes: dict[str, str | None], error: str
) -> None:
    url = authorize_url(provider, **changes)
    for answer in (
        requests.get(url, allow_redirects=False, timeout=5),
        requests.post(url, data={"email": "ada@school.example"}, allow_redirects=False, timeout=5),
    ):
        assert answer.status_code == 400
        assert "Location" not in answer.headers
        assert error in answer.text


def test_a_disabled_user_is_sent_back_with_access_denied(provider: OidcTestProvider) -> None:
    provider.add_user("left@school.example")
    provider.disable("left@school.example")
    flow = begin(provider)
    callback = provider.sign_in(flow.url, "left@school.example")
    assert callback.startswith(CALLBACK + "?")
    answer = query(callback)
    assert answer["error"] == "access_denied"
    assert answer["error_description"]
    assert answer["state"] == flow.state
    assert "code" not in answer


def differences(bad: dict[str, Any], good: dict[str, Any]) -> set[str]:
    """The claims that differ, beyond the second ticking over and the access token."""
    found = set()
    for name in bad.keys() | good.keys():
        was, now = bad.get(name), good.get(name)
        if name in ("iat", "exp", "auth_time") and isinstance(was, int) and isinstance(now, int):
            if abs(was - now) <= 2:
                continue
        if name != "at_hash" and was != now:
            found.add(name)
    return found


@pytest.mark.parametrize(
    ("mode", "changed"),
    [
        ("bad_signature", set()),
        ("wrong_audience", {"aud"}),
        ("expired", {"iat", "exp", "auth_time"}),
        ("wrong_issuer", {"iss"}),
        ("wrong_nonce", {"nonce"}),
    ],
)
def test_misbehaving_changes_exactly_the_next_id_token(
    provider: OidcTestProvider, mode: str, changed: set[str]
) -> None:
    flow = begin(provider)
    provider.misbehave(mode)
    bad = sign_in(provider, "ada@school.example", flow)
    good = sign_in(provider, "ada@school.example", flow)  # same request, a second code
    good_claims = verified(provider, good, flow, issuer=provider.base)

    keys = published_keys(provider)
    if mode == "bad_signature":
        assert jwt.decode(good["id_token"], keys).header["kid"] == keys.keys[0].kid
        with pytest.raises(BadSignatureError):
            jwt.decode(bad["id_token"], keys)
        return
    bad_claims = jwt.decode(bad["id_token"], keys).claims  # still signed by the provider
    assert differences(bad_claims, good_claims) == changed
    if mode == "wrong_audience":
        assert bad_claims["aud"] == "someone-else"
    elif mode == "expired":
        assert bad_claims["exp"] < time.time() - 3000
        assert bad_claims["iat"] < time.time() - 3500
    elif mode == "wrong_issuer":
        assert bad_claims["iss"] == "http://evil.example"
    elif mode == "wrong_nonce":
        assert bad_claims["nonce"] == "not-yours"


def test_an_unknown_misbehaviour_is_a_mistake(provider: OidcTestProvider) -> None:
    with pytest.raises(ValueError, match="unknown misbehaviour"):
        provider.misbehave("wrong_everything")


def test_tenant_issuer_imitates_entra_organizations() -> None:
    with OidcTestProvider(tenant_issuer=True) as entra:
        entra.add_client(CLIENT_ID, SECRET, [CALLBACK])
        entra.add_user("ada@school.example", claims={"tid": TENANT, "xms_edov": True})
        doc = requests.get(entra.metadata_url, timeout=5).json()
        OpenIDProviderMetadata(doc).validate()
        assert doc["issuer"] == entra.base + "/{tenantid}/v2.0"

        flow = begin(entra)
        claims = verified(
            entra, sign_in(entra, "ada@school.example", flow), flow, f"{entra.base}/{TENANT}/v2.0"
        )
        assert claims["tid"] == TENANT
        assert claims["xms_edov"] is True
