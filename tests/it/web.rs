//! The back office's frame over real HTTP: health, sign-in and sign-out, sessions, CSRF,
//! security headers, on both SQL dialects.

use crate::support::Dialect;
use crate::support::web::{TestWeb, web_tests};

async fn healthz_and_headers(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let client = web.client();
    let health = client.get(web.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let page = client.get(web.url("/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let htmx = client
        .get(web.url("/static/htmx.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(htmx.status(), 200);
    assert!(htmx.text().await.unwrap().contains("htmx"));
}

async fn sign_in_session_and_sign_out(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web.employee("shop-a", "alice@shop-a.example", true).await;

    let anonymous = web.client();
    let redirect = anonymous.get(web.url("/account")).send().await.unwrap();
    assert_eq!(redirect.status(), 303);
    assert_eq!(redirect.headers()["location"], "/sign-in?next=/account");

    let refused = anonymous
        .post(web.url("/sign-in"))
        .form(&[
            ("email", "alice@shop-a.example"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("set-cookie").is_none());

    let signed = anonymous
        .post(web.url("/sign-in"))
        .form(&[
            ("email", alice.employee.email.as_str()),
            ("password", alice.password.as_str()),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], "/account");
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    let page = anonymous.get(web.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("alice@shop-a.example"));
    let csrf = crate::support::web::csrf_of(&page).unwrap();
    assert!(
        !page.contains(token),
        "the session token never shows in a page"
    );

    // Sign-out is a state change: refused without the token, or with another one.
    let no_token = anonymous.post(web.url("/sign-out")).send().await.unwrap();
    assert_eq!(no_token.status(), 403);
    let wrong = anonymous
        .post(web.url("/sign-out"))
        .form(&[("csrf", "0".repeat(csrf.len()))])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let cross_site = anonymous
        .post(web.url("/sign-out"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(
        anonymous
            .get(web.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "refused requests changed nothing"
    );

    let out = anonymous
        .post(web.url("/sign-out"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    // The old cookie, replayed by hand, opens nothing any more.
    let replayed = web
        .client()
        .get(web.url("/account"))
        .header("cookie", format!("guichet_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 303);
}

async fn sign_in_from_another_site_is_refused(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let bob = web.employee("shop-b", "bob@shop-b.example", false).await;
    let response = web
        .client()
        .post(web.url("/sign-in"))
        .header("origin", "http://evil.example")
        .form(&[
            ("email", bob.employee.email.as_str()),
            ("password", bob.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
}

web_tests!(healthz_and_headers => healthz_and_headers_sqlite, healthz_and_headers_postgres);
web_tests!(sign_in_session_and_sign_out => sign_in_session_and_sign_out_sqlite, sign_in_session_and_sign_out_postgres);
web_tests!(sign_in_from_another_site_is_refused => cross_site_sign_in_sqlite, cross_site_sign_in_postgres);

/// `guichet demo` is the tour: it prints where the back office is and how to sign in, serves
/// it until interrupted, and the printed sign-in works.
#[tokio::test]
async fn the_demo_serves_the_back_office_it_describes() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = crate::support::cli::guichet(dir.path(), &["demo", "--listen", &listen])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut credentials) = (None, None);
    while url.is_none() {
        let line = lines.next().expect("the demo prints its URL").unwrap();
        if let Some(rest) = line.strip_prefix("Back-office sign-in: ") {
            let (email, rest) = rest.split_once(" / password ").unwrap();
            let password = rest.split_whitespace().next().unwrap();
            credentials = Some((email.to_string(), password.to_string()));
        }
        if let Some(rest) = line.strip_prefix("Back office: ") {
            url = Some(rest.trim_end_matches('/').to_string());
        }
    }
    let (url, (email, password)) = (url.unwrap(), credentials.expect("sign-in printed"));
    assert_eq!(url, format!("http://{listen}"));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = client
        .post(format!("{url}/sign-in"))
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let account = client.get(format!("{url}/account")).send().await.unwrap();
    assert_eq!(account.status(), 200);
    assert!(account.text().await.unwrap().contains(&email));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the demo stops cleanly on Ctrl-C: {status}"
    );
}
