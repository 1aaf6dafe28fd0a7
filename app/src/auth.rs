//! Who is signed in, as the pages see it. The server signs people in
//! (`server/src/auth`) and puts the [`User`] of each request into the
//! request's extensions; server-rendered components read it from there.

use serde::{Deserialize, Serialize};

/// A signed-in user, from their provider's validated ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The provider's issuer URL.
    pub issuer: String,
    /// The provider's stable id of the user.
    pub subject: String,
    /// A name to show: the `name` claim, else the e-mail address, else the subject.
    pub name: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub is_admin: bool,
}

impl User {
    /// The owner of this user's records: issuer and subject together, as a
    /// subject is only unique within its issuer.
    pub fn owner(&self) -> String {
        format!("{}|{}", self.issuer, self.subject)
    }
}

/// The nonce of this response's Content-Security-Policy; the server puts it
/// in each request's extensions and the shell hands it to Leptos, which puts
/// it on the scripts it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

/// The user of the request being rendered, if signed in.
#[cfg(feature = "ssr")]
pub fn current_user() -> Option<User> {
    request_extension::<User>()
}

#[cfg(feature = "ssr")]
pub(crate) fn request_extension<T: Clone + Send + Sync + 'static>() -> Option<T> {
    leptos::prelude::use_context::<leptos::server_fn::http_export::request::Parts>()
        .and_then(|parts| parts.extensions.get::<T>().cloned())
}
