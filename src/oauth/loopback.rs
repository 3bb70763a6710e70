//! The loopback redirect a command-line connection waits on (RFC 8252 §7.3): the provider
//! sends the browser to `http://127.0.0.1:PORT/oauth/callback?code=...&state=...`, where this
//! answers one short page and hands the query to the flow.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::model::UiLang;

/// Where the provider sends the browser back, on the loopback listener and in the back office.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// The longest request head read: a redirect carries a code and a state, nothing big.
const MAX_HEAD: usize = 16 * 1024;

/// The query pairs of a redirect URL, or of the request target of one (`/oauth/callback?...`).
pub fn callback_pairs(url_or_target: &str) -> Option<Vec<(String, String)>> {
    let url = url::Url::parse(url_or_target.trim())
        .or_else(|_| url::Url::parse(&format!("http://127.0.0.1{}", url_or_target.trim())))
        .ok()?;
    (url.path() == CALLBACK_PATH).then(|| url.query_pairs().into_owned().collect())
}

/// Answers requests on `listener` until one comes to the callback path; returns its query
/// pairs. Other requests (a browser's favicon) get a 404 and are forgotten.
pub async fn next_callback(
    listener: &TcpListener,
    lang: UiLang,
) -> std::io::Result<Vec<(String, String)>> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut head = Vec::new();
        let mut buffer = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let target = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next());
        let pairs = target.and_then(callback_pairs);
        let (status, body) = match &pairs {
            Some(_) => ("200 OK", crate::t!(lang, "oauth.loopback_received")),
            None => ("404 Not Found", crate::t!(lang, "oauth.loopback_elsewhere")),
        };
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Guichet</title><p>{}</p>",
            body.replace('&', "&amp;").replace('<', "&lt;")
        );
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        if let Some(pairs) = pairs {
            return Ok(pairs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_url_or_a_request_target_gives_its_query() {
        let expected = vec![
            ("code".to_string(), "c 1".to_string()),
            ("state".to_string(), "s".to_string()),
        ];
        assert_eq!(
            callback_pairs("  http://127.0.0.1:4711/oauth/callback?code=c%201&state=s\n"),
            Some(expected.clone())
        );
        assert_eq!(
            callback_pairs("/oauth/callback?code=c+1&state=s"),
            Some(expected)
        );
        assert_eq!(callback_pairs("/favicon.ico"), None);
        assert_eq!(callback_pairs(""), None);
    }
}
