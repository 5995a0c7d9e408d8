//! Text folded for sorting and searching, and the folded copies the database keeps of it.

use super::db::Db;
use crate::error::Result;

/// A name folded for sorting and searching: lower-case, Hungarian (and common Latin)
/// accents removed, so "Ábel" sorts with "A" and "eva" finds "Éva" on every database.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'ő' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'ű' => 'u',
            'ç' | 'č' => 'c',
            'š' => 's',
            'ž' => 'z',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// Tables and columns whose folded copy (`…_key`) the filters search.
const FOLDED: [(&str, &str, &str); 4] = [
    ("tenants", "name", "name_key"),
    ("users", "email", "email_key"),
    ("services", "name", "name_key"),
    ("roles", "name", "name_key"),
];

/// Fills folded copies that are still empty: rows written before the copies existed, and
/// the built-in rows the migrations insert. Idempotent; cheap once everything is filled.
pub async fn backfill(db: &Db) -> Result<()> {
    for (table, column, key) in FOLDED {
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, {column} FROM {table} WHERE {key} = ''"
        )))
        .fetch_all(db.pool())
        .await?;
        for (id, text) in rows {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {key} = $1 WHERE id = $2"
            )))
            .bind(fold(&text))
            .bind(&id)
            .execute(db.pool())
            .await?;
        }
    }
    Ok(())
}
