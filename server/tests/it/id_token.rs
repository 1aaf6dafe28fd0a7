//! ID token validation, with tokens made here and signed by a test key, so
//! each check can be broken on its own: nonce, audience, authorized party,
//! issuer, expiry, issue time, signature, `alg: none`, HMAC with the public
//! key, and an unknown key id.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use crate::common::keys::{self as test_keys, signing_input};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use clap::Parser;
use hmac::Mac;
use openidconnect::{IssuerUrl, Nonce, core::CoreJsonWebKeySet};
use rsa::{RsaPrivateKey, pkcs8::EncodePublicKey};
use serde_json::{Value, json};
use server::{
    Config,
    auth::{AuthError, AuthSettings, SepalIdToken, verify_id_token},
};

const ISSUER: &str = "https://id.example.test";
const CLIENT: &str = "sepal";
const NONCE: &str = "the-nonce";

struct Keys {
    key: RsaPrivateKey,
    jwks: CoreJsonWebKeySet,
}

fn keys() -> Keys {
    let key = test_keys::rsa_key();
    let jwks =
        serde_json::from_value(json!({ "keys": [test_keys::jwk(&key, "test-key")] })).unwrap();
    Keys { key, jwks }
}

fn settings(extra: &[&str]) -> AuthSettings {
    let mut args = vec!["sepal", "--oidc-issuer", ISSUER, "--oidc-client-id", CLIENT];
    args.extend(extra);
    AuthSettings::from_config(&Config::parse_from(args)).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims of a token that passes every check.
fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "alice", "aud": CLIENT, "nonce": NONCE,
        "iat": now(), "exp": now() + 300,
        "name": "Alice", "email": "alice@example.org", "email_verified": true,
        "groups": ["sepal-users", "admin"],
    })
}

fn rs256(keys: &Keys, kid: &str, claims: &Value) -> String {
    test_keys::rs256(&keys.key, kid, claims)
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    let input = signing_input(
        &json!({ "alg": "HS256", "typ": "JWT", "kid": "test-key" }),
        claims,
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
}

fn verify(keys: &Keys, settings: &AuthSettings, token: &str) -> Result<app::auth::User, AuthError> {
    // Tokens that do not even parse count as refused too.
    let token = SepalIdToken::from_str(token).map_err(|e| AuthError::Token(e.to_string()))?;
    let issuer = IssuerUrl::new(ISSUER.into()).unwrap();
    verify_id_token(
        settings,
        &issuer,
        &keys.jwks,
        &token,
        &Nonce::new(NONCE.into()),
    )
}

fn assert_refused(keys: &Keys, token: &str, why: &str) {
    let result = verify(keys, &settings(&[]), token);
    assert!(
        matches!(result, Err(AuthError::Token(_))),
        "{why}: {result:?}"
    );
}

fn with(change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = good_claims();
    change(&mut claims);
    claims
}

#[test]
fn every_check_refuses_what_it_should_and_a_good_token_passes() {
    let keys = keys();

    let user = verify(
        &keys,
        &settings(&[]),
        &rs256(&keys, "test-key", &good_claims()),
    )
    .unwrap();
    assert_eq!(user.subject, "alice");
    assert_eq!(user.issuer, ISSUER);
    assert_eq!(user.groups, ["sepal-users", "admin"]);
    assert_eq!(user.email.as_deref(), Some("alice@example.org"));
    assert!(user.is_admin);

    // An unverified address is not used (it could be anyone's).
    let claims = with(|c| c["email_verified"] = false.into());
    let user = verify(&keys, &settings(&[]), &rs256(&keys, "test-key", &claims)).unwrap();
    assert_eq!(user.email, None);

    let cases = [
        ("wrong nonce", with(|c| c["nonce"] = "another".into())),
        (
            "no nonce",
            with(|c| drop(c.as_object_mut().unwrap().remove("nonce"))),
        ),
        (
            "wrong audience",
            with(|c| c["aud"] = "another-client".into()),
        ),
        (
            "several audiences without azp",
            with(|c| c["aud"] = json!([CLIENT, "another-client"])),
        ),
        (
            "azp of another client, two audiences",
            with(|c| {
                c["aud"] = json!([CLIENT, "another-client"]);
                c["azp"] = "another-client".into();
            }),
        ),
        (
            "azp of another client",
            with(|c| c["azp"] = "another-client".into()),
        ),
        (
            "wrong issuer",
            with(|c| c["iss"] = "https://evil.example.test".into()),
        ),
        ("expired", with(|c| c["exp"] = (now() - 60).into())),
        (
            "issued in the future",
            with(|c| c["iat"] = (now() + 600).into()),
        ),
        (
            "issued too long ago",
            with(|c| c["iat"] = (now() - 3600).into()),
        ),
    ];
    for (why, claims) in &cases {
        assert_refused(&keys, &rs256(&keys, "test-key", claims), why);
    }

    // Even with azp naming Sepal, an audience Sepal does not trust is refused.
    let claims = with(|c| {
        c["aud"] = json!([CLIENT, "another-client"]);
        c["azp"] = CLIENT.into();
    });
    assert_refused(
        &keys,
        &rs256(&keys, "test-key", &claims),
        "an untrusted extra audience",
    );
}

#[test]
fn forged_signatures_and_algorithms_are_refused() {
    let keys = keys();
    let good = rs256(&keys, "test-key", &good_claims());

    // Claims changed after signing.
    let (_, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let admin = with(|c| c["sub"] = "ada".into());
    let header = B64.encode(json!({ "alg": "RS256", "typ": "JWT", "kid": "test-key" }).to_string());
    let tampered = format!("{header}.{}.{signature}", B64.encode(admin.to_string()));
    assert_refused(&keys, &tampered, "claims changed after signing");

    // Signed by another key that claims the same key id.
    let other = self::keys();
    assert_refused(
        &keys,
        &rs256(&other, "test-key", &good_claims()),
        "another key",
    );

    // alg: none, with and without a signature part.
    let none = signing_input(&json!({ "alg": "none", "typ": "JWT" }), &good_claims());
    assert_refused(&keys, &format!("{none}."), "alg none");
    assert_refused(
        &keys,
        &format!("{none}.{signature}"),
        "alg none with a signature",
    );

    // HMAC keyed with the public key (the classic confusion), or the client secret.
    let public_der = keys.key.to_public_key().to_public_key_der().unwrap();
    assert_refused(
        &keys,
        &hs256(public_der.as_bytes(), &good_claims()),
        "HS256 with the public key",
    );
    let public_pem = keys
        .key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    assert_refused(
        &keys,
        &hs256(public_pem.as_bytes(), &good_claims()),
        "HS256 with the PEM",
    );
    assert_refused(
        &keys,
        &hs256(b"sepal-dev-secret", &good_claims()),
        "HS256 with the client secret",
    );
}

#[test]
fn an_unknown_key_id_asks_for_the_keys_again() {
    let keys = keys();
    let result = verify(
        &keys,
        &settings(&[]),
        &rs256(&keys, "rotated-key", &good_claims()),
    );
    assert!(matches!(result, Err(AuthError::UnknownKey)), "{result:?}");
}

#[test]
fn groups_come_from_the_configured_claim() {
    let keys = keys();
    let cognito = settings(&[
        "--oidc-groups-claim",
        "cognito:groups",
        "--admin-group",
        "ops",
    ]);
    let claims = with(|c| {
        c.as_object_mut().unwrap().remove("groups");
        c["cognito:groups"] = json!(["sepal-users", "ops"]);
    });
    let user = verify(&keys, &cognito, &rs256(&keys, "test-key", &claims)).unwrap();
    assert_eq!(user.groups, ["sepal-users", "ops"]);
    assert!(user.is_admin);
    // The default claim name does not read Cognito's.
    let user = verify(&keys, &settings(&[]), &rs256(&keys, "test-key", &claims)).unwrap();
    assert!(user.groups.is_empty());
    assert!(!user.is_admin);
}

// API bearer tokens (`verify_bearer_token`): the same keys and algorithms,
// with `aud` the API audience and `nbf` checked; no nonce, no age limit.

fn verify_bearer(
    keys: &Keys,
    settings: &AuthSettings,
    token: &str,
) -> Result<app::auth::User, AuthError> {
    verified_bearer(keys, settings, token).map(|verified| verified.user)
}

fn verified_bearer(
    keys: &Keys,
    settings: &AuthSettings,
    token: &str,
) -> Result<server::auth::VerifiedToken, AuthError> {
    let issuer = IssuerUrl::new(ISSUER.into()).unwrap();
    server::auth::verify_bearer_token(settings, &issuer, &keys.jwks, token)
}

fn bearer_claims() -> Value {
    with(|c| {
        let claims = c.as_object_mut().unwrap();
        claims.remove("nonce");
        // An API token may be hours old.
        claims.insert("iat".into(), (now() - 3 * 3600).into());
        claims.insert("nbf".into(), (now() - 3 * 3600).into());
    })
}

#[test]
fn bearer_tokens_are_checked_as_an_api_gateway_authorizer_would() {
    let keys = keys();
    let settings = settings(&[]);
    let good = rs256(&keys, "test-key", &bearer_claims());
    let user = verify_bearer(&keys, &settings, &good).unwrap();
    assert_eq!(
        (user.subject.as_str(), user.issuer.as_str()),
        ("alice", ISSUER)
    );
    assert_eq!(user.groups, ["sepal-users", "admin"]);

    let change = |f: &dyn Fn(&mut Value)| {
        let mut claims = bearer_claims();
        f(&mut claims);
        rs256(&keys, "test-key", &claims)
    };
    let refused = [
        (
            "wrong audience",
            change(&|c| c["aud"] = "another-api".into()),
        ),
        (
            "no audience",
            change(&|c| drop(c.as_object_mut().unwrap().remove("aud"))),
        ),
        (
            "wrong issuer",
            change(&|c| c["iss"] = "https://evil.example.test".into()),
        ),
        ("expired", change(&|c| c["exp"] = (now() - 120).into())),
        (
            "no expiry",
            change(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
        ),
        (
            "not valid yet",
            change(&|c| c["nbf"] = (now() + 600).into()),
        ),
        (
            "no subject",
            change(&|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
    ];
    for (why, token) in &refused {
        let result = verify_bearer(&keys, &settings, token);
        assert!(
            matches!(result, Err(AuthError::Token(_))),
            "{why}: {result:?}"
        );
    }

    // A configured API audience replaces the client id.
    let api = self::settings(&["--api-audience", "sepal-api"]);
    assert!(verify_bearer(&keys, &api, &good).is_err());
    let for_api = change(&|c| c["aud"] = json!(["sepal-api", "other"]));
    assert_eq!(
        verify_bearer(&keys, &api, &for_api).unwrap().subject,
        "alice"
    );
}

#[test]
fn a_verified_bearer_token_is_remembered_until_it_expires_only() {
    let keys = keys();
    let settings = settings(&[]);
    let expires_at = now() + 30;
    let mut claims = bearer_claims();
    claims["exp"] = expires_at.into();
    let token = rs256(&keys, "test-key", &claims);
    let verified = verified_bearer(&keys, &settings, &token).unwrap();
    assert_eq!(verified.expires_at, expires_at);

    let tokens = server::auth::VerifiedTokens::default();
    tokens.keep(&token, verified);
    assert_eq!(tokens.user(&token, now()).unwrap().subject, "alice");
    // Within the same 60 s leeway as the full check, and not after it.
    assert!(tokens.user(&token, expires_at + 60).is_some());
    assert!(tokens.user(&token, expires_at + 61).is_none());
    // Only the very same token.
    let mut other = token.clone();
    other.pop();
    assert!(tokens.user(&other, now()).is_none());
    tokens.clear();
    assert!(tokens.user(&token, now()).is_none());
}

#[test]
fn forged_bearer_tokens_are_refused() {
    let keys = keys();
    let settings = settings(&[]);
    let good = rs256(&keys, "test-key", &bearer_claims());
    let (_, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();

    let header = B64.encode(json!({ "alg": "RS256", "typ": "JWT", "kid": "test-key" }).to_string());
    let admin = with(|c| c["sub"] = "ada".into());
    let none = signing_input(&json!({ "alg": "none", "typ": "JWT" }), &bearer_claims());
    let public_der = keys.key.to_public_key().to_public_key_der().unwrap();
    let forged = [
        (
            "claims changed after signing",
            format!("{header}.{}.{signature}", B64.encode(admin.to_string())),
        ),
        (
            "another key, same kid",
            rs256(&self::keys(), "test-key", &bearer_claims()),
        ),
        ("alg none", format!("{none}.")),
        ("alg none with a signature", format!("{none}.{signature}")),
        (
            "HS256 with the public key",
            hs256(public_der.as_bytes(), &bearer_claims()),
        ),
        (
            "HS256 with the client secret",
            hs256(b"sepal-dev-secret", &bearer_claims()),
        ),
        ("not a JWT", "not-a-token".to_owned()),
    ];
    for (why, token) in &forged {
        let result = verify_bearer(&keys, &settings, token);
        assert!(
            matches!(result, Err(AuthError::Token(_))),
            "{why}: {result:?}"
        );
    }
    // A key the provider does not list: fetched again by the caller, then refused.
    let unknown = rs256(&keys, "rotated-key", &bearer_claims());
    assert!(matches!(
        verify_bearer(&keys, &settings, &unknown),
        Err(AuthError::UnknownKey)
    ));
}
