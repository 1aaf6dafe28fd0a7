//! The check of an API bearer token, as an API gateway's JWT authorizer
//! makes it. `jsonwebtoken` reads these: openidconnect checks only ID
//! tokens (with a nonce), and an access token is not one.

use std::collections::HashMap;

use openidconnect::{IssuerUrl, core::CoreJsonWebKeySet};
use serde::Deserialize;

use super::{
    AuthError, AuthSettings,
    claims::user,
    verified_tokens::{LEEWAY_SECS, VerifiedToken},
};

/// The claims of an API bearer token that Sepal reads; the rest are kept
/// by name for the groups claim.
#[derive(Debug, Deserialize)]
struct BearerClaims {
    iss: String,
    sub: String,
    exp: i64,
    name: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    #[serde(flatten)]
    other: HashMap<String, serde_json::Value>,
}

/// The asymmetric algorithms an API token may be signed with (as for ID
/// tokens): `none` and HMAC are refused, so a public key can never be
/// used as a shared secret.
const BEARER_ALGS: [jsonwebtoken::Algorithm; 9] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::RS384,
    jsonwebtoken::Algorithm::RS512,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::PS384,
    jsonwebtoken::Algorithm::PS512,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::EdDSA,
];

/// Validates an API bearer token, as an API gateway's JWT authorizer does:
/// a JWT signed by one of the provider's keys (by `kid`) with an asymmetric
/// algorithm, `iss` the provider, `aud` including the API's audience
/// (SEPAL_API_AUDIENCE: an access token's audience, or the client id for ID
/// tokens), `exp` in the future and `nbf` in the past (60 s leeway).
pub fn verify_bearer_token(
    settings: &AuthSettings,
    issuer: &IssuerUrl,
    jwks: &CoreJsonWebKeySet,
    token: &str,
) -> Result<VerifiedToken, AuthError> {
    let refused = |why: String| AuthError::Token(why);
    let header = jsonwebtoken::decode_header(token)
        .map_err(|err| refused(format!("not a signed JWT: {err}")))?;
    if !BEARER_ALGS.contains(&header.alg) {
        return Err(refused(format!(
            "algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| refused("the token names no key (kid)".into()))?;
    // openidconnect's key type, read as jsonwebtoken's; keys of a type
    // jsonwebtoken does not know are skipped.
    let jwk = jwks
        .keys()
        .iter()
        .filter_map(|key| serde_json::to_value(key).ok())
        .filter_map(|key| serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key).ok())
        .find(|key| key.common.key_id.as_deref() == Some(kid.as_str()))
        .ok_or(AuthError::UnknownKey)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)
        .map_err(|err| refused(format!("the provider's key {kid} is unusable: {err}")))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[issuer.as_str()]);
    validation.set_audience(&[settings.api_audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    let claims = jsonwebtoken::decode::<BearerClaims>(token, &key, &validation)
        .map_err(|err| refused(err.to_string()))?
        .claims;
    let user = user(
        settings,
        &claims.iss,
        &claims.sub,
        claims.name.as_deref(),
        claims
            .email
            .as_deref()
            .filter(|_| claims.email_verified == Some(true)),
        &claims.other,
    )?;
    Ok(VerifiedToken {
        user,
        expires_at: claims.exp,
    })
}
