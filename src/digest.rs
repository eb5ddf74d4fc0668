//! FNV-1a, 64 bits: a digest of bytes that stays the same across builds
//! and Rust versions (unlike the standard hasher), for the names and keys
//! the tool stores or compares between processes.

/// FNV-1a's usual offset basis.
pub const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running FNV-1a digest.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Fnv1a {
    pub fn new() -> Self {
        Self(FNV_OFFSET_BASIS)
    }

    /// A digest from another basis (two bases make a 128-bit key).
    pub fn with_basis(basis: u64) -> Self {
        Self(basis)
    }

    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
        self
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// The FNV-1a digest of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    Fnv1a::new().write(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_fnv1a_as_published() {
        // The reference values of the FNV-1a 64-bit test suite.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let mut parts = Fnv1a::new();
        parts.write(b"foo").write(b"bar");
        assert_eq!(parts.finish(), fnv1a(b"foobar"));
    }
}
