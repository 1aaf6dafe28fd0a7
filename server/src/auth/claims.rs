//! The user a checked token names, from its claims: the same rules for ID
//! tokens and API bearer tokens.

use std::collections::HashMap;

use app::auth::User;

use super::{AuthError, AuthSettings};

/// The user a validated token names. `verified_email` is the address only
/// when the provider verified it: an unverified one could be anyone's (self
/// sign-up, or a user editing their own attribute), so it is not used.
pub(super) fn user(
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
