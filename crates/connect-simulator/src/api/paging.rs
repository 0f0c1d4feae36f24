//! Paging as the service does it: `MaxResults` and opaque `NextToken`s (`sim:OFFSET` here).

use super::{invalid, Failure};

/// The page size of a POST operation's `MaxResults` (1 to 100, default 100).
pub(super) fn page_size(max_results: Option<i64>) -> Result<usize, Failure> {
    page_size_up_to(max_results, 100)
}

/// The page size of a `MaxResults` of 1 to `limit` (default 100, or `limit` if lower).
pub(super) fn page_size_up_to(max_results: Option<i64>, limit: usize) -> Result<usize, Failure> {
    match max_results {
        None => Ok(100.min(limit)),
        Some(n) if n >= 1 && n as u64 <= limit as u64 => Ok(n as usize),
        Some(n) => Err(invalid(format!("MaxResults {n} is outside 1..{limit}"))),
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

/// FNV-1a over `text`, in hex: the fingerprint of a request's shape.
pub(super) fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// [`page_bounds`] with tokens that carry the request shape: `sim:OFFSET@SHAPE`, so that a
/// token only continues the request shape it was issued for, as with the real API.
pub(super) fn shaped_page_bounds(
    total: usize,
    token: Option<&str>,
    page_size: usize,
    shape: &str,
) -> Result<(usize, usize, Option<String>), Failure> {
    let plain = match token {
        None => None,
        Some(token) => Some(
            token
                .strip_suffix(shape)
                .and_then(|rest| rest.strip_suffix('@'))
                .ok_or_else(|| {
                    invalid(format!(
                        "invalid NextToken {token:?}: not issued for this request"
                    ))
                })?,
        ),
    };
    let (start, end, next) = page_bounds(total, plain, page_size)?;
    Ok((start, end, next.map(|next| format!("{next}@{shape}"))))
}
