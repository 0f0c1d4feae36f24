//! The wallboard's script and stylesheet, built into the binary and served from the
//! exporter's own paths: the page loads nothing from elsewhere (it works on a network without
//! the internet) and has no inline script or style (it runs under a strict
//! Content-Security-Policy).

/// One file served as is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asset {
    /// Where it is served.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content.
    pub body: &'static str,
    /// A hash of the content, in the URL the page links: a new build with another file gets
    /// another URL, so the file can be cached without a stale copy outliving an upgrade.
    pub version: u64,
}

impl Asset {
    const fn new(path: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Self {
            path,
            content_type,
            body,
            version: fnv1a(body.as_bytes()),
        }
    }

    /// The URL the page links: the path with the content's version.
    pub fn href(&self) -> String {
        format!("{}?v={:016x}", self.path, self.version)
    }
}

/// The wallboard's script.
pub(super) const SCRIPT: Asset = Asset::new(
    "/static/wallboard.js",
    "text/javascript; charset=utf-8",
    include_str!("assets/wallboard.js"),
);

/// The stylesheet of the landing page, wallboard and poll-state table.
pub(super) const STYLESHEET: Asset = Asset::new(
    "/static/wallboard.css",
    "text/css; charset=utf-8",
    include_str!("assets/wallboard.css"),
);

/// `Cache-Control` of the assets: a day (their links carry the content's version); private,
/// as they may sit behind basic authentication.
pub(super) const CACHE_CONTROL: &str = "private, max-age=86400";

/// The asset served at `path`.
pub(super) fn find(path: &str) -> Option<&'static Asset> {
    [&SCRIPT, &STYLESHEET]
        .into_iter()
        .find(|asset| asset.path == path)
}

/// FNV-1a: small, and computable at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut index = 0;
    while index < bytes.len() {
        hash = (hash ^ bytes[index] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        index += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_found_by_path_and_versioned_by_content() {
        assert_eq!(
            find("/static/wallboard.js").map(|a| a.content_type),
            Some("text/javascript; charset=utf-8")
        );
        assert!(find("/static/other.js").is_none());
        assert_ne!(SCRIPT.version, STYLESHEET.version);
        assert!(SCRIPT.href().starts_with("/static/wallboard.js?v="));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
