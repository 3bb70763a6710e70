//! A real headless Chromium driven through Debian's chromedriver, one per test.
//!
//! [`Browser::start`] runs `/usr/bin/chromedriver` on a free loopback port in a process group
//! of its own (Chromium runs inside it), waits until it answers `/status`, and opens a WebDriver
//! session with a fresh profile. Dropping the `Browser` kills that process group, so no
//! Chromium outlives its test. When Chromium or chromedriver cannot start, the test fails with
//! the reason: browser tests never skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to answer `/status` on a loaded 2-core machine.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a page may take to load, or an element to appear.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Desktop viewport of the screenshots.
pub const DESKTOP: (u32, u32) = (1366, 900);
/// Phone viewport (an iPhone 12-class screen), with mobile emulation.
pub const PHONE: (u32, u32) = (390, 844);

/// Chromium flags: headless as root in a container, and no traffic of its own (updates,
/// sync, network time, sign-in, search preconnects, field trials, QUIC probes) so that a test
/// sees only the requests its pages make. [`BROWSER_OWN_HOSTS`] lists what is left.
const CHROMIUM_ARGS: [&str; 22] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-search-engine-choice-screen",
    "--safebrowsing-disable-auto-update",
    "--metrics-recording-only",
    "--no-pings",
    "--dns-prefetch-disable",
    "--disable-breakpad",
    "--disable-field-trial-config",
    "--disable-features=Translate,MediaRouter,DialMediaRouteProvider,OptimizationHints,NetworkTimeServiceQuerying,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,PrivacySandboxSettings4,SignInProfileCreation,AccountConsistency",
];

/// Domains Chromium still calls by itself despite those flags (its updater, Google sign-in,
/// Debian's default search engine preconnect, network time). [`Canary::page_requests`] leaves
/// them out; no page under test names them.
pub const BROWSER_OWN_HOSTS: [&str; 5] = [
    "google.com",
    "googleapis.com",
    "gvt1.com",
    "gstatic.com",
    "duckduckgo.com",
];

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_port: u16,
    session_id: String,
    /// The fresh profile; removed when the browser is dropped.
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// One HTTP/1.1 exchange with chromedriver on loopback; returns (status, body).
fn driver_http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(PAGE_TIMEOUT))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    Ok((status, body))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at the desktop size. Panics, with what went
    /// wrong, when either cannot start.
    pub async fn start() -> Browser {
        Browser::launch(None).await
    }

    /// [`Browser::start`], with every request to anything but loopback sent to the HTTP proxy
    /// `canary` instead: whatever host a page names, a remote fetch reaches the canary.
    pub async fn start_with_canary(canary: &Canary) -> Browser {
        Browser::launch(Some(canary.port)).await
    }

    async fn launch(proxy_port: Option<u16>) -> Browser {
        for program in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: the browser tests need Debian's chromium and chromium-driver (run scripts/install-test-deps)"
            );
        }
        let driver_port = free_port();
        let log = std::env::temp_dir().join(format!("guichet-chromedriver-{driver_port}.log"));
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={driver_port}"))
            .arg(format!("--log-path={}", log.display()))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Drop can end chromedriver and every Chromium
            // process it started, and only those.
            .process_group(0);
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut driver = command.spawn().unwrap_or_else(|e| {
            panic!("cannot run {CHROMEDRIVER}: {e} (run scripts/install-test-deps)")
        });
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if let Ok((200, body)) = driver_http(driver_port, "GET", "/status", None)
                && body.contains("\"ready\":true")
            {
                break;
            }
            if let Ok(Some(status)) = driver.try_wait() {
                panic!(
                    "chromedriver exited at start ({status}); its log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if Instant::now() >= deadline {
                let _ = driver.kill();
                panic!(
                    "chromedriver did not answer /status on port {driver_port} within {DRIVER_START_TIMEOUT:?}"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }

        let profile = tempfile::Builder::new()
            .prefix("guichet-chromium-")
            .tempdir()
            .expect("a temp dir for the Chromium profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={},{}", DESKTOP.0, DESKTOP.1));
        if let Some(port) = proxy_port {
            // Loopback (the server under test) stays direct: Chromium never proxies it.
            args.push(format!("--proxy-server=http://127.0.0.1:{port}"));
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        capabilities.insert("pageLoadStrategy".into(), json!("normal"));
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await;
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                kill_group(&mut driver);
                panic!(
                    "Chromium did not start under chromedriver: {e}; chromedriver's log: {}",
                    tail(&std::fs::read_to_string(&log).unwrap_or_default(), 4000)
                );
            }
        };
        let session_id = client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a WebDriver session id");
        let _ = std::fs::remove_file(&log);
        let browser = Browser {
            client,
            driver,
            driver_port,
            session_id,
            _profile: profile,
        };
        browser.desktop().await;
        browser
    }

    /// chromedriver's process group, where Chromium runs too.
    pub fn process_group(&self) -> libc::pid_t {
        self.driver.id() as libc::pid_t
    }

    /// A Chrome DevTools Protocol command through chromedriver's `goog/cdp/execute`.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        let path = format!("/session/{}/goog/cdp/execute", self.session_id);
        let (status, body) = driver_http(
            self.driver_port,
            "POST",
            &path,
            Some(&json!({ "cmd": cmd, "params": params })),
        )
        .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
        assert_eq!(status, 200, "CDP {cmd} answered {status}: {body}");
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("value").cloned())
            .unwrap_or(Value::Null)
    }

    /// Desktop viewport (1366×900), without mobile emulation.
    pub async fn desktop(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": false }),
        );
        self.client
            .set_window_size(DESKTOP.0, DESKTOP.1)
            .await
            .expect("desktop window size");
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": DESKTOP.0, "height": DESKTOP.1, "deviceScaleFactor": 1, "mobile": false }),
        );
    }

    /// Phone viewport (390×844, 3× pixels) with mobile emulation: the page's `<meta
    /// name=viewport>` is honoured and touch events exist, as on a real phone.
    pub async fn phone(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 3, "mobile": true }),
        );
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": true, "maxTouchPoints": 5 }),
        );
    }

    /// Opens `url` and waits for its `load` event (WebDriver's normal page-load strategy).
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        self.wait_loaded().await;
    }

    /// Waits until the document (and every frame of it) has fired `load`.
    pub async fn wait_loaded(&self) {
        let script = "const frames = [...document.querySelectorAll('iframe')];\
             return document.readyState === 'complete' && frames.every(f => { \
               try { return !f.contentDocument || f.contentDocument.readyState === 'complete'; } \
               catch (e) { return true; } });";
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while self.script(script).await != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "the page did not finish loading within {PAGE_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` (a function body: `return …`) in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The text of the first element matching `css`, waiting for it to appear.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Waits (up to [`PAGE_TIMEOUT`]) for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} within {PAGE_TIMEOUT:?}: {e}"))
    }

    /// Signs in through the back office's sign-in form at `base` and waits to leave it.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/sign-in")).await;
        self.wait_for("input[name=email]")
            .await
            .send_keys(email)
            .await
            .expect("typing the email");
        self.wait_for("input[name=password]")
            .await
            .send_keys(password)
            .await
            .expect("typing the password");
        self.wait_for("form button[type=submit]")
            .await
            .click()
            .await
            .expect("submitting the sign-in form");
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let url = self.client.current_url().await.expect("the current URL");
            if url.path() != "/sign-in" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "still on the sign-in page as {email}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_loaded().await;
    }

    /// Enters frame `index` of the current document, waits until its document has loaded and
    /// runs `script` there; returns to the parent document.
    pub async fn in_frame(&self, index: u16, script: &str) -> Value {
        self.client
            .enter_frame(index)
            .await
            .unwrap_or_else(|e| panic!("cannot enter frame {index}: {e}"));
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while self.script("return document.readyState").await != "complete" {
            assert!(
                Instant::now() < deadline,
                "frame {index} did not load within {PAGE_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let value = self.script(script).await;
        self.client
            .enter_parent_frame()
            .await
            .expect("back to the parent document");
        value
    }

    /// Saves a PNG of the viewport to `target/artefacts/screenshots/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG"),
            "screenshot {name} is not a PNG"
        );
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot file");
        path
    }
}

/// `target/artefacts/screenshots` of this crate (CARGO_TARGET_DIR when set).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("artefacts").join("screenshots")
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// Ends chromedriver's process group (chromedriver and the Chromium it started), then reaps it.
fn kill_group(driver: &mut Child) {
    // The group id is chromedriver's pid (process_group(0)).
    let pgid = driver.id() as libc::pid_t;
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    let _ = driver.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// An HTTP proxy on loopback that answers every request with an empty 200 (and refuses
/// `CONNECT`), and remembers each request line: what a page fetched from "the Internet".
pub struct Canary {
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Canary {
    pub fn start() -> Canary {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port for the canary");
        let port = listener.local_addr().expect("the canary's address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || answer_canary(stream, &seen));
            }
        });
        Canary { port, requests }
    }

    /// Every request line received so far ("GET http://host/path HTTP/1.1", "CONNECT host:443 …").
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// [`Canary::requests`] less Chromium's own calls to [`BROWSER_OWN_HOSTS`]: what pages fetched.
    pub fn page_requests(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|line| !request_host(line).is_some_and(is_browser_own_host))
            .collect()
    }
}

fn answer_canary(stream: TcpStream, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    if let Ok(mut requests) = seen.lock() {
        requests.push(request_line.trim_end().to_string());
    }
    let mut header = String::new();
    while reader.read_line(&mut header).unwrap_or(0) > 2 {
        header.clear();
    }
    let answer: &[u8] = if request_line.starts_with("CONNECT") {
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    };
    let _ = (&stream).write_all(answer);
}

/// The host of a proxy request line: "GET http://host:port/path HTTP/1.1" or "CONNECT host:443 HTTP/1.1".
fn request_host(line: &str) -> Option<&str> {
    let target = line.split_whitespace().nth(1)?;
    let authority = target
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(target);
    let authority = authority.split(['/', '?', '#']).next()?;
    Some(
        authority
            .rsplit_once(':')
            .map(|(host, _)| host)
            .unwrap_or(authority),
    )
}

fn is_browser_own_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    BROWSER_OWN_HOSTS
        .iter()
        .any(|own| host == *own || host.ends_with(&format!(".{own}")))
}
