//! A real S3-compatible server for the blob tests: moto's server (PyPI `moto[server]`, installed
//! by scripts/install-test-deps) on a free loopback port, with authentication on. Its first
//! three requests, unauthenticated, make an IAM user allowed `s3:*` and its access key; the tests
//! use that key, so a wrong secret is refused as on a real provider. One bucket; each test takes
//! a prefix of its own. Started once per test process; a test that needs it fails (never skips)
//! when it cannot start.

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use guichet::store::S3Settings;
use secrecy::SecretString;

use super::mail_server::{free_port, spawn_for_this_process};

pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

static SHARED: OnceLock<S3Server> = OnceLock::new();

/// Makes the IAM user and key (the three unauthenticated requests), then the bucket with that
/// key; prints the key id and secret.
const SETUP: &str = r#"
import json, sys, boto3
endpoint, bucket = sys.argv[1], sys.argv[2]
anonymous = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **anonymous)
iam.create_user(UserName="guichet")
iam.put_user_policy(UserName="guichet", PolicyName="blobs", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="guichet")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket=bucket)
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

impl S3Server {
    /// The server of this test process, started on first use. Panics when it cannot start.
    pub fn shared() -> &'static S3Server {
        SHARED.get_or_init(S3Server::start)
    }

    fn start() -> S3Server {
        let port = free_port();
        let mut command = Command::new("python3");
        command
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3");
        spawn_for_this_process(command, "moto's S3 server (python3 -m moto.server)");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto's S3 server did not listen on 127.0.0.1:{port} within 60 s: run scripts/install-test-deps"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let bucket = "guichet-tests".to_string();
        let output = Command::new("python3")
            .args(["-c", SETUP, &endpoint, &bucket])
            .output()
            .expect("python3 runs (scripts/install-test-deps)");
        assert!(
            output.status.success(),
            "moto's S3 server could not be set up: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8_lossy(&output.stdout);
        let mut words = printed.split_whitespace();
        let (Some(id), Some(secret)) = (words.next(), words.next()) else {
            panic!("moto's setup printed no access key: {printed}");
        };
        S3Server {
            endpoint,
            bucket,
            access_key_id: id.to_string(),
            secret_access_key: secret.to_string(),
        }
    }

    /// `s3://BUCKET/PREFIX` with a prefix no other test uses.
    pub fn fresh_url(&self) -> String {
        format!("s3://{}/test-{:016x}", self.bucket, rand::random::<u64>())
    }

    /// How Guichet reaches this server, with a request bound of `timeout`.
    pub fn settings(&self, timeout: Duration) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: Some(self.access_key_id.clone()),
            secret_access_key: Some(SecretString::from(self.secret_access_key.clone())),
            allow_http: true,
            timeout,
        }
    }

    /// The `GUICHET_BLOBS_*` configuration that keeps a desk's blobs at `url` on this server.
    pub fn env(&self, url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("GUICHET_BLOBS_URL", url.to_string()),
            ("GUICHET_BLOBS_ENDPOINT", self.endpoint.clone()),
            ("GUICHET_BLOBS_ALLOW_HTTP", "true".into()),
            ("GUICHET_BLOBS_ACCESS_KEY_ID", self.access_key_id.clone()),
            (
                "GUICHET_BLOBS_SECRET_ACCESS_KEY",
                self.secret_access_key.clone(),
            ),
            ("GUICHET_BLOBS_TIMEOUT", "10s".into()),
        ]
    }

    /// The keys of the objects under `url`'s prefix (through moto's own client, boto3).
    pub fn keys(&self, url: &str) -> Vec<String> {
        let prefix = url
            .strip_prefix(&format!("s3://{}/", self.bucket))
            .unwrap_or("");
        let script = r#"
import sys, boto3
endpoint, bucket, prefix, key_id, secret = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret)
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
    for item in page.get("Contents", []):
        print(item["Key"])
"#;
        let output = Command::new("python3")
            .args([
                "-c",
                script,
                &self.endpoint,
                &self.bucket,
                prefix,
                &self.access_key_id,
                &self.secret_access_key,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "listing the bucket failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}
