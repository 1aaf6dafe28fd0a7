//! Test signing keys and the JWTs they sign, for the in-process issuer and
//! the token-checking tests: RS256, as OpenID providers sign by default.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use rsa::{
    RsaPrivateKey,
    pkcs1v15::SigningKey,
    signature::{SignatureEncoding, Signer},
    traits::PublicKeyParts,
};
use serde_json::{Value, json};

/// A new 2048-bit RSA key (num-bigint-dig is optimised in the dev profile,
/// so this takes milliseconds).
pub fn rsa_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap()
}

/// The public half of `key` as a JWK a provider lists under `kid`.
pub fn jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": B64.encode(key.n().to_bytes_be()),
        "e": B64.encode(key.e().to_bytes_be()),
    })
}

/// The first two parts of a JWT: header and claims, base64url-encoded.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

/// `claims` as a JWT signed with `key` (RS256), naming the key `kid`.
pub fn rs256(key: &RsaPrivateKey, kid: &str, claims: &Value) -> String {
    let input = signing_input(&json!({ "alg": "RS256", "typ": "JWT", "kid": kid }), claims);
    let signature = SigningKey::<sha2::Sha256>::new(key.clone()).sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}
