//! The HTTP every platform client shares: which store addresses are accepted, timeouts,
//! HTTP 429 with `Retry-After` waited out (within a bound), errors mapped onto [`ShopError`]
//! without the URL (a query string may hold a key).

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;

use super::platform::{Platform, ShopError};

/// Longest answer body read from a platform: a page of orders is a few hundred kilobytes.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// Retries of one request the platform throttled.
const THROTTLE_RETRIES: u32 = 3;

/// A platform's answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON of the documented shape.
    pub fn json<T: DeserializeOwned>(&self, platform: Platform) -> Result<T, ShopError> {
        serde_json::from_slice(&self.body).map_err(|e| ShopError::Malformed {
            platform,
            detail: format!("JSON: {e}"),
        })
    }

    /// The start of the body, to quote in an error: platforms explain refusals there.
    pub fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        match text.char_indices().nth(300) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The client one connector uses.
#[derive(Debug, Clone)]
pub struct PlatformHttp {
    client: reqwest::Client,
    platform: Platform,
    timeout: Duration,
    max_wait: Duration,
}

impl PlatformHttp {
    /// `timeout` bounds each request; `max_wait` the wait a throttled request may do before
    /// giving up with [`ShopError::Throttled`] (a ticket page must not hang on a busy shop).
    pub fn new(
        platform: Platform,
        timeout: Duration,
        max_wait: Duration,
    ) -> Result<Self, ShopError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("Guichet/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ShopError::Unreachable {
                platform,
                detail: e.without_url().to_string(),
            })?;
        Ok(PlatformHttp {
            client,
            platform,
            timeout,
            max_wait,
        })
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// How long a throttled call may wait in all.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The store's base address, without a trailing slash: `https://` only, except a store
    /// on this machine's loopback (nothing crosses a network there).
    pub fn base_url(&self, url: &str) -> Result<reqwest::Url, ShopError> {
        checked_base_url(self.platform, url)
    }

    /// Sends a request, waiting out HTTP 429 as long as `Retry-After` asks (up to the
    /// bound), and reads the whole answer. Any status comes back: platforms say different
    /// things with 401, 403 and 404, and their clients read them.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, ShopError> {
        let mut waited = Duration::ZERO;
        for attempt in 0..=THROTTLE_RETRIES {
            let request = request.try_clone().ok_or_else(|| ShopError::Malformed {
                platform: self.platform,
                detail: "a streamed request body cannot be retried".into(),
            })?;
            let answer = self.send_once(request).await?;
            if answer.status != 429 {
                return Ok(answer);
            }
            let retry_after = retry_after(&answer.headers);
            let wait = retry_after.unwrap_or(Duration::from_secs(1));
            if attempt == THROTTLE_RETRIES || waited + wait > self.max_wait {
                return Err(ShopError::Throttled {
                    platform: self.platform,
                    retry_after_secs: retry_after.map(|d| d.as_secs().max(1)),
                });
            }
            tracing::info!(platform = %self.platform, wait_ms = wait.as_millis() as u64, "throttled: waiting as asked");
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        unreachable!("the loop returns on its last attempt")
    }

    async fn send_once(&self, request: reqwest::RequestBuilder) -> Result<Answer, ShopError> {
        let mut response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ShopError::Malformed {
                    platform: self.platform,
                    detail: format!("answer larger than {} MB", MAX_BODY / (1024 * 1024)),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn transport_error(&self, error: reqwest::Error) -> ShopError {
        if error.is_timeout() {
            return ShopError::TimedOut {
                platform: self.platform,
                seconds: self.timeout.as_secs().max(1),
            };
        }
        let error = error.without_url();
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            detail = format!("{detail}: {cause}");
            source = cause.source();
        }
        ShopError::Unreachable {
            platform: self.platform,
            detail,
        }
    }
}

/// See [`PlatformHttp::base_url`].
pub fn checked_base_url(platform: Platform, url: &str) -> Result<reqwest::Url, ShopError> {
    let refuse = |reason: &str| ShopError::BadUrl {
        platform,
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let mut parsed = reqwest::Url::parse(url.trim()).map_err(|e| refuse(&e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(
            "credentials go in their own settings, not in the address",
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(refuse("no host")),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(refuse("only https:// addresses are accepted")),
        _ => return Err(refuse("not an http(s) address")),
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    let path = parsed.path().trim_end_matches('/').to_string();
    parsed.set_path(&path);
    Ok(parsed)
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let left = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    Some(Duration::from_millis(left.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_the_loopback() {
        let ok = |u: &str| checked_base_url(Platform::WooCommerce, u).map(|u| u.to_string());
        assert_eq!(
            ok("https://boutique.example/shop/").unwrap(),
            "https://boutique.example/shop"
        );
        assert_eq!(
            ok("http://127.0.0.1:8081").unwrap(),
            "http://127.0.0.1:8081/"
        );
        assert!(ok("http://localhost:9/").is_ok());
        assert!(matches!(
            checked_base_url(Platform::WooCommerce, "http://boutique.example"),
            Err(ShopError::BadUrl { .. })
        ));
        assert!(ok("ftp://boutique.example").is_err());
        assert!(ok("https://key:secret@boutique.example").is_err());
        assert!(ok("not a url").is_err());
        assert_eq!(
            ok("https://boutique.example/?consumer_key=ck_1#x").unwrap(),
            "https://boutique.example/",
            "a query string could hold a key: dropped"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a date past");
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
