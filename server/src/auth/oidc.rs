//! The OpenID Connect side of sign-in: discovery, the authorization request
//! (PKCE S256, `state`, `nonce`), the code exchange and ID token validation,
//! and the provider's sign-out URL.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use app::auth::User;
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, CsrfToken, EmptyAdditionalProviderMetadata,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenFields,
    IdTokenVerifier, IssuerUrl, LogoutProviderMetadata, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse as _,
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
        CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType,
        CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
        CoreTokenIntrospectionResponse, CoreTokenType,
    },
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use url::Url;

use super::{
    AuthError, AuthSettings,
    verified_tokens::{LEEWAY_SECS, VerifiedToken, VerifiedTokens},
};

/// Claims beyond the standard ones, kept by name: the groups claim's name is
/// a setting (`groups`, or Cognito's `cognito:groups`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub claims: HashMap<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

pub type SepalIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
type Metadata = ProviderMetadata<
    LogoutProviderMetadata<EmptyAdditionalProviderMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

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
/// The provider's keys are fetched again for an unknown `kid`, at most this often.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// What one sign-in attempt must remember until the provider sends the browser back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    /// Unix seconds.
    pub started_at: i64,
}

/// The provider as discovered, with its keys.
struct Provider {
    client: OidcClient,
    issuer: IssuerUrl,
    jwks: CoreJsonWebKeySet,
    end_session: Option<Url>,
    fetched_at: Instant,
}

/// The configured OpenID provider, discovered on first use (so Sepal starts
/// while the provider is down) and again when it signs with an unknown key.
pub struct Oidc {
    settings: AuthSettings,
    http: reqwest::Client,
    provider: RwLock<Option<Arc<Provider>>>,
    /// One discovery at a time; requests keep reading the current provider meanwhile.
    fetching: Mutex<()>,
    verified: VerifiedTokens,
}

impl Oidc {
    pub fn new(settings: AuthSettings) -> Result<Self, AuthError> {
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer point Sepal elsewhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| AuthError::Unavailable(err.to_string()))?;
        Ok(Oidc {
            settings,
            http,
            provider: RwLock::new(None),
            fetching: Mutex::new(()),
            verified: VerifiedTokens::default(),
        })
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    async fn provider(&self) -> Result<Arc<Provider>, AuthError> {
        if let Some(provider) = self.provider.read().await.clone() {
            return Ok(provider);
        }
        self.discover(None).await
    }

    /// Discovers the provider, unless another request did since `stale`.
    async fn discover(&self, stale: Option<&Arc<Provider>>) -> Result<Arc<Provider>, AuthError> {
        let _one_at_a_time = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(current) = self.provider.read().await.clone()
            && stale.is_none_or(|s| {
                !Arc::ptr_eq(s, &current) || s.fetched_at.elapsed() < JWKS_REFRESH_INTERVAL
            })
        {
            return Ok(current);
        }
        let settings = &self.settings;
        let metadata = Metadata::discover_async(settings.issuer.clone(), &self.http)
            .await
            .map_err(|err| {
                AuthError::Unavailable(format!("discovery of {}: {err}", settings.issuer.as_str()))
            })?;
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|url| url.url().clone());
        let issuer = metadata.issuer().clone();
        let jwks = metadata.jwks().clone();
        let client = OidcClient::from_provider_metadata(
            metadata,
            settings.client_id.clone(),
            Some(settings.client_secret.clone()),
        )
        .set_redirect_uri(settings.redirect_url.clone());
        let provider = Arc::new(Provider {
            client,
            issuer,
            jwks,
            end_session,
            fetched_at: Instant::now(),
        });
        tracing::info!(issuer = %self.settings.issuer.as_str(), "OpenID provider discovered");
        *self.provider.write().await = Some(provider.clone());
        self.verified.clear();
        Ok(provider)
    }

    /// Starts a sign-in: the provider URL to send the browser to, and what
    /// to remember of this attempt.
    pub async fn start(&self, return_to: String, now: i64) -> Result<(Url, Attempt), AuthError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let attempt = Attempt {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: now,
        };
        Ok((url, attempt))
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier) and
    /// validates the ID token against the attempt's nonce.
    pub async fn finish(
        &self,
        code: String,
        attempt: &Attempt,
    ) -> Result<(User, String), AuthError> {
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|err| AuthError::Unavailable(err.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|err| AuthError::Token(format!("code exchange: {err}")))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| AuthError::Token("the provider sent no ID token".into()))?;
        let nonce = Nonce::new(attempt.nonce.clone());
        let user = match self.verify(&provider, id_token, &nonce) {
            // The provider may have rotated its keys: fetch them again, once.
            Err(AuthError::UnknownKey) => {
                let provider = self.discover(Some(&provider)).await?;
                self.verify(&provider, id_token, &nonce)?
            }
            other => other?,
        };
        Ok((user, id_token.to_string()))
    }

    fn verify(
        &self,
        provider: &Provider,
        token: &SepalIdToken,
        nonce: &Nonce,
    ) -> Result<User, AuthError> {
        verify_id_token(
            &self.settings,
            &provider.issuer,
            &provider.jwks,
            token,
            nonce,
        )
    }

    /// Validates an API bearer token and returns the user it names; keys
    /// are fetched again once for an unknown `kid` (at most every
    /// [`JWKS_REFRESH_INTERVAL`]). A token verified before is taken from
    /// the cache until it expires; `now` is Unix seconds.
    pub async fn verify_bearer(&self, token: &str, now: i64) -> Result<User, AuthError> {
        if let Some(user) = self.verified.user(token, now) {
            return Ok(user);
        }
        let provider = self.provider().await?;
        let verified =
            match verify_bearer_token(&self.settings, &provider.issuer, &provider.jwks, token) {
                Err(AuthError::UnknownKey) => {
                    let provider = self.discover(Some(&provider)).await?;
                    verify_bearer_token(&self.settings, &provider.issuer, &provider.jwks, token)
                }
                other => other,
            }?;
        self.verified.keep(token, verified.clone());
        Ok(verified.user)
    }

    /// Where to send the browser to sign out at the provider too, if anywhere.
    pub async fn logout_url(&self, id_token_hint: Option<&str>) -> Option<Url> {
        let settings = &self.settings;
        let after = settings.public_url.as_str();
        if let Some(logout) = &settings.cognito_logout_url {
            // Cognito's own form: /logout?client_id=…&logout_uri=…
            let mut url = logout.clone();
            url.query_pairs_mut()
                .append_pair("client_id", settings.client_id.as_str())
                .append_pair("logout_uri", after);
            return Some(url);
        }
        let provider = self.provider().await.ok()?;
        let mut url = provider.end_session.clone()?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", settings.client_id.as_str())
                .append_pair("post_logout_redirect_uri", after);
            if let Some(hint) = id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
        }
        Some(url)
    }
}

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

/// The user a validated token names. `verified_email` is the address only
/// when the provider verified it: an unverified one could be anyone's (self
/// sign-up, or a user editing their own attribute), so it is not used.
fn user(
    settings: &AuthSettings,
    issuer: &str,
    subject: &str,
    name: Option<&str>,
    verified_email: Option<&str>,
    other_claims: &HashMap<String, serde_json::Value>,
) -> Result<User, AuthError> {
    let groups = match other_claims.get(&settings.groups_claim) {
        None => Vec::new(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect(),
        // Some providers send a single group as a string.
        Some(serde_json::Value::String(group)) => vec![group.clone()],
        Some(_) => {
            return Err(AuthError::Token(format!(
                "claim {} is not a list",
                settings.groups_claim
            )));
        }
    };
    let email = verified_email.map(str::to_owned);
    Ok(User {
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        name: name
            .map(str::to_owned)
            .or_else(|| email.clone())
            .unwrap_or_else(|| subject.to_owned()),
        is_admin: settings
            .admin_group
            .as_ref()
            .is_some_and(|admin| groups.contains(admin)),
        email,
        groups,
    })
}

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
