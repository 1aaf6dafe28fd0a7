//! Sign-in against the real local OpenID provider (end2end/oidc/provider.mjs,
//! run with node), with Sepal serving on a real port and a cookie-keeping
//! HTTP client playing the browser. Each rule of the design's auth section
//! has a test here that fails without it. The few tests that need no
//! sign-in at the provider use `TestApp`'s in-process issuer instead.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;

use app::store::Store;
use common::{
    browser::{Browser, location},
    free_port,
    test_app::TestApp,
};
use reqwest::{StatusCode, header};
use time::OffsetDateTime;

fn with_query(url: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn query(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap()
        .1
        .into_owned()
}

fn refused(url: &str, status: StatusCode, reason: &str) {
    assert!(
        url.ends_with(&format!("/sign-in-failed?reason={reason}")),
        "{url}"
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it_everywhere() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    let callback = browser.authorize(&sepal, "alice").await;
    let before = browser
        .session_id(&sepal)
        .expect("the attempt lives in a session");

    let response = browser.client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response, &sepal.url),
        format!("{}/account", sepal.url)
    );
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let after = browser.session_id(&sepal).unwrap();
    assert_ne!(before, after, "the session id must change at sign-in");
    assert!(after.len() >= 22, "128 random bits, base64: {after}");
    assert_eq!(sepal.store.load_session(&before).await.unwrap(), None);

    let (_, status, page) = browser.finish(format!("{}/account", sepal.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Alice Liddell"), "{page}");
    assert!(page.contains(r#"action="/auth/logout""#), "{page}");
    assert!(page.contains("<dd>no</dd>"), "alice is no admin: {page}");

    let response = browser.post_logout(&sepal, Some(&sepal.url)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = location(&response, &sepal.url);
    assert!(
        target.starts_with(&format!("{}/session/end?", sepal.issuer())),
        "{target}"
    );
    assert_eq!(
        query(&target, "post_logout_redirect_uri"),
        format!("{}/", sepal.url)
    );
    assert!(!query(&target, "id_token_hint").is_empty());
    assert!(!browser.signed_in(&sepal).await);
    assert_eq!(sepal.store.load_session(&after).await.unwrap(), None);

    // The old cookie, replayed by hand, is worth nothing.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/account", sepal.url))
        .header(header::COOKIE, format!("sepal={after}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn members_of_the_admin_group_are_administrators() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let (url, status, page) = Browser::new().sign_in(&sepal, "ada").await;
    assert!(url.ends_with("/account"), "{url}");
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Ada Lovelace") && page.contains("<dd>yes</dd>"),
        "{page}"
    );
}

#[tokio::test]
async fn users_outside_the_allowed_groups_get_the_no_access_page_and_no_session() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    let (url, status, page) = browser.sign_in(&sepal, "mallory").await;
    assert!(url.ends_with("/no-access"), "{url}");
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("You do not have access to Sepal"), "{page}");
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn allowed_email_domains_are_enforced() {
    let sepal = TestApp::new()
        .with_real_provider()
        .config(|c| c.allowed_email_domains = vec!["elsewhere.test".into()])
        .start()
        .await;
    // Alice is in sepal-users but her address is @example.org.
    let (url, _, _) = Browser::new().sign_in(&sepal, "alice").await;
    assert!(url.ends_with("/no-access"), "{url}");
}

#[tokio::test]
async fn a_tampered_state_is_refused() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    let callback = browser.authorize(&sepal, "alice").await;
    let (url, status, page) = browser
        .finish(with_query(&callback, "state", "forged-state"))
        .await;
    refused(&url, status, "no_attempt");
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn a_callback_works_once_and_only_in_its_browser() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    let callback = browser.authorize(&sepal, "alice").await;

    // Another browser holding the same URL (leaked, or an attacker's) gets nothing.
    let other = Browser::new();
    let (url, status, _) = other.finish(callback.clone()).await;
    refused(&url, status, "no_attempt");
    assert!(!other.signed_in(&sepal).await);

    let (url, status, _) = browser.finish(callback.clone()).await;
    assert!(url.ends_with("/account"), "{url}");
    assert_eq!(status, StatusCode::OK);
    // Replayed in the same browser: the attempt was used up.
    browser.post_logout(&sepal, Some(&sepal.url)).await;
    let (url, status, _) = browser.finish(callback).await;
    refused(&url, status, "no_attempt");
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_token_exchange() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    let first = browser.authorize(&sepal, "alice").await;
    let (url, _, _) = browser.finish(first.clone()).await;
    assert!(url.ends_with("/account"), "{url}");
    browser.post_logout(&sepal, Some(&sepal.url)).await;

    // A new attempt in the same browser, answered with the old, spent code.
    let second = browser.authorize(&sepal, "alice").await;
    let replayed = with_query(&second, "code", &query(&first, "code"));
    let (url, status, _) = browser.finish(replayed).await;
    refused(&url, status, "token");
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn a_callback_without_an_attempt_is_refused() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    let (url, status, _) = browser
        .finish(format!(
            "{}/auth/callback?code=made-up&state=made-up",
            sepal.url
        ))
        .await;
    refused(&url, status, "no_attempt");
    let (url, status, _) = browser.finish(format!("{}/auth/callback", sepal.url)).await;
    refused(&url, status, "no_attempt");
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn return_to_must_be_a_path_on_this_site() {
    let sepal = TestApp::new().with_real_provider().start().await;
    for target in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "evil.example",
        "/ok\nSet-Cookie: x=1",
    ] {
        let browser = Browser::new();
        let url = with_query(
            &format!("{}/auth/login?return_to=x", sepal.url),
            "return_to",
            target,
        );
        let response = browser.client.get(&url).send().await.unwrap();
        assert_eq!(
            location(&response, &sepal.url),
            format!("{}/sign-in-failed?reason=return_to", sepal.url),
            "{target}"
        );
        assert_eq!(browser.session_id(&sepal), None, "no session for {target}");
    }
    // A path is fine, and the browser comes back to it.
    let browser = Browser::new();
    let start = format!("{}/auth/login?return_to=%2Faccount%3Ftab%3D1", sepal.url);
    let response = browser.client.get(&start).send().await.unwrap();
    assert!(location(&response, &sepal.url).starts_with(sepal.issuer()));
}

#[tokio::test]
async fn an_idle_session_expires() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    browser.sign_in(&sepal, "alice").await;
    let id = browser.session_id(&sepal).unwrap();
    // The session's idle deadline passes.
    let mut session = sepal.store.load_session(&id).await.unwrap().unwrap();
    session.expires_at = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    sepal.store.save_session(&session).await.unwrap();
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_even_when_active() {
    let sepal = TestApp::new()
        .with_real_provider()
        .config(|c| c.session_max_hours = 12)
        .start()
        .await;
    let browser = Browser::new();
    browser.sign_in(&sepal, "alice").await;
    assert!(browser.signed_in(&sepal).await);
    let id = browser.session_id(&sepal).unwrap();
    let mut session = sepal.store.load_session(&id).await.unwrap().unwrap();
    let mut data: serde_json::Value = serde_json::from_str(&session.data).unwrap();
    let thirteen_hours_ago = OffsetDateTime::now_utc().unix_timestamp() - 13 * 3600;
    data["signed_in_at"] = thirteen_hours_ago.into();
    session.data = data.to_string();
    sepal.store.save_session(&session).await.unwrap();
    assert!(!browser.signed_in(&sepal).await);
    assert_eq!(sepal.store.load_session(&id).await.unwrap(), None);
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_prefixed_and_hsts_is_sent() {
    let port = free_port();
    let https = format!("https://127.0.0.1:{port}");
    let sepal = TestApp::new().public_url(&https).start().await;
    let response = Browser::new()
        .client
        .get(format!("{}/auth/login", sepal.url))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-sepal="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let hsts = response.headers()[header::STRICT_TRANSPORT_SECURITY]
        .to_str()
        .unwrap();
    assert!(hsts.contains("max-age="), "{hsts}");
}

#[tokio::test]
async fn state_changes_from_other_origins_or_by_get_are_refused() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    browser.sign_in(&sepal, "alice").await;

    for origin in [Some("http://evil.example"), Some("null"), None] {
        let response = browser.post_logout(&sepal, origin).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    let response = browser
        .client
        .post(format!("{}/auth/logout", sepal.url))
        .header(header::ORIGIN, &sepal.url)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Server functions too.
    let response = browser
        .client
        .post(format!("{}/fn/status", sepal.url))
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Signing out is never a GET.
    let response = browser
        .client
        .get(format!("{}/auth/logout", sepal.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(browser.signed_in(&sepal).await, "still signed in");

    // From Sepal's own page it works.
    let response = browser.post_logout(&sepal, Some(&sepal.url)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_csp_nonce_their_scripts_use() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let response = Browser::new().client.get(&sepal.url).send().await.unwrap();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(nonce.len() >= 22, "{csp}");
    assert!(html.contains(&format!(r#"nonce="{nonce}""#)), "{html}");
    for directive in [
        "frame-ancestors 'none'",
        "object-src 'none'",
        "default-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(),
        "plain http"
    );

    // Another response, another nonce.
    let again = Browser::new().client.get(&sepal.url).send().await.unwrap();
    assert!(
        !again.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains(nonce)
    );
}

#[tokio::test]
async fn protected_pages_send_signed_out_browsers_to_sign_in_and_back() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    assert!(!browser.signed_in(&sepal).await);
    // The start page is public and offers to sign in.
    let (_, status, page) = browser.finish(sepal.url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"href="/auth/login""#), "{page}");
    // Signing in from /account comes back to /account.
    let (url, _, _) = browser.sign_in(&sepal, "bob").await;
    assert_eq!(url, format!("{}/account", sepal.url));
}

#[tokio::test]
async fn activity_moves_the_idle_deadline() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    browser.sign_in(&sepal, "alice").await;
    let id = browser.session_id(&sepal).unwrap();
    let deadline = |store: Arc<dyn Store>, id: String| async move {
        store.load_session(&id).await.unwrap().unwrap().expires_at
    };
    let first = deadline(sepal.store.clone(), id.clone()).await;
    // Deadlines are kept to the second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(browser.signed_in(&sepal).await);
    let second = deadline(sepal.store.clone(), id).await;
    assert!(second > first, "{first} then {second}");
}

#[tokio::test]
async fn sessions_outlive_a_restart_of_sepal() {
    let sepal = TestApp::new().with_real_provider().start().await;
    let browser = Browser::new();
    browser.sign_in(&sepal, "alice").await;
    // Another Sepal on the same database, as after a restart or on a second
    // instance: the browser's cookie (per host, not per port) still works.
    let again = sepal.serve_again().await;
    let (_, status, page) = browser.finish(format!("{again}/account")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Alice Liddell"), "{page}");
}

#[tokio::test]
async fn a_rotated_provider_key_is_fetched_again_but_not_at_every_request() {
    let mut sepal = TestApp::new().with_real_provider().start().await;
    let (url, _, _) = Browser::new().sign_in(&sepal, "alice").await;
    assert!(url.ends_with("/account"), "{url}");

    sepal.rotate_keys();
    // Keys were fetched moments ago: an unknown key id does not fetch them
    // again yet (a flood of forged tokens cannot make Sepal hammer the provider).
    let (url, status, _) = Browser::new().sign_in(&sepal, "bob").await;
    refused(&url, status, "token");
    tokio::time::sleep(server::auth::JWKS_REFRESH_INTERVAL).await;
    let (url, status, _) = Browser::new().sign_in(&sepal, "bob").await;
    assert!(url.ends_with("/account"), "{url}");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn cognito_sign_out_is_used_when_configured_and_the_csp_allows_it() {
    let logout = "https://sepal.auth.eu-west-1.amazoncognito.com/logout";
    let sepal = TestApp::new()
        .with_real_provider()
        .config(|c| c.cognito_logout_url = Some(logout.parse().unwrap()))
        .start()
        .await;
    let browser = Browser::new();
    browser.sign_in(&sepal, "alice").await;
    let page = browser.client.get(&sepal.url).send().await.unwrap();
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("https://sepal.auth.eu-west-1.amazoncognito.com"),
        "the sign-out redirect must be an allowed form target: {csp}"
    );
    let response = browser.post_logout(&sepal, Some(&sepal.url)).await;
    let target = location(&response, &sepal.url);
    assert!(target.starts_with(&format!("{logout}?")), "{target}");
    assert_eq!(query(&target, "client_id"), "sepal");
    assert_eq!(query(&target, "logout_uri"), format!("{}/", sepal.url));
    assert!(!browser.signed_in(&sepal).await);
}

#[tokio::test]
async fn signed_in_pages_are_not_cached() {
    let sepal = TestApp::new().start().await;
    let browser = sepal.signed_in_browser("alice").await;
    let response = browser
        .client
        .get(format!("{}/account", sepal.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn the_readme_token_script_gets_a_token_the_api_accepts() {
    // `scripts/api-token.sh` runs the code flow with PKCE in curl.
    let sepal = TestApp::new().with_real_provider().start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/api-token.sh");
    let output = tokio::process::Command::new("bash")
        .arg(script)
        .arg("alice")
        .env("SEPAL_PUBLIC_URL", &sepal.url)
        .env("SEPAL_OIDC_ISSUER", sepal.issuer())
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/model", sepal.url))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
