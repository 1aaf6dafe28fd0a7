//! Sign-in with OpenID Connect (code flow with PKCE), server-side sessions
//! in the application's store, and who may use Sepal.
//!
//! Routes: `GET /auth/login?return_to=/path`, `GET /auth/callback`,
//! `POST /auth/logout`. Pages under [`PROTECTED`] send signed-out browsers
//! to sign in and back.

mod bearer_token;
mod claims;
mod id_token;
mod oidc;
mod sessions;
mod verified_tokens;

use std::sync::Arc;

use app::{auth::User, store::Store};
use axum::{
    Router,
    extract::{Query, Request, State},
    http::Uri,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
use tower_sessions::{
    Expiry, Session, SessionManagerLayer,
    cookie::{SameSite, time::Duration as CookieDuration},
};
use url::Url;

pub use bearer_token::verify_bearer_token;
pub use id_token::verify_id_token;
use oidc::Attempt;
pub use oidc::{JWKS_REFRESH_INTERVAL, Oidc, SepalIdToken};
pub use sessions::StoreSessions;
pub use verified_tokens::{VerifiedToken, VerifiedTokens};

/// Pages only signed-in, allowed users may see (with everything below them).
pub const PROTECTED: &[&str] = &["/account", "/predict", "/history"];

/// Session keys: a signed-in session holds the [`User`] and the Unix time
/// of the sign-in (public for the tests, which open sessions directly).
pub const USER: &str = "user";
pub const SIGNED_IN_AT: &str = "signed_in_at";
const ID_TOKEN: &str = "id_token";
const ATTEMPTS: &str = "sign_in_attempts";
/// Sign-in attempts in progress per browser (several tabs), and their lifetime.
const MAX_ATTEMPTS: usize = 4;
const ATTEMPT_LIFETIME_SECS: i64 = 10 * 60;

/// Everything sign-in needs to know, from the configuration.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub public_url: Url,
    pub issuer: openidconnect::IssuerUrl,
    pub client_id: openidconnect::ClientId,
    pub client_secret: openidconnect::ClientSecret,
    pub redirect_url: openidconnect::RedirectUrl,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub allowed_groups: Vec<String>,
    pub allowed_email_domains: Vec<String>,
    pub admin_group: Option<String>,
    pub cognito_logout_url: Option<Url>,
    /// The `aud` an API bearer token must carry.
    pub api_audience: String,
    pub idle_timeout: std::time::Duration,
    pub absolute_timeout: std::time::Duration,
}

impl AuthSettings {
    pub fn from_config(config: &crate::Config) -> Result<Self, String> {
        let list = |items: &[String]| -> Vec<String> {
            items
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let callback = config
            .public_url
            .join("auth/callback")
            .map_err(|err| format!("SEPAL_PUBLIC_URL cannot be a base URL: {err}"))?;
        // The issuer is compared as text with discovery's and the tokens'
        // `iss`: keep it exactly as written (some end in `/`, most do not).
        let issuer = openidconnect::IssuerUrl::new(config.oidc_issuer.clone())
            .map_err(|err| format!("SEPAL_OIDC_ISSUER: {err}"))?;
        Ok(AuthSettings {
            public_url: config.public_url.clone(),
            issuer,
            client_id: openidconnect::ClientId::new(config.oidc_client_id.clone()),
            client_secret: openidconnect::ClientSecret::new(config.oidc_client_secret.clone()),
            redirect_url: openidconnect::RedirectUrl::from_url(callback),
            scopes: config
                .oidc_scopes
                .split_whitespace()
                .filter(|s| *s != "openid") // always asked for
                .map(str::to_owned)
                .collect(),
            groups_claim: config.oidc_groups_claim.clone(),
            allowed_groups: list(&config.allowed_groups),
            allowed_email_domains: list(&config.allowed_email_domains),
            admin_group: Some(config.admin_group.trim().to_owned()).filter(|g| !g.is_empty()),
            cognito_logout_url: config.cognito_logout_url.clone(),
            api_audience: config
                .api_audience
                .clone()
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| config.oidc_client_id.clone()),
            idle_timeout: std::time::Duration::from_secs(config.session_idle_minutes * 60),
            absolute_timeout: std::time::Duration::from_secs(config.session_max_hours * 3600),
        })
    }

    /// Whether this user may use Sepal: in an allowed group, and with a
    /// verified e-mail address in an allowed domain (an empty list is no rule).
    pub fn allows(&self, user: &User) -> bool {
        let by_group = self.allowed_groups.is_empty()
            || user.groups.iter().any(|g| self.allowed_groups.contains(g));
        let by_domain = self.allowed_email_domains.is_empty()
            || user.email.as_deref().is_some_and(|email| {
                email.rsplit_once('@').is_some_and(|(_, domain)| {
                    self.allowed_email_domains
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(domain))
                })
            });
        by_group && by_domain
    }

    /// Cookies are `Secure` and `__Host-` prefixed when Sepal is served over HTTPS.
    pub fn https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// Why a sign-in did not complete. Each is shown as a page that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("return_to must be a path on this site")]
    UnsafeReturnTo,
    #[error("no sign-in attempt in this browser matches")]
    NoAttempt,
    #[error("the sign-in attempt expired")]
    Expired,
    #[error("the provider answered with an error: {0}")]
    Provider(String),
    #[error("the ID token was refused: {0}")]
    Token(String),
    #[error("the ID token is signed with a key the provider does not list")]
    UnknownKey,
    #[error("the provider is unreachable: {0}")]
    Unavailable(String),
    #[error("the session store failed: {0}")]
    Session(#[from] tower_sessions::session::Error),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self, "sign-in refused");
        let reason = match self {
            AuthError::UnsafeReturnTo => "return_to",
            AuthError::NoAttempt => "no_attempt",
            AuthError::Expired => "expired",
            AuthError::Provider(_) => "provider",
            AuthError::Token(_) | AuthError::UnknownKey => "token",
            AuthError::Unavailable(_) | AuthError::Session(_) => "unavailable",
        };
        Redirect::to(&format!("/sign-in-failed?reason={reason}")).into_response()
    }
}

/// The `/auth` routes.
pub fn routes<S: Clone + Send + Sync + 'static>(oidc: Arc<Oidc>) -> Router<S> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .with_state(oidc)
}

/// Server-side sessions in the store: an opaque 128-bit id in an HttpOnly,
/// SameSite=Lax cookie (`__Host-`, Secure over HTTPS), with idle expiry
/// (a signed-in user's session is saved on each request: [`current_user`]).
pub fn session_layer(
    settings: &AuthSettings,
    store: Arc<dyn Store>,
) -> SessionManagerLayer<StoreSessions> {
    let idle = CookieDuration::try_from(settings.idle_timeout).unwrap_or(CookieDuration::MINUTE);
    SessionManagerLayer::new(StoreSessions::new(store))
        .with_name(if settings.https() {
            "__Host-sepal"
        } else {
            "sepal"
        })
        .with_secure(settings.https())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

/// Starts a sign-in and sends the browser to the provider.
async fn login(
    State(oidc): State<Arc<Oidc>>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AuthError> {
    let return_to = safe_return_to(query.return_to.as_deref().unwrap_or("/"))?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (url, attempt) = oidc.start(return_to.to_owned(), now).await?;
    let mut attempts: Vec<Attempt> = session.get(ATTEMPTS).await?.unwrap_or_default();
    attempts.retain(|a| now - a.started_at < ATTEMPT_LIFETIME_SECS);
    if attempts.len() >= MAX_ATTEMPTS {
        attempts.remove(0);
    }
    attempts.push(attempt);
    session.insert(ATTEMPTS, attempts).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// A path on this site, and nothing that a browser could read as another
/// site (`//host`, `/\host`, `https://…`).
fn safe_return_to(path: &str) -> Result<&str, AuthError> {
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control())
        && path.parse::<Uri>().is_ok_and(|uri| uri.host().is_none());
    if safe {
        Ok(path)
    } else {
        Err(AuthError::UnsafeReturnTo)
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code, or an error.
async fn callback(
    State(oidc): State<Arc<Oidc>>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AuthError> {
    let Some(state) = query.state else {
        return Err(AuthError::NoAttempt);
    };
    // The attempt is used up whatever happens next: a replay finds nothing.
    let mut attempts: Vec<Attempt> = session.get(ATTEMPTS).await?.unwrap_or_default();
    let attempt = attempts
        .iter()
        .position(|a| bool::from(a.state.as_bytes().ct_eq(state.as_bytes())))
        .map(|i| attempts.remove(i))
        .ok_or(AuthError::NoAttempt)?;
    session.insert(ATTEMPTS, &attempts).await?;

    if let Some(error) = query.error {
        return Err(AuthError::Provider(error));
    }
    if OffsetDateTime::now_utc().unix_timestamp() - attempt.started_at >= ATTEMPT_LIFETIME_SECS {
        return Err(AuthError::Expired);
    }
    let code = query
        .code
        .ok_or_else(|| AuthError::Provider("no code".into()))?;
    let (user, id_token) = oidc.finish(code, &attempt).await?;

    if !oidc.settings().allows(&user) {
        tracing::warn!(subject = %user.subject, groups = ?user.groups, email = ?user.email, "signed in at the provider but not allowed");
        session.flush().await?;
        return Ok(Redirect::to("/no-access").into_response());
    }
    // A new id for the signed-in session: an id seen before sign-in is worthless.
    session.cycle_id().await?;
    session.remove_value(ATTEMPTS).await?;
    session
        .insert(SIGNED_IN_AT, OffsetDateTime::now_utc().unix_timestamp())
        .await?;
    session.insert(ID_TOKEN, id_token).await?;
    tracing::info!(subject = %user.subject, "signed in");
    session.insert(USER, user).await?;
    Ok(Redirect::to(&attempt.return_to).into_response())
}

/// Ends the session here, then at the provider when it has a sign-out endpoint.
async fn logout(State(oidc): State<Arc<Oidc>>, session: Session) -> Result<Response, AuthError> {
    let id_token: Option<String> = session.get(ID_TOKEN).await?;
    session.flush().await?;
    let target = oidc
        .logout_url(id_token.as_deref())
        .await
        .map_or_else(|| "/".to_owned(), |url| url.to_string());
    Ok(Redirect::to(&target).into_response())
}

/// Puts the signed-in [`User`] (if any) into the request for the pages, and
/// ends sessions past their absolute lifetime.
pub async fn current_user(
    State(settings): State<Arc<AuthSettings>>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let signed_in = match signed_in_user(&settings, &session).await {
        Ok(Some(user)) => {
            request.extensions_mut().insert(user);
            true
        }
        Ok(None) => false,
        // Treated as signed out: protected pages then go to sign-in, which
        // explains the failure, instead of every page failing (or looping).
        Err(err) => {
            tracing::error!(%err, "cannot read the session");
            false
        }
    };
    let mut response = next.run(request).await;
    if signed_in {
        // Pages for a signed-in user show their data: no shared or stored copies.
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    response
}

async fn signed_in_user(
    settings: &AuthSettings,
    session: &Session,
) -> Result<Option<User>, tower_sessions::session::Error> {
    let Some(user) = session.get::<User>(USER).await? else {
        return Ok(None);
    };
    let signed_in_at: i64 = session.get(SIGNED_IN_AT).await?.unwrap_or(0);
    let age = OffsetDateTime::now_utc().unix_timestamp() - signed_in_at;
    if u64::try_from(age).map_or(true, |age| age > settings.absolute_timeout.as_secs()) {
        tracing::info!(subject = %user.subject, "session reached its absolute lifetime");
        session.flush().await?;
        return Ok(None);
    }
    // Marks the session changed, so it is saved with a new idle deadline.
    session.set_expiry(session.expiry());
    Ok(Some(user))
}

/// Sends signed-out browsers asking for a protected page to sign in first.
pub async fn require_sign_in(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let protected = PROTECTED.iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    });
    if protected && request.extensions().get::<User>().is_none() {
        let back = request
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &back)
            .finish();
        return Redirect::to(&format!("/auth/login?{query}")).into_response();
    }
    next.run(request).await
}
