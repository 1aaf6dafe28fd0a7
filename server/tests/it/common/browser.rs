//! A cookie-keeping HTTP client playing the browser, and the sign-in at
//! the local OpenID provider as a person makes it.

use std::sync::Arc;

use reqwest::{StatusCode, cookie::CookieStore as _, header};

use super::test_app::Sepal;

/// A browser: keeps cookies, follows redirects only when told to.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // A request that hangs fails its test, naming the URL, instead
            // of holding up the whole run.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        Browser { client, jar }
    }

    /// Follows redirects from `url` until a page answers, or until the next
    /// hop would start with `stop_at`; returns that URL and the response.
    pub async fn follow(
        &self,
        mut url: String,
        stop_at: Option<&str>,
    ) -> (String, reqwest::Response) {
        for _ in 0..20 {
            let response = self.client.get(&url).send().await.unwrap();
            if !response.status().is_redirection() {
                return (url, response);
            }
            let next = location(&response, &url);
            if stop_at.is_some_and(|stop| next.starts_with(stop)) {
                return (next, response);
            }
            url = next;
        }
        panic!("too many redirects from {url}");
    }

    /// The value of Sepal's session cookie, if the browser has one.
    pub fn session_id(&self, sepal: &Sepal) -> Option<String> {
        let cookies = self.jar.cookies(&sepal.url.parse().unwrap())?;
        cookies
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix("sepal="))
            .map(str::to_owned)
    }

    /// Signs in at the provider as `user` and returns the callback URL the
    /// provider sends the browser to, without following it.
    pub async fn authorize(&self, sepal: &Sepal, user: &str) -> String {
        let start = format!("{}/auth/login?return_to=/account", sepal.url);
        let callback = format!("{}/auth/callback", sepal.url);
        let (page, response) = self.follow(start, Some(&callback)).await;
        // Still signed in at the provider: it answers at once.
        if page.starts_with(&callback) {
            return page;
        }
        // The provider's login page.
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert!(page.contains("/interaction/"), "{page}");
        let response = self
            .client
            .post(format!("{page}/login"))
            .form(&[("login", user), ("password", "sepal-dev")])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let next = location(&response, &page);
        let (url, _) = self.follow(next, Some(&callback)).await;
        assert!(url.starts_with(&callback), "ended at {url}");
        url
    }

    /// Follows a callback URL to the page it ends on: (url, status, body).
    pub async fn finish(&self, callback: String) -> (String, StatusCode, String) {
        let (url, response) = self.follow(callback, None).await;
        let status = response.status();
        (url, status, response.text().await.unwrap())
    }

    pub async fn sign_in(&self, sepal: &Sepal, user: &str) -> (String, StatusCode, String) {
        let callback = self.authorize(sepal, user).await;
        self.finish(callback).await
    }

    /// Whether `/account` shows the account (signed in) or sends to sign-in.
    pub async fn signed_in(&self, sepal: &Sepal) -> bool {
        let response = self
            .client
            .get(format!("{}/account", sepal.url))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER => {
                assert_eq!(
                    location(&response, &sepal.url),
                    format!("{}/auth/login?return_to=%2Faccount", sepal.url)
                );
                false
            }
            other => panic!("/account answered {other}"),
        }
    }

    pub async fn post_logout(&self, sepal: &Sepal, origin: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(format!("{}/auth/logout", sepal.url));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send().await.unwrap()
    }
}

pub fn location(response: &reqwest::Response, base: &str) -> String {
    let target = response.headers()[header::LOCATION].to_str().unwrap();
    reqwest::Url::parse(base)
        .unwrap()
        .join(target)
        .unwrap()
        .to_string()
}
