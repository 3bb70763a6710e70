//! Hostile HTML mail in a real Chromium, through the real server: every message of
//! `tests/data/hostile_html` is filed, then its HTML frame is opened embedded the way the
//! ticket page embeds it (`<iframe sandbox>` in a signed-in page) and on its own. Nothing may
//! run (no marker set, no navigation, no popup) and nothing may be fetched from outside: every
//! non-loopback request goes to a canary proxy that must stay silent once the pages have loaded.
//! Also: the frame's and the downloads' headers, cid images, "show images", and shop isolation.

use std::path::PathBuf;

use guichet::store::Store;
use serde_json::Value;

use crate::support::Dialect;
use crate::support::browser::{Browser, Canary};
use crate::support::web::{TestEmployee, TestWeb, web_tests};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostile_html");
    let mut samples: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    samples.sort();
    assert!(samples.len() >= 21, "the hostile corpus is incomplete");
    samples
}

/// Files `raw` in `shop_id`; returns (ticket number, message id).
async fn file(store: &Store, shop_id: i64, raw: Vec<u8>) -> (i64, i64) {
    let triager = guichet::triage::Triager::default();
    let incoming = guichet::intake::sync::prepare_message(raw, store.blobs(), &triager)
        .await
        .unwrap();
    let subject = incoming.parsed.subject.clone();
    store
        .file_batch(shop_id, None, None, None, &[incoming])
        .await
        .unwrap();
    let ticket = store
        .tickets(Some(shop_id))
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.subject == subject)
        .expect("the filed ticket");
    let (_, messages) = store.ticket(shop_id, ticket.number).await.unwrap();
    (ticket.number, messages[0].id)
}

/// Embeds `src` as the ticket page does, in the current (same-origin, signed-in) page, and
/// waits for the frame's `load` event.
async fn embed_frame(browser: &Browser, src: &str) {
    let script = format!(
        "document.querySelectorAll('iframe.probe').forEach(f => f.remove());\
         window.__frameLoaded = false;\
         const frame = document.createElement('iframe');\
         frame.className = 'probe'; frame.setAttribute('sandbox', 'allow-popups allow-popups-to-escape-sandbox');\
         frame.onload = () => {{ window.__frameLoaded = true; }};\
         frame.src = {src:?}; document.body.appendChild(frame); return true;"
    );
    browser.script(&script).await;
    let deadline = std::time::Instant::now() + crate::support::browser::PAGE_TIMEOUT;
    while browser.script("return window.__frameLoaded").await != Value::Bool(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "frame {src} never loaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// What a payload would have changed in the current document.
const MARKERS: &str = "return { pwned: typeof window.pwned, title: document.title, \
     href: location.href, scripts: document.scripts.length, \
     forms: document.forms.length, frames: window.frames.length }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_mail_runs_nothing_and_loads_nothing_in_chromium() {
    let web = TestWeb::start(Dialect::Sqlite).await;
    let who = web.employee("boutique", "agent@boutique.test", false).await;
    let store = &web.desk.store;
    let mut filed = Vec::new();
    for (name, raw) in corpus() {
        let (number, id) = file(store, who.shop.id, raw).await;
        filed.push((name, number, id));
    }
    let canary = Canary::start();
    let browser = Browser::start_with_canary(&canary).await;
    browser
        .sign_in(&web.base, &who.employee.email, &who.password)
        .await;
    let host_page = web.url("/account");
    let has_ticket_page = guichet::web::route_table()
        .iter()
        .any(|route| route.path == "/tickets/{number}");

    for (name, number, id) in &filed {
        let frame = format!("/tickets/{number}/messages/{id}/html");
        // Embedded, as on the ticket page.
        browser.goto(&host_page).await;
        let mut before = browser.script(MARKERS).await;
        embed_frame(&browser, &frame).await;
        // The probe frame itself is the one frame more.
        before["frames"] = Value::from(before["frames"].as_u64().unwrap_or(0) + 1);
        let inside = browser.in_frame(0, MARKERS).await;
        let after = browser.script(MARKERS).await;
        assert_eq!(after, before, "{name}: the embedding page changed");
        assert_eq!(inside["pwned"], "undefined", "{name}: {inside}");
        assert_ne!(inside["title"], "pwned", "{name}");
        assert_eq!(inside["scripts"], 0, "{name}: a script element survived");
        assert_eq!(inside["forms"], 0, "{name}: a form survived");
        assert_eq!(inside["frames"], 0, "{name}: a frame survived");
        assert!(
            inside["href"]
                .as_str()
                .unwrap_or_default()
                .ends_with(&frame),
            "{name}: the frame navigated to {}",
            inside["href"]
        );
        // On its own, at the top: its policy alone must hold.
        browser.goto(&web.url(&frame)).await;
        let alone = browser.script(MARKERS).await;
        assert_eq!(alone["pwned"], "undefined", "{name}: {alone}");
        assert_ne!(alone["title"], "pwned", "{name}");
        assert!(
            alone["href"].as_str().unwrap_or_default().ends_with(&frame),
            "{name}: {alone}"
        );
        // The ticket page itself, when this build has it.
        if has_ticket_page {
            browser.goto(&web.url(&format!("/tickets/{number}"))).await;
            let page = browser.script(MARKERS).await;
            assert_eq!(page["pwned"], "undefined", "{name}: ticket page {page}");
            let frames = browser
                .script("return document.querySelectorAll('iframe').length")
                .await
                .as_u64()
                .unwrap_or(0);
            for index in 0..frames {
                let inside = browser.in_frame(index as u16, MARKERS).await;
                assert_eq!(
                    inside["pwned"], "undefined",
                    "{name}: ticket page frame {inside}"
                );
                assert_eq!(inside["scripts"], 0, "{name}");
            }
            let page_after = browser.script(MARKERS).await;
            assert_eq!(
                page_after["href"], page["href"],
                "{name}: the ticket page navigated"
            );
        }
        let windows = browser.client.windows().await.unwrap();
        assert_eq!(windows.len(), 1, "{name}: a window was opened");
        assert_eq!(
            canary.page_requests(),
            Vec::<String>::new(),
            "{name}: something was fetched from outside"
        );
    }
    let _ = browser.screenshot("hostile-html-last-frame").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_images_load_only_when_asked_and_cid_images_show() {
    let web = TestWeb::start(Dialect::Sqlite).await;
    let who = web.employee("boutique", "agent@boutique.test", false).await;
    let samples = corpus();
    let raw_of = |prefix: &str| {
        samples
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .unwrap()
            .1
            .clone()
    };
    let (tracker_ticket, tracker_message) = file(&web.desk.store, who.shop.id, raw_of("15-")).await;
    let (cid_ticket, cid_message) = file(&web.desk.store, who.shop.id, raw_of("21-")).await;
    let canary = Canary::start();
    let browser = Browser::start_with_canary(&canary).await;
    browser
        .sign_in(&web.base, &who.employee.email, &who.password)
        .await;

    // cid: images come from the message itself; an SVG part is not shown; the tracker waits.
    browser.goto(&web.url("/account")).await;
    embed_frame(
        &browser,
        &format!("/tickets/{cid_ticket}/messages/{cid_message}/html"),
    )
    .await;
    let images = browser
        .in_frame(
            0,
            "const photo = document.querySelector('img[alt=colis]');\
             return { width: photo && photo.naturalWidth, src: photo && photo.src.slice(0, 14), \
             svg: document.querySelectorAll('img[src^=\"data:image/svg\"]').length, \
             notice: (document.querySelector('.guichet-images-blocked') || {}).textContent }",
        )
        .await;
    assert_eq!(images["width"], 2, "the inline GIF is shown: {images}");
    assert_eq!(images["src"], "data:image/gif");
    assert_eq!(images["svg"], 0);
    assert_eq!(images["notice"], "Remote images blocked: 1.", "{images}");
    assert_eq!(canary.page_requests(), Vec::<String>::new());

    // Shown when asked: the embedding page points its frame at `?images=show` (a link inside
    // the sandboxed frame would go without the session cookie, see mail_view).
    browser.goto(&web.url("/account")).await;
    embed_frame(
        &browser,
        &format!("/tickets/{tracker_ticket}/messages/{tracker_message}/html"),
    )
    .await;
    assert_eq!(canary.page_requests(), Vec::<String>::new());
    embed_frame(
        &browser,
        &guichet::web::mail_view::show_images_src(tracker_ticket, tracker_message),
    )
    .await;
    let shown = crate::support::eventually_async(std::time::Duration::from_secs(20), async || {
        canary
            .page_requests()
            .iter()
            .any(|r| r.contains("evil.example/15-open-tracker.gif"))
    })
    .await;
    if !shown {
        let state = browser
            .in_frame(
                0,
                "return [location.href, document.body.innerText.slice(0, 300)]",
            )
            .await;
        panic!(
            "remote images load once asked: {:?}; frame: {state}",
            canary.page_requests()
        );
    }
    let inside = browser
        .in_frame(
            0,
            "return [location.search, document.querySelectorAll('.guichet-images-blocked').length]",
        )
        .await;
    assert_eq!(inside, serde_json::json!(["?images=show", 0]));
    // Still no script, and srcset/picture sources stay out even then.
    assert!(
        !canary
            .page_requests()
            .iter()
            .any(|r| r.contains("15-2x") || r.contains("15-source") || r.contains("15-input")),
        "{:?}",
        canary.page_requests()
    );
}

/// The frame's and the downloads' headers, over plain HTTP, and another shop sees nothing.
async fn downloads_and_isolation(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let who = web.employee("boutique", "agent@boutique.test", false).await;
    let other: TestEmployee = web.employee("autre", "agent@autre.test", false).await;
    let raw = corpus()
        .into_iter()
        .find(|(name, _)| name.starts_with("21-"))
        .unwrap()
        .1;
    let (number, id) = file(&web.desk.store, who.shop.id, raw.clone()).await;
    let (client, _) = web.signed_in(&who).await;
    let get = |path: String| {
        let client = client.clone();
        let url = web.url(&path);
        async move { client.get(url).send().await.unwrap() }
    };

    let frame = get(format!("/tickets/{number}/messages/{id}/html")).await;
    assert_eq!(frame.status(), 200);
    let csp = frame.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.starts_with("default-src 'none'; img-src 'self' data:;"),
        "{csp}"
    );
    assert!(
        csp.contains("sandbox") && !csp.contains("allow-scripts"),
        "{csp}"
    );
    assert_eq!(frame.headers()["x-frame-options"], "SAMEORIGIN");
    let shown = get(format!("/tickets/{number}/messages/{id}/html?images=show")).await;
    assert!(
        shown.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("img-src 'self' data: https: http:")
    );

    let raw_download = get(format!("/tickets/{number}/messages/{id}/raw")).await;
    assert_eq!(raw_download.status(), 200);
    assert_eq!(raw_download.headers()["content-type"], "message/rfc822");
    assert!(
        raw_download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"ticket-")
    );
    assert_eq!(raw_download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(raw_download.bytes().await.unwrap().as_ref(), raw.as_slice());

    // Attachments in filing order: the inline GIF, the SVG, the HTML invoice, the fake PNG.
    let (_, messages) = web.desk.store.ticket(who.shop.id, number).await.unwrap();
    let names: Vec<Option<String>> = messages[0]
        .attachments
        .iter()
        .map(|a| a.filename.clone())
        .collect();
    let html_index = names
        .iter()
        .position(|n| n.as_deref() == Some("facture.html"))
        .expect("the HTML attachment");
    let invoice = get(format!(
        "/tickets/{number}/messages/{id}/attachments/{html_index}"
    ))
    .await;
    assert_eq!(invoice.status(), 200);
    assert_eq!(
        invoice.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(
        invoice.headers()["content-disposition"],
        "attachment; filename=\"facture.html\"; filename*=UTF-8''facture.html"
    );
    assert_eq!(invoice.headers()["x-content-type-options"], "nosniff");
    assert!(
        invoice.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(invoice.text().await.unwrap().contains("facture"));
    let png_index = names
        .iter()
        .position(|n| n.as_deref() == Some("photo.png"))
        .unwrap();
    let png = get(format!(
        "/tickets/{number}/messages/{id}/attachments/{png_index}"
    ))
    .await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(png.headers()["x-content-type-options"], "nosniff");
    let missing = get(format!("/tickets/{number}/messages/{id}/attachments/99")).await;
    assert_eq!(missing.status(), 404);

    // Another shop's employee, and nobody, get nothing of it.
    let (stranger, _) = web.signed_in(&other).await;
    let nobody = web.client();
    for path in [
        format!("/tickets/{number}/messages/{id}/html"),
        format!("/tickets/{number}/messages/{id}/raw"),
        format!("/tickets/{number}/messages/{id}/attachments/0"),
    ] {
        let response = stranger.get(web.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} for another shop");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("colis") && !body.contains("facture"),
            "{path}: {body}"
        );
        let response = nobody.get(web.url(&path)).send().await.unwrap();
        assert!(
            matches!(response.status().as_u16(), 303 | 401),
            "{path} without a session: {}",
            response.status()
        );
    }
    // A message id of this shop under another ticket number is not found either.
    let wrong = get(format!("/tickets/{}/messages/{id}/raw", number + 1000)).await;
    assert_eq!(wrong.status(), 404);
}

web_tests!(downloads_and_isolation => mail_downloads_and_isolation_sqlite, mail_downloads_and_isolation_postgres);
