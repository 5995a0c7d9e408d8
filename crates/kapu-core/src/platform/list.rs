//! Paging and sorting common to every list.

use serde::Serialize;

use super::fold::fold;

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page.max(1)).max(1)
    }
}

/// Paging and sorting common to every list; the sort key is checked by each list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub desc: bool,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl ListQuery {
    /// `(page, per_page, offset)` with the page size capped by `max`.
    pub fn window(&self, max: i64) -> (i64, i64, i64) {
        let per_page = self.per_page.unwrap_or(25).clamp(1, max.max(1));
        let page = self.page.unwrap_or(1).max(1);
        (page, per_page, (page - 1) * per_page)
    }

    /// The filter as a case-insensitive `LIKE` pattern with wildcards in the input escaped.
    pub fn like_pattern(&self) -> Option<String> {
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())?;
        let mut p = String::with_capacity(q.len() + 2);
        p.push('%');
        for c in fold(q).chars() {
            if matches!(c, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push('%');
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_capped_and_wildcards_escaped() {
        let q = ListQuery {
            q: Some("50%_Kov".into()),
            per_page: Some(5000),
            page: Some(3),
            ..Default::default()
        };
        assert_eq!(q.window(100), (3, 100, 200));
        assert_eq!(q.like_pattern().unwrap(), "%50\\%\\_kov%");
        assert_eq!(ListQuery::default().like_pattern(), None);
    }
}
