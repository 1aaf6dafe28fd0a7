//! The OpenID Connect client: discovery (and the provider's keys, fetched
//! again for an unknown key), the authorization request (PKCE S256,
//! `state`, `nonce`), the code exchange, and the provider's sign-out URL.
//! The tokens themselves are checked in `id_token` and `bearer_token`.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use app::auth::User;
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, CsrfToken, EmptyAdditionalProviderMetadata,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenFields,
    IssuerUrl, LogoutProviderMetadata, Nonce, PkceCodeChallenge, PkceCodeVerifier,
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
    AuthError, AuthSettings, bearer_token::verify_bearer_token, id_token::verify_id_token,
    verified_tokens::VerifiedTokens,
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
