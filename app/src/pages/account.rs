use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::User;

/// `/account`: who you are signed in as, as your provider told Sepal.
/// The server only lets signed-in users reach it.
#[component]
pub fn AccountPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let user = crate::auth::current_user();
    #[cfg(not(feature = "ssr"))]
    let user: Option<User> = None;

    view! {
        <Title text="Your account" />
        <section class="card">
            <h1>"Your account"</h1>
            {match user {
                Some(user) => account_details(user).into_any(),
                None => view! {
                    <p><a href="/auth/login?return_to=/account">"Sign in"</a>" to see your account."</p>
                }.into_any(),
            }}
        </section>
    }
}

fn account_details(user: User) -> impl IntoView {
    let groups = if user.groups.is_empty() {
        "none".to_owned()
    } else {
        user.groups.join(", ")
    };
    view! {
        <dl class="facts">
            <dt>"Name"</dt><dd>{user.name.clone()}</dd>
            <dt>"E-mail"</dt><dd>{user.email.clone().unwrap_or_else(|| "not shared by your provider".into())}</dd>
            <dt>"Groups"</dt><dd>{groups}</dd>
            <dt>"Administrator"</dt><dd>{if user.is_admin { "yes" } else { "no" }}</dd>
            <dt>"Signed in with"</dt><dd><code>{user.issuer.clone()}</code></dd>
            <dt>"Your id there"</dt><dd><code>{user.subject.clone()}</code></dd>
        </dl>
    }
}
