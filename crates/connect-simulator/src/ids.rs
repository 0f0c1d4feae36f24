//! Connect identifiers, as far as the simulator checks them.

/// True for the canonical 8-4-4-4-12 hexadecimal form Connect uses for IDs.
pub(crate) fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    #[test]
    fn uuid_shape() {
        assert!(is_uuid(ID));
        assert!(is_uuid(&ID.to_uppercase()));
        assert!(!is_uuid("0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"));
        assert!(!is_uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g"));
        assert!(!is_uuid(""));
    }
}
