//! The back office served for a test: a desk of its own (SQLite or PostgreSQL) behind the real
//! router on a loopback port, shops with employees, and HTTP clients signed in as them.

use std::path::PathBuf;

use guichet::config::{Config, Overrides};
use guichet::desk::Desk;
use guichet::desk::employees::EmployeeInput;
use guichet::model::UiLang;
use guichet::store::{Employee, Shop};
use secrecy::SecretString;

use super::{Dialect, TestDatabase};

/// A running back office with its desk.
pub struct TestWeb {
    pub desk: Desk,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub data_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

/// An employee made for a test, with the password they sign in with.
pub struct TestEmployee {
    pub employee: Employee,
    pub shop: Shop,
    pub password: String,
}

impl TestWeb {
    pub async fn start(dialect: Dialect) -> TestWeb {
        TestWeb::start_with_env(dialect, &[]).await
    }

    /// [`TestWeb::start`] with configuration given as `GUICHET_*` variables.
    pub async fn start_with_env(dialect: Dialect, env: &[(&str, String)]) -> TestWeb {
        let dir = tempfile::tempdir().unwrap();
        let database = match dialect {
            Dialect::Sqlite => TestDatabase::sqlite(dir.path()),
            Dialect::Postgres => TestDatabase::postgres(),
        };
        let overrides = Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            database_url: Some(database.url.clone()),
        };
        let variable = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        };
        let config = Config::load(None, variable, &overrides).unwrap();
        let desk = Desk::open(config, UiLang::En).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(guichet::web::serve(desk.clone(), listener, async {
            let _ = stopped.await;
        }));
        TestWeb {
            desk,
            base,
            data_dir: dir.path().to_path_buf(),
            stop: Some(stop),
            served: Some(served),
            _database: database,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The shop called `shop` (created when missing) with a new employee `email`.
    /// The page at `path` as `client` gets it (any status).
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn employee(&self, shop: &str, email: &str, admin: bool) -> TestEmployee {
        let shop = match self.desk.shop_named(shop).await {
            Ok(shop) => shop,
            Err(_) => self.desk.add_shop(shop).await.unwrap(),
        };
        let password = format!("pw-{}-{}", email, rand::random::<u32>());
        let employee = self
            .desk
            .add_employee(
                &shop,
                EmployeeInput {
                    email: email.into(),
                    name: None,
                    admin,
                    lang: UiLang::En,
                    password: SecretString::from(password.clone()),
                },
            )
            .await
            .unwrap();
        TestEmployee {
            employee,
            shop,
            password,
        }
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// A client signed in as `who`, and the session's CSRF token (read from a page, as a
    /// browser's script would).
    pub async fn signed_in(&self, who: &TestEmployee) -> (reqwest::Client, String) {
        let client = self.client();
        let response = client
            .post(self.url("/sign-in"))
            .form(&[
                ("email", who.employee.email.as_str()),
                ("password", who.password.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "sign-in of {}", who.employee.email);
        let page = self.page(&client, "/account").await;
        let csrf = csrf_of(&page).expect("signed-in pages carry the CSRF token");
        (client, csrf)
    }
}

/// The CSRF token a page carries in `<meta name="csrf-token">`.
pub fn csrf_of(page: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_string())
}

impl Drop for TestWeb {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.abort();
        }
    }
}

/// The two tests of a web suite, one per dialect: `web_tests!(suite => name_sqlite,
/// name_postgres)` runs `suite(dialect)`, which starts its own [`TestWeb`].
macro_rules! web_tests {
    ($suite:path => $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $suite($crate::support::Dialect::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            $suite($crate::support::Dialect::Postgres).await;
        }
    };
}
pub(crate) use web_tests;
