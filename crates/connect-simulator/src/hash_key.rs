//! MD5 (RFC 1321), only to map a Kinesis partition key to its 128-bit hash key as the real
//! service does, through RustCrypto's `md-5`. Not for anything that needs a secure hash.

use md5::{Digest, Md5};

/// The 16-byte MD5 digest of `input`.
pub(crate) fn digest(input: &[u8]) -> [u8; 16] {
    Md5::digest(input).into()
}

/// The hash key Kinesis gives a partition key: its MD5 digest read as a big-endian 128-bit
/// number.
pub(crate) fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(digest(partition_key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(input: &str) -> String {
        digest(input.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn rfc_1321_test_suite() {
        assert_eq!(hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex("a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
        assert_eq!(
            hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn hash_keys_are_the_digest_big_endian() {
        assert_eq!(hash_key("abc"), 0x9001_5098_3cd2_4fb0_d696_3f7d_28e1_7f72);
    }
}
