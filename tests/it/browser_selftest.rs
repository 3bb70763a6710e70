//! The browser harness works: Chromium starts, renders, runs our probes, resizes, takes
//! screenshots, and the canary does see a remote fetch (so "it saw none" means something).

use crate::support::browser::{Browser, Canary, DESKTOP, PHONE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_a_page_and_reads_it_back() {
    let browser = Browser::start().await;
    browser
        .goto("data:text/html;charset=utf-8,<title>Guichet</title><h1 id=t>Bonjour, caf%C3%A9</h1>")
        .await;
    assert_eq!(browser.text("#t").await, "Bonjour, café");
    assert_eq!(browser.client.title().await.unwrap(), "Guichet");
    let width = browser.script("return window.innerWidth").await;
    assert_eq!(width.as_u64(), Some(u64::from(DESKTOP.0)));

    browser.phone().await;
    browser
        .goto("data:text/html,<meta name=viewport content='width=device-width'><p id=w>phone</p>")
        .await;
    let viewport = browser
        .script("return [window.innerWidth, navigator.maxTouchPoints]")
        .await;
    assert_eq!(viewport[0].as_u64(), Some(u64::from(PHONE.0)), "{viewport}");
    assert!(
        viewport[1].as_u64().unwrap_or(0) > 0,
        "touch emulated: {viewport}"
    );
    let path = browser.screenshot("selftest-phone").await;
    let png = std::fs::read(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // PNG IHDR: width and height in device pixels (3x).
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, PHONE.0 * 3);
    browser.desktop().await;
    assert_eq!(
        browser.script("return window.innerWidth").await.as_u64(),
        Some(u64::from(DESKTOP.0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_sees_remote_fetches_and_nothing_else() {
    let canary = Canary::start();
    let browser = Browser::start_with_canary(&canary).await;
    browser.goto("data:text/html,<p id=p>quiet</p>").await;
    assert_eq!(browser.text("#p").await, "quiet");
    assert_eq!(
        canary.page_requests(),
        Vec::<String>::new(),
        "Chromium fetched something beyond its own services"
    );
    browser
        .goto("data:text/html,<img src='http://tracker.example/pixel.gif?a=1'>")
        .await;
    let requests = canary.page_requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET http://tracker.example/pixel.gif?a=1 ")),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_browser_ends_chromium() {
    let browser = Browser::start().await;
    browser.goto("data:text/html,<p>bye</p>").await;
    let group = browser.process_group();
    drop(browser);
    // kill(-pgid, 0) fails with ESRCH once no process of the group is left (SIGKILL is
    // delivered asynchronously, and orphans are reaped by init).
    let gone = crate::support::eventually(std::time::Duration::from_secs(10), || unsafe {
        libc::kill(-group, 0) != 0
    });
    assert!(gone, "a process of chromedriver's group survived the drop");
}
