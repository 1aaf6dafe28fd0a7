//! The check of an ID token from the code flow: signed by one of the
//! provider's keys with an asymmetric algorithm; issuer, audience, expiry,
//! issue time and nonce.

use std::time::Duration;

use app::auth::User;
use openidconnect::{
    IdTokenVerifier, IssuerUrl, Nonce,
    core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
};

use super::{AuthError, AuthSettings, claims::user, oidc::SepalIdToken};

/// Signature algorithms accepted on ID tokens: asymmetric ones only, so
/// `none` and HMAC (with the public key as secret, or the client secret) fail.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];
/// How far `iat` may be in the future (clock skew), and how old a token may be.
const IAT_SKEW: Duration = Duration::from_secs(60);
const IAT_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// Validates an ID token: signature by one of the provider's keys with an
/// asymmetric algorithm; `iss`, `aud` (and `azp` when there are several
/// audiences), `exp`, `iat` and `nonce`. Returns the user it names.
pub fn verify_id_token(
    settings: &AuthSettings,
    issuer: &IssuerUrl,
    jwks: &CoreJsonWebKeySet,
    token: &SepalIdToken,
    nonce: &Nonce,
) -> Result<User, AuthError> {
    // A verifier without the client secret: it cannot accept HMAC at all.
    let verifier = IdTokenVerifier::new_public_client(
        settings.client_id.clone(),
        issuer.clone(),
        jwks.clone(),
    )
    .set_allowed_algs(ALLOWED_ALGS)
    .set_issue_time_verifier_fn(|iat| {
        let age = chrono::Utc::now().signed_duration_since(iat);
        let skew = chrono::Duration::from_std(IAT_SKEW).map_err(|e| e.to_string())?;
        let max_age = chrono::Duration::from_std(IAT_MAX_AGE).map_err(|e| e.to_string())?;
        if age < -skew {
            Err(format!("issued in the future ({iat})"))
        } else if age > max_age {
            Err(format!("issued too long ago ({iat})"))
        } else {
            Ok(())
        }
    });
    let claims = token.claims(&verifier, nonce).map_err(|err| match err {
        openidconnect::ClaimsVerificationError::SignatureVerification(
            openidconnect::SignatureVerificationError::NoMatchingKey,
        ) => AuthError::UnknownKey,
        other => AuthError::Token(other.to_string()),
    })?;
    // openidconnect leaves `azp` unchecked; when present it must be Sepal.
    if let Some(azp) = claims.authorized_party()
        && azp != &settings.client_id
    {
        return Err(AuthError::Token(format!(
            "azp is {}, not Sepal",
            azp.as_str()
        )));
    }

    user(
        settings,
        claims.issuer().as_str(),
        claims.subject().as_str(),
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        claims
            .email()
            .filter(|_| claims.email_verified() == Some(true))
            .map(|e| e.as_str()),
        &claims.additional_claims().claims,
    )
}
