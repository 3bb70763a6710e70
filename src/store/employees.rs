//! Employees, their browser sessions and API tokens, and failed sign-ins. Sessions and tokens
//! are found by the SHA-256 of the secret the caller holds; the secret itself is never stored.

use crate::model::{Role, UiLang};

use super::{Result, Shop, Store, StoreError, decode_name, is_unique_violation};

/// A person who works in the back office of one shop.
#[derive(Debug, Clone)]
pub struct Employee {
    pub id: i64,
    pub shop_id: i64,
    /// Lowercase; unique across the install.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub lang: UiLang,
    pub created_at: i64,
}

/// An employee to store, with the PHC string of their password.
#[derive(Debug, Clone)]
pub struct NewEmployee<'a> {
    pub shop_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub lang: UiLang,
    pub password_hash: &'a str,
    pub created_at: i64,
}

/// A browser session found by its token's hash.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub employee: Employee,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// An API token found by its hash.
#[derive(Debug, Clone)]
pub struct StoredApiToken {
    pub id: i64,
    pub employee: Employee,
    pub last_used_at: Option<i64>,
}

/// An API token as its owner sees it in the list: never the token, only what it is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// `SELECT` of an employee's columns (table alias `e`), then `$extra` columns, then `$rest`.
macro_rules! select_employee {
    ($extra:literal, $rest:literal) => {
        concat!(
            "SELECT e.id, e.shop_id, e.email, e.name, e.role, e.lang, e.created_at",
            $extra,
            " ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct EmployeeRow {
    id: i64,
    shop_id: i64,
    email: String,
    name: String,
    role: String,
    lang: String,
    created_at: i64,
}

impl EmployeeRow {
    fn decode(self) -> Result<Employee> {
        Ok(Employee {
            role: decode_name(self.role, "role", "employees", self.id)?,
            lang: decode_name(self.lang, "lang", "employees", self.id)?,
            id: self.id,
            shop_id: self.shop_id,
            email: self.email,
            name: self.name,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    employee: EmployeeRow,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    employee: EmployeeRow,
    csrf_token: String,
    session_created_at: i64,
    last_seen_at: i64,
}

#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    #[sqlx(flatten)]
    employee: EmployeeRow,
    token_id: i64,
    last_used_at: Option<i64>,
}

impl Store {
    /// Adds an employee; an address already used (in any shop) is [`StoreError::AlreadyExists`].
    pub async fn add_employee(&self, new: &NewEmployee<'_>) -> Result<Employee> {
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO employees (shop_id, email, name, role, lang, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.shop_id)
        .bind(new.email)
        .bind(new.name)
        .bind(new.role.to_string())
        .bind(new.lang.code())
        .bind(new.password_hash)
        .bind(new.created_at)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(id) => Ok(Employee {
                id,
                shop_id: new.shop_id,
                email: new.email.to_string(),
                name: new.name.to_string(),
                role: new.role,
                lang: new.lang,
                created_at: new.created_at,
            }),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::AlreadyExists(format!("employee {}", new.email)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The employees of a shop, by name.
    pub async fn employees_of_shop(&self, shop_id: i64) -> Result<Vec<Employee>> {
        let rows: Vec<EmployeeRow> = sqlx::query_as(select_employee!(
            "",
            "FROM employees e WHERE e.shop_id = $1 ORDER BY LOWER(e.name), e.id"
        ))
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(EmployeeRow::decode).collect()
    }

    /// Every employee of every shop, by shop then name.
    pub async fn all_employees(&self) -> Result<Vec<Employee>> {
        let rows: Vec<EmployeeRow> = sqlx::query_as(select_employee!(
            "",
            "FROM employees e ORDER BY e.shop_id, LOWER(e.name), e.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(EmployeeRow::decode).collect()
    }

    pub async fn employee_by_id(&self, id: i64) -> Result<Option<Employee>> {
        let row: Option<EmployeeRow> =
            sqlx::query_as(select_employee!("", "FROM employees e WHERE e.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(EmployeeRow::decode).transpose()
    }

    /// The employee with this (lowercase) address.
    pub async fn employee_by_email(&self, email: &str) -> Result<Option<Employee>> {
        Ok(self
            .employee_credentials(email)
            .await?
            .map(|(employee, _)| employee))
    }

    /// The employee with this (lowercase) address and the PHC string of their password.
    pub async fn employee_credentials(&self, email: &str) -> Result<Option<(Employee, String)>> {
        let row: Option<CredentialsRow> = sqlx::query_as(select_employee!(
            ", e.password_hash",
            "FROM employees e WHERE e.email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((row.employee.decode()?, row.password_hash)))
            .transpose()
    }

    /// Replaces an employee's password hash and closes their sessions.
    pub async fn set_employee_password(&self, employee_id: i64, password_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE employees SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(employee_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("employee {employee_id}")));
        }
        sqlx::query("DELETE FROM web_sessions WHERE employee_id = $1")
            .bind(employee_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the language an employee reads the back office in.
    pub async fn set_employee_lang(&self, employee_id: i64, lang: UiLang) -> Result<()> {
        sqlx::query("UPDATE employees SET lang = $1 WHERE id = $2")
            .bind(lang.code())
            .bind(employee_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The shop an employee belongs to.
    pub async fn shop_of_employee(&self, employee: &Employee) -> Result<Shop> {
        sqlx::query_as("SELECT id, name, retention_months, created_at FROM shops WHERE id = $1")
            .bind(employee.shop_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("shop {}", employee.shop_id)))
    }

    pub async fn insert_web_session(
        &self,
        token_hash: &str,
        employee_id: i64,
        csrf_token: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, employee_id, csrf_token, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token_hash)
        .bind(employee_id)
        .bind(csrf_token)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session whose token hashes to `token_hash`, with its employee.
    pub async fn web_session(&self, token_hash: &str) -> Result<Option<StoredSession>> {
        let row: Option<SessionRow> = sqlx::query_as(select_employee!(
            ", s.csrf_token, s.created_at AS session_created_at, s.last_seen_at",
            "FROM web_sessions s JOIN employees e ON e.id = s.employee_id WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredSession {
                employee: row.employee.decode()?,
                csrf_token: row.csrf_token,
                created_at: row.session_created_at,
                last_seen_at: row.last_seen_at,
            })
        })
        .transpose()
    }

    pub async fn touch_web_session(&self, token_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_web_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes the sessions idle since `idle_before` or created before `created_before`;
    /// how many.
    pub async fn delete_expired_web_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM web_sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(idle_before)
                .bind(created_before)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    pub async fn insert_api_token(
        &self,
        employee_id: i64,
        token_hash: &str,
        label: &str,
        now: i64,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_tokens (employee_id, token_hash, label, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(employee_id)
        .bind(token_hash)
        .bind(label)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The API token that hashes to `token_hash`, with its employee.
    pub async fn api_token(&self, token_hash: &str) -> Result<Option<StoredApiToken>> {
        let row: Option<ApiTokenRow> = sqlx::query_as(select_employee!(
            ", t.id AS token_id, t.last_used_at",
            "FROM api_tokens t JOIN employees e ON e.id = t.employee_id WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredApiToken {
                id: row.token_id,
                employee: row.employee.decode()?,
                last_used_at: row.last_used_at,
            })
        })
        .transpose()
    }

    /// The API tokens of an employee, newest first.
    pub async fn api_tokens_of(&self, employee_id: i64) -> Result<Vec<ApiTokenInfo>> {
        Ok(sqlx::query_as(
            "SELECT id, label, created_at, last_used_at FROM api_tokens \
             WHERE employee_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(employee_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes the employee's token `id`; false when they have no such token.
    pub async fn delete_api_token(&self, employee_id: i64, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND employee_id = $2")
            .bind(id)
            .bind(employee_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn touch_api_token(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed sign-in for `subject` (`ip:…` or `account:…`), dropping that
    /// subject's failures older than `forget_before`.
    pub async fn record_sign_in_failure(
        &self,
        subject: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1 AND at < $2")
            .bind(subject)
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sign_in_failures (subject, at) VALUES ($1, $2)")
            .bind(subject)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many failed sign-ins `subject` had since `since`.
    pub async fn sign_in_failures_since(&self, subject: &str, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM sign_in_failures WHERE subject = $1 AND at >= $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The time of `subject`'s failure number `skip` (from 0, oldest first) since `since`.
    pub async fn sign_in_failure_at(
        &self,
        subject: &str,
        since: i64,
        skip: i64,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT at FROM sign_in_failures WHERE subject = $1 AND at >= $2 \
             ORDER BY at LIMIT 1 OFFSET $3",
        )
        .bind(subject)
        .bind(since)
        .bind(skip)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn clear_sign_in_failures(&self, subject: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1")
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// What became of a change to a shop's team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamChange {
    Done,
    /// Refused: the shop would be left without an administrator.
    LastAdmin,
}

impl Store {
    /// Locks the shop's team for the rest of `tx`: two administrators demoting or removing each
    /// other at once would otherwise both see the other one still there (PostgreSQL's read
    /// committed), and leave the shop with none. SQLite's write transaction already serialises.
    async fn lock_team(tx: &mut sqlx::Transaction<'static, sqlx::Any>, shop_id: i64) -> Result<()> {
        sqlx::query("UPDATE shops SET id = id WHERE id = $1")
            .bind(shop_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Whether `employee` is, right now, their shop's only administrator.
    async fn is_last_admin(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        employee: &Employee,
    ) -> Result<bool> {
        let admin = Role::Admin.to_string();
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM employees WHERE id = $1 AND shop_id = $2")
                .bind(employee.id)
                .bind(employee.shop_id)
                .fetch_optional(&mut **tx)
                .await?;
        if role.as_deref() != Some(admin.as_str()) {
            return Ok(false);
        }
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM employees WHERE shop_id = $1 AND role = $2 AND id <> $3",
        )
        .bind(employee.shop_id)
        .bind(&admin)
        .bind(employee.id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(others == 0)
    }

    /// Gives `employee` the role `role`, unless that takes the shop's last administrator away.
    pub async fn set_employee_role(&self, employee: &Employee, role: Role) -> Result<TeamChange> {
        let mut tx = self.begin_write().await?;
        Self::lock_team(&mut tx, employee.shop_id).await?;
        if role != Role::Admin && Self::is_last_admin(&mut tx, employee).await? {
            return Ok(TeamChange::LastAdmin);
        }
        let updated = sqlx::query("UPDATE employees SET role = $1 WHERE id = $2 AND shop_id = $3")
            .bind(role.to_string())
            .bind(employee.id)
            .bind(employee.shop_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("employee {}", employee.id)));
        }
        tx.commit().await?;
        Ok(TeamChange::Done)
    }

    /// Removes `employee` from their shop in one transaction: their tickets become unassigned,
    /// their sessions, API tokens and presence end, the timeline keeps what they did without
    /// their name. The shop's last administrator stays.
    pub async fn remove_employee(&self, employee: &Employee) -> Result<TeamChange> {
        let mut tx = self.begin_write().await?;
        Self::lock_team(&mut tx, employee.shop_id).await?;
        if Self::is_last_admin(&mut tx, employee).await? {
            return Ok(TeamChange::LastAdmin);
        }
        // Spelled out rather than left to the foreign keys, so that a database whose keys
        // are not enforced (SQLite without the pragma) ends up the same.
        for statement in [
            "UPDATE tickets SET assignee_id = NULL, assignee = NULL WHERE assignee_id = $1",
            "UPDATE ticket_events SET employee_id = NULL WHERE employee_id = $1",
            "DELETE FROM ticket_presence WHERE employee_id = $1",
            "DELETE FROM web_sessions WHERE employee_id = $1",
            "DELETE FROM api_tokens WHERE employee_id = $1",
        ] {
            sqlx::query(statement)
                .bind(employee.id)
                .execute(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query("DELETE FROM employees WHERE id = $1 AND shop_id = $2")
            .bind(employee.id)
            .bind(employee.shop_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("employee {}", employee.id)));
        }
        tx.commit().await?;
        Ok(TeamChange::Done)
    }

    /// When each employee of the shop last signed in, for those with a session still open
    /// (sessions end at sign-out and expiry, so older sign-ins are not known).
    pub async fn last_sign_ins(&self, shop_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT s.employee_id, MAX(s.created_at) FROM web_sessions s \
             JOIN employees e ON e.id = s.employee_id WHERE e.shop_id = $1 \
             GROUP BY s.employee_id",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
