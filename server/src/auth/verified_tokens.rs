//! API bearer tokens already verified, so that a script sending one token
//! with every request has its signature checked once, not at every request
//! (as an API gateway caches its authorizer's answers).

use app::auth::User;

/// Leeway on `exp` and `nbf` for clock skew between Sepal and the provider;
/// the same for a cached token as for a full check.
pub const LEEWAY_SECS: i64 = 60;
/// Tokens remembered at most; the least used go first. A token is about
/// 1 KB, so the cache stays within a few MB.
const CAPACITY: usize = 4096;

/// A bearer token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub user: User,
    /// Its `exp`, Unix seconds.
    pub expires_at: i64,
}

/// Tokens by their full text. Emptied when the provider's keys are fetched
/// again, so a token signed by a key the provider dropped is refused then,
/// as it would be without the cache.
pub struct VerifiedTokens(quick_cache::sync::Cache<String, VerifiedToken>);

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens(quick_cache::sync::Cache::new(CAPACITY))
    }
}

impl VerifiedTokens {
    /// The user of `token` if it was verified before and has not expired
    /// at `now` (Unix seconds).
    pub fn user(&self, token: &str, now: i64) -> Option<User> {
        self.0
            .get(token)
            .filter(|verified| now <= verified.expires_at + LEEWAY_SECS)
            .map(|verified| verified.user)
    }

    pub fn keep(&self, token: &str, verified: VerifiedToken) {
        self.0.insert(token.to_owned(), verified);
    }

    pub fn clear(&self) {
        self.0.clear();
    }
}
