//! An OpenID provider inside the test process, for the tests whose subject
//! is not sign-in itself (the API, the pages): it publishes its discovery
//! document and keys on a port of 127.0.0.1 and signs ID tokens for any
//! user a test names, so Sepal fetches and checks them as it does a real
//! provider's. It has no sign-in page: the code flow is tested against the
//! real local provider (`auth.rs`, the browser tests).

use std::sync::{Arc, RwLock};

use axum::{Json, Router, extract::State, routing::get};
use rsa::RsaPrivateKey;
use serde_json::{Value, json};

use super::keys::{jwk, rs256, rsa_key};

/// The key the issuer signs with now (it lists no other), and how many
/// keys it has had: key ids are `key-1`, `key-2`, …
struct SigningKey {
    key: RsaPrivateKey,
    number: u32,
}

impl SigningKey {
    fn new(number: u32) -> Self {
        SigningKey {
            key: rsa_key(),
            number,
        }
    }

    fn kid(&self) -> String {
        format!("key-{}", self.number)
    }
}

pub struct Issuer {
    pub url: String,
    key: Arc<RwLock<SigningKey>>,
    server: tokio::task::JoinHandle<()>,
}

impl Issuer {
    pub async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = Arc::new(RwLock::new(SigningKey::new(1)));
        // What openidconnect's discovery requires; the authorization
        // endpoint is named but not served.
        let discovery = json!({
            "issuer": url,
            "authorization_endpoint": format!("{url}/authorize"),
            "jwks_uri": format!("{url}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let router = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route("/jwks", get(jwks))
            .with_state(key.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Issuer { url, key, server }
    }

    /// Replaces the signing key with a new one, as a provider's key
    /// rotation does: tokens signed with the old key no longer verify.
    pub fn rotate_key(&self) {
        let mut current = self.key.write().unwrap();
        *current = SigningKey::new(current.number + 1);
    }

    /// An ID token for `user` in `groups`, for Sepal's client id (`sepal`),
    /// valid for five minutes: what a script sends the API as its bearer token.
    pub fn id_token(&self, user: &str, groups: &[&str]) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "iss": self.url, "sub": user, "aud": "sepal",
            "iat": now, "exp": now + 300,
            "email": format!("{user}@example.org"), "email_verified": true,
            "groups": groups,
        });
        let current = self.key.read().unwrap();
        rs256(&current.key, &current.kid(), &claims)
    }
}

async fn jwks(State(key): State<Arc<RwLock<SigningKey>>>) -> Json<Value> {
    let current = key.read().unwrap();
    Json(json!({ "keys": [jwk(&current.key, &current.kid())] }))
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}
