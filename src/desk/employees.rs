//! Employees and how they prove who they are: passwords (Argon2id), browser sessions behind a
//! random cookie, per-employee API tokens, and sign-in throttling per address and per account.
//! The database keeps only the SHA-256 of a session or API token, never the token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::model::{Role, UiLang};
use crate::store::{ApiTokenInfo, Employee, NewEmployee, Shop, TeamChange, sha256_hex};

use super::shops::email_address;
use super::{Desk, DeskError, DeskResult};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How far back failed sign-ins count.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins from one address (an IPv6 /64) within the window before it must wait.
pub const FAILURES_PER_IP: i64 = 5;
/// Failed sign-ins on one account within the window before it must wait.
pub const FAILURES_PER_ACCOUNT: i64 = 10;
/// Every API token starts with this, so a leaked one is recognisable (secret scanners).
pub const API_TOKEN_PREFIX: &str = "gch_";
/// A session's or token's last use is written at most this often (ms).
const TOUCH_EVERY_MS: i64 = 60_000;

/// An employee to add to a shop.
pub struct EmployeeInput {
    pub email: String,
    /// Defaults to the address's local part.
    pub name: Option<String>,
    pub admin: bool,
    pub lang: UiLang,
    pub password: SecretString,
}

/// A signed-in browser: who, and the token their state-changing requests must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub employee: Employee,
    pub csrf_token: String,
}

/// What a successful sign-in gives (its `Debug` hides the token).
#[derive(Debug)]
pub struct SignIn {
    /// The cookie value; only its SHA-256 hex is stored.
    pub session_token: SecretString,
    pub session: Session,
}

/// Letters and digits a person copies without mistaking one for another (no 0/O, 1/l/I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// A generated password's length: about 93 bits from that alphabet.
const GENERATED_PASSWORD_CHARS: usize = 16;

/// A fresh password for an administrator to hand over (shown once, never stored in clear).
pub fn generate_password() -> SecretString {
    use rand::Rng;
    let mut rng = rand::rng();
    let password: String = (0..GENERATED_PASSWORD_CHARS)
        .map(|_| PASSWORD_ALPHABET[rng.random_range(0..PASSWORD_ALPHABET.len())] as char)
        .collect();
    SecretString::from(password)
}

/// 32 random bytes from the OS-seeded generator, as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The PHC string of an Argon2id hash of `password` with a fresh random salt.
async fn hash_password(password: &SecretString) -> DeskResult<String> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|_| DeskError::PasswordHashing)?
    .map_err(|_| DeskError::PasswordHashing)
}

/// A hash of nothing anyone knows, verified for unknown addresses so that they take as long to
/// refuse as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(random_hex().as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// True when `password` matches the PHC string `hash` (None: check against the dummy hash, and
/// refuse).
async fn verify_password(hash: Option<String>, password: &SecretString) -> bool {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), hash.as_str())
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

fn check_password(password: &SecretString) -> DeskResult<()> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(DeskError::PasswordTooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    Ok(())
}

/// The throttling key of a client: its IPv4 address, or the /64 of an IPv6 one (a single host
/// commonly holds a whole /64).
pub fn ip_subject(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("ip:{prefix}/64")
        }
    }
}

fn account_subject(email: &str) -> String {
    format!("account:{email}")
}

impl Desk {
    pub async fn add_employee(&self, shop: &Shop, input: EmployeeInput) -> DeskResult<Employee> {
        let email = email_address(&input.email)?;
        check_password(&input.password)?;
        let name = match input.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => email.split('@').next().unwrap_or_default().to_string(),
        };
        let password_hash = hash_password(&input.password).await?;
        let role = if input.admin {
            Role::Admin
        } else {
            Role::Employee
        };
        let employee = self
            .store
            .add_employee(&NewEmployee {
                shop_id: shop.id,
                email: &email,
                name: &name,
                role,
                lang: input.lang,
                password_hash: &password_hash,
                created_at: crate::store::now_ms(),
            })
            .await?;
        tracing::info!(employee = employee.id, shop = shop.id, %role, "employee added");
        Ok(employee)
    }

    pub async fn employees(&self, shop: &Shop) -> DeskResult<Vec<Employee>> {
        Ok(self.store.employees_of_shop(shop.id).await?)
    }

    /// Every employee of every shop.
    pub async fn all_employees(&self) -> DeskResult<Vec<Employee>> {
        Ok(self.store.all_employees().await?)
    }

    /// The employee `id` of `shop`; one of another shop is as unknown as a missing one.
    pub async fn employee(&self, shop: &Shop, id: i64) -> DeskResult<Employee> {
        match self.store.employee_by_id(id).await? {
            Some(employee) if employee.shop_id == shop.id => Ok(employee),
            _ => Err(DeskError::NoEmployee(id)),
        }
    }

    /// The employee with this address, in any shop.
    pub async fn employee_by_email(&self, email: &str) -> DeskResult<Employee> {
        let email = email_address(email)?;
        self.store
            .employee_by_email(&email)
            .await?
            .ok_or(DeskError::NoEmployeeNamed(email))
    }

    /// Gives employee `id` of `shop` a new password; their open sessions end.
    pub async fn reset_password(
        &self,
        shop: &Shop,
        id: i64,
        password: &SecretString,
    ) -> DeskResult<Employee> {
        let employee = self.employee(shop, id).await?;
        check_password(password)?;
        let hash = hash_password(password).await?;
        self.store.set_employee_password(employee.id, &hash).await?;
        tracing::info!(employee = employee.id, "password reset, sessions closed");
        Ok(employee)
    }

    /// Gives employee `id` of `shop` the role `role`. `by` is the administrator asking, when
    /// one is (the command line is not an employee): they cannot take their own role away, and
    /// nobody can take the shop's last administrator's.
    pub async fn set_role(
        &self,
        shop: &Shop,
        id: i64,
        role: Role,
        by: Option<i64>,
    ) -> DeskResult<Employee> {
        let employee = self.employee(shop, id).await?;
        if by == Some(employee.id) && role != employee.role {
            return Err(DeskError::OwnAccount);
        }
        match self.store.set_employee_role(&employee, role).await? {
            TeamChange::LastAdmin => Err(DeskError::LastAdmin),
            TeamChange::Done => {
                tracing::info!(employee = employee.id, %role, "role changed");
                Ok(Employee { role, ..employee })
            }
        }
    }

    /// Removes employee `id` from `shop`: their tickets become unassigned, their sessions
    /// and API tokens stop working at once, the timeline keeps what they did. `by` as for
    /// [`Desk::set_role`]: nobody removes themselves or the last administrator.
    pub async fn remove_employee(
        &self,
        shop: &Shop,
        id: i64,
        by: Option<i64>,
    ) -> DeskResult<Employee> {
        let employee = self.employee(shop, id).await?;
        if by == Some(employee.id) {
            return Err(DeskError::OwnAccount);
        }
        match self.store.remove_employee(&employee).await? {
            TeamChange::LastAdmin => Err(DeskError::LastAdmin),
            TeamChange::Done => {
                tracing::info!(employee = employee.id, shop = shop.id, "employee removed");
                Ok(employee)
            }
        }
    }

    /// When each of the shop's employees last signed in (employee id, Unix ms), for those
    /// whose session is still open.
    pub async fn last_sign_ins(&self, shop: &Shop) -> DeskResult<HashMap<i64, i64>> {
        Ok(self
            .store
            .last_sign_ins(shop.id)
            .await?
            .into_iter()
            .collect())
    }

    /// The language `employee` reads the back office in, from now on.
    pub async fn set_employee_lang(&self, employee: &Employee, lang: UiLang) -> DeskResult<()> {
        Ok(self.store.set_employee_lang(employee.id, lang).await?)
    }

    /// Checks an address and password and opens a new session (a fresh token every time).
    /// Unknown address and wrong password are the same refusal and take the same time; too
    /// many failures from the client's address or on the account make it wait.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        client_ip: IpAddr,
    ) -> DeskResult<SignIn> {
        let email = email.trim().to_lowercase();
        let now = crate::store::now_ms();
        let window = ms(THROTTLE_WINDOW);
        let since = now - window;
        let ip = ip_subject(client_ip);
        let account = account_subject(&email);

        let mut reopens_at = None;
        for (subject, limit) in [(&ip, FAILURES_PER_IP), (&account, FAILURES_PER_ACCOUNT)] {
            let failures = self.store.sign_in_failures_since(subject, since).await?;
            if failures >= limit {
                // Allowed again when enough of the window's failures have aged out of it.
                let oldest_that_counts = self
                    .store
                    .sign_in_failure_at(subject, since, failures - limit)
                    .await?
                    .unwrap_or(now);
                let at = oldest_that_counts + window;
                reopens_at = Some(reopens_at.map_or(at, |other: i64| other.max(at)));
            }
        }
        if let Some(at) = reopens_at {
            let retry_after_secs = u64::try_from((at - now).max(1000))
                .unwrap_or(1000)
                .div_ceil(1000);
            tracing::warn!(%ip, "sign-in throttled");
            return Err(DeskError::SignInThrottled { retry_after_secs });
        }

        let credentials = self.store.employee_credentials(&email).await?;
        let (employee, hash) = match credentials {
            Some((employee, hash)) => (Some(employee), Some(hash)),
            None => (None, None),
        };
        let employee = match (verify_password(hash, password).await, employee) {
            (true, Some(employee)) => employee,
            _ => {
                for subject in [&ip, &account] {
                    self.store
                        .record_sign_in_failure(subject, now, since)
                        .await?;
                }
                tracing::info!(%ip, "sign-in refused");
                return Err(DeskError::SignInRefused);
            }
        };

        self.store.clear_sign_in_failures(&account).await?;
        let idle = ms(self.config.session_idle);
        let lifetime = ms(self.config.session_lifetime);
        self.store
            .delete_expired_web_sessions(now - idle, now - lifetime)
            .await?;
        let token = random_hex();
        let csrf_token = random_hex();
        self.store
            .insert_web_session(&sha256_hex(token.as_bytes()), employee.id, &csrf_token, now)
            .await?;
        tracing::info!(employee = employee.id, "signed in");
        Ok(SignIn {
            session_token: SecretString::from(token),
            session: Session {
                employee,
                csrf_token,
            },
        })
    }

    /// The session of this cookie value, if it is still open.
    pub async fn session(&self, token: &str) -> DeskResult<Option<Session>> {
        self.session_at(token, crate::store::now_ms()).await
    }

    /// [`Desk::session`] as of `now` (Unix ms): None when unknown, unused for longer than
    /// `web.session_idle` or older than `web.session_lifetime` (then it is deleted). Its last
    /// use is written at most once a minute.
    pub async fn session_at(&self, token: &str, now: i64) -> DeskResult<Option<Session>> {
        let hash = sha256_hex(token.as_bytes());
        let Some(stored) = self.store.web_session(&hash).await? else {
            return Ok(None);
        };
        let idle = now - stored.last_seen_at >= ms(self.config.session_idle);
        let too_old = now - stored.created_at >= ms(self.config.session_lifetime);
        if idle || too_old {
            self.store.delete_web_session(&hash).await?;
            return Ok(None);
        }
        if now - stored.last_seen_at >= TOUCH_EVERY_MS {
            self.store.touch_web_session(&hash, now).await?;
        }
        Ok(Some(Session {
            employee: stored.employee,
            csrf_token: stored.csrf_token,
        }))
    }

    /// Ends the session of this cookie value (nothing when there is none).
    pub async fn sign_out(&self, token: &str) -> DeskResult<()> {
        self.store
            .delete_web_session(&sha256_hex(token.as_bytes()))
            .await?;
        Ok(())
    }

    /// A new API token acting as `employee`, shown this once: the database keeps its hash.
    pub async fn create_api_token(
        &self,
        employee: &Employee,
        label: &str,
    ) -> DeskResult<SecretString> {
        let label = label.trim();
        if label.is_empty() {
            return Err(DeskError::TokenNeedsLabel);
        }
        let token = format!("{API_TOKEN_PREFIX}{}", random_hex());
        let id = self
            .store
            .insert_api_token(
                employee.id,
                &sha256_hex(token.as_bytes()),
                label,
                crate::store::now_ms(),
            )
            .await?;
        tracing::info!(employee = employee.id, token = id, "API token created");
        Ok(SecretString::from(token))
    }

    /// `employee`'s API tokens (labels and dates, never the tokens), newest first.
    pub async fn api_tokens(&self, employee: &Employee) -> DeskResult<Vec<ApiTokenInfo>> {
        Ok(self.store.api_tokens_of(employee.id).await?)
    }

    /// Revokes `employee`'s token `id`; another employee's token is as unknown as a missing one.
    pub async fn revoke_api_token(&self, employee: &Employee, id: i64) -> DeskResult<()> {
        if !self.store.delete_api_token(employee.id, id).await? {
            return Err(DeskError::NoApiToken(id));
        }
        tracing::info!(employee = employee.id, token = id, "API token revoked");
        Ok(())
    }

    /// The employee an API token acts as, if it is one of ours.
    pub async fn api_token_employee(&self, token: &str) -> DeskResult<Option<Employee>> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(stored) = self.store.api_token(&sha256_hex(token.as_bytes())).await? else {
            return Ok(None);
        };
        let now = crate::store::now_ms();
        if stored
            .last_used_at
            .is_none_or(|at| now - at >= TOUCH_EVERY_MS)
        {
            self.store.touch_api_token(stored.id, now).await?;
        }
        Ok(Some(stored.employee))
    }

    /// The shop `employee` works for.
    pub async fn shop_of(&self, employee: &Employee) -> DeskResult<Shop> {
        Ok(self.store.shop_of_employee(employee).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_throttled_by_address_and_ipv6_by_its_64() {
        assert_eq!(ip_subject("203.0.113.7".parse().unwrap()), "ip:203.0.113.7");
        assert_eq!(
            ip_subject("::ffff:203.0.113.7".parse().unwrap()),
            "ip:203.0.113.7"
        );
        assert_eq!(
            ip_subject("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "ip:2001:db8:1:2::/64"
        );
        assert_eq!(
            ip_subject("2001:db8:1:2:ffff::1".parse().unwrap()),
            ip_subject("2001:db8:1:2::9".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let password = SecretString::from("correct horse".to_string());
        let hash = hash_password(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(Some(hash.clone()), &password).await);
        let wrong = SecretString::from("correct horsf".to_string());
        assert!(!verify_password(Some(hash.clone()), &wrong).await);
        // The same password twice gives two hashes (fresh salt).
        assert_ne!(hash_password(&password).await.unwrap(), hash);
        // No account: refused whatever the password, and a broken stored hash refuses too.
        assert!(!verify_password(None, &password).await);
        assert!(!verify_password(Some("not a hash".into()), &password).await);
    }

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let one = generate_password();
        let other = generate_password();
        assert!(check_password(&one).is_ok());
        assert_eq!(
            one.expose_secret().chars().count(),
            GENERATED_PASSWORD_CHARS
        );
        assert!(
            one.expose_secret()
                .bytes()
                .all(|b| PASSWORD_ALPHABET.contains(&b))
        );
        assert_ne!(one.expose_secret(), other.expose_secret());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password(&SecretString::from("123456789".to_string())).is_err());
        assert!(check_password(&SecretString::from("éééééééééé".to_string())).is_ok());
    }
}
