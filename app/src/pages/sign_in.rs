use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Sets this page's HTTP status.
fn status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        server_fn::http_export::StatusCode::from_u16(_code),
    ) {
        response.set_status(code);
    }
}

/// `/no-access`: signed in at the provider, but not allowed to use Sepal.
#[component]
pub fn NoAccessPage() -> impl IntoView {
    status(403);
    view! {
        <Title text="No access" />
        <section class="card">
            <h1>"You do not have access to Sepal"</h1>
            <p>
                "Your sign-in worked, but your account is not in a group (or e-mail domain) "
                "that may use Sepal, so you have not been signed in here."
            </p>
            <p>"Ask your administrator to add you, then sign in again."</p>
            <p><a href="/">"Go to the start page"</a></p>
        </section>
    }
}

/// `/sign-in-failed?reason=…`: a sign-in that Sepal refused, and what to do.
#[component]
pub fn SignInFailedPage() -> impl IntoView {
    status(400);
    let reason = use_query_map().with_untracked(|q| q.get("reason").unwrap_or_default());
    let explanation = match reason.as_str() {
        "no_attempt" => {
            "This browser has no sign-in in progress that matches this answer from your provider: it was already used, or it was started in another browser."
        }
        "expired" => "The sign-in took too long. Sign-in attempts are valid for 10 minutes.",
        "provider" => "Your provider refused the sign-in or reported an error.",
        "token" => "Your provider's answer could not be verified, so it was not trusted.",
        "return_to" => {
            "The sign-in link asked to send you to another site afterwards, which Sepal does not do."
        }
        "unavailable" => {
            "Sepal could not reach your provider, or its own storage. Try again in a moment."
        }
        _ => "The sign-in could not be completed.",
    };
    view! {
        <Title text="Sign-in failed" />
        <section class="card">
            <h1>"Sign-in failed"</h1>
            <p>{explanation}</p>
            <p>"You are not signed in. "<a href="/auth/login">"Try again"</a>"."</p>
        </section>
    }
}
