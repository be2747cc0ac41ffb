//! Users and server secrets in the store.

use sqlx::Row;

use super::{Store, StoreError, StoreResult, on_pool};
use crate::domain::{Product, Viewer};
use crate::ids::Id;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Id,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub product: Product,
    pub country: String,
    /// Tokens carry the version they were issued under; bumping it revokes them all.
    pub token_version: i64,
}

impl From<&UserRecord> for Viewer {
    fn from(record: &UserRecord) -> Viewer {
        Viewer {
            id: record.id,
            username: record.username.clone(),
            display_name: record.display_name.clone(),
            product: record.product,
            country: record.country.clone(),
            token_version: record.token_version,
        }
    }
}

/// What `segue users add` sets.
#[derive(Debug, Clone)]
pub struct UserUpsert<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    /// `None`: the username on creation, unchanged on update.
    pub display_name: Option<&'a str>,
    pub product: Option<Product>,
    pub country: Option<&'a str>,
}

/// `SELECT <every user column> FROM users WHERE <condition>`.
macro_rules! select_user_where {
    ($condition:literal) => {
        concat!(
            "SELECT id, username, password_hash, display_name, product, country, token_version FROM users WHERE ",
            $condition
        )
    };
}

fn user_from_row<R>(row: &R) -> StoreResult<UserRecord>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    let product: String = row.try_get("product")?;
    Ok(UserRecord {
        id: Id::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("user id {id:?}")))?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        display_name: row.try_get("display_name")?,
        product: Product::parse(&product).ok_or_else(|| StoreError::Corrupt(format!("product {product:?}")))?,
        country: row.try_get("country")?,
        token_version: row.try_get("token_version")?,
    })
}

impl Store {
    /// Creates a user; fails with a unique violation if the username is taken.
    pub async fn insert_user(&self, user: &UserUpsert<'_>, now_ms: i64) -> StoreResult<Id> {
        let id = Id::random();
        let product = user.product.unwrap_or(Product::Free).as_str();
        let country = user.country.unwrap_or("US");
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, username, password_hash, display_name, product, country, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.as_str())
            .bind(user.username)
            .bind(user.password_hash)
            .bind(user.display_name.unwrap_or(user.username))
            .bind(product)
            .bind(country)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(id)
    }

    /// Creates the user, or updates the product, country and display name of an existing one
    /// (its password stays). Returns the id and whether it was created.
    pub async fn upsert_user(&self, user: &UserUpsert<'_>, now_ms: i64) -> StoreResult<(Id, bool)> {
        if let Some(existing) = self.user_by_username(user.username).await? {
            let product = user.product.unwrap_or(existing.product).as_str();
            let country = user.country.unwrap_or(&existing.country);
            let display_name = user.display_name.unwrap_or(&existing.display_name);
            on_pool!(self, |pool| {
                sqlx::query("UPDATE users SET product = $1, country = $2, display_name = $3 WHERE id = $4")
                    .bind(product)
                    .bind(country)
                    .bind(display_name)
                    .bind(existing.id.as_str())
                    .execute(pool)
                    .await
                    .map(drop)
            })?;
            return Ok((existing.id, false));
        }
        match self.insert_user(user, now_ms).await {
            Ok(id) => Ok((id, true)),
            // Created by someone else between the two statements: update that one.
            Err(err) if err.is_unique_violation() => Box::pin(self.upsert_user(user, now_ms)).await,
            Err(err) => Err(err),
        }
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let sql = select_user_where!("username = $1");
        let row = on_pool!(self, |pool| {
            sqlx::query(sql).bind(username).fetch_optional(pool).await?.map(|row| user_from_row(&row)).transpose()
        })?;
        Ok(row)
    }

    pub async fn user_by_id(&self, id: Id) -> StoreResult<Option<UserRecord>> {
        let sql = select_user_where!("id = $1");
        let row = on_pool!(self, |pool| {
            sqlx::query(sql).bind(id.as_str()).fetch_optional(pool).await?.map(|row| user_from_row(&row)).transpose()
        })?;
        Ok(row)
    }

    /// Revokes every token of the user issued so far (access and refresh alike): bumps its
    /// token version. False when there is no such user.
    pub async fn bump_token_version(&self, id: Id) -> StoreResult<bool> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
                .bind(id.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected() == 1)
        })
        .map_err(StoreError::from)
    }

    /// Replaces the user's password hash and revokes every token issued so far, in one
    /// statement; only while the stored hash is still `current_hash` (false otherwise: the
    /// password changed meanwhile, or there is no such user).
    pub async fn replace_password(&self, id: Id, current_hash: &str, new_hash: &str) -> StoreResult<bool> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE users SET password_hash = $1, token_version = token_version + 1
                 WHERE id = $2 AND password_hash = $3",
            )
            .bind(new_hash)
            .bind(id.as_str())
            .bind(current_hash)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })
        .map_err(StoreError::from)
    }

    /// The users with these ids that exist, in no particular order.
    pub async fn users_by_ids(&self, ids: &[Id]) -> StoreResult<Vec<UserRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, username, password_hash, display_name, product, country, token_version FROM users WHERE id IN ({})",
            super::placeholders(1, ids.len())
        );
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(user_from_row).collect()
        })
    }

    /// The named secret, created (by `create`) and stored on first use, so every process that
    /// shares the store shares it.
    pub async fn secret(&self, name: &str, create: impl FnOnce() -> String) -> StoreResult<String> {
        let fresh = create();
        on_pool!(self, |pool| {
            sqlx::query("INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(&fresh)
                .execute(pool)
                .await
                .map(drop)
        })?;
        let secret: String = on_pool!(self, |pool| {
            sqlx::query("SELECT secret FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
                .try_get("secret")
        })?;
        Ok(secret)
    }
}
