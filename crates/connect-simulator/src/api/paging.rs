//! Paging as the service does it: `MaxResults` and opaque `NextToken`s (`sim:OFFSET` here).

use super::{invalid, Failure};

/// The page size of a POST operation's `MaxResults` (1 to 100, default 100).
pub(super) fn page_size(max_results: Option<i64>) -> Result<usize, Failure> {
    match max_results {
        None => Ok(100),
        Some(n @ 1..=100) => Ok(n as usize),
        Some(n) => Err(invalid(format!("MaxResults {n} is outside 1..100"))),
    }
}

/// The slice of `total` items a page covers, and the token of the next page.
pub(super) fn page_bounds(
    total: usize,
    token: Option<&str>,
    page_size: usize,
) -> Result<(usize, usize, Option<String>), Failure> {
    let start = match token {
        None => 0,
        Some(token) => token
            .strip_prefix("sim:")
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|offset| *offset < total)
            .ok_or_else(|| invalid(format!("invalid NextToken {token:?}")))?,
    };
    let end = (start + page_size).min(total);
    Ok((start, end, (end < total).then(|| format!("sim:{end}"))))
}
