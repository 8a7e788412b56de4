//! Expected digests (`sha256:<hex>`, `blake3:<hex>`) and the running hash of a download, fed as
//! the bytes arrive so that checking a checksum never reads the file a second time.

use std::fmt;

use sha2::Digest;

/// A digest algorithm a checksum may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Blake3,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake3 => "blake3",
        }
    }
}

/// An expected digest: the algorithm and 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl Checksum {
    /// Parses `sha256:<64 hex digits>` or `blake3:<64 hex digits>` (either case).
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let usage = "write `sha256:<64 hex digits>` (what sha256sum prints) or `blake3:<64 hex digits>` (what b3sum prints)";
        let (name, hex) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("`{text}` names no algorithm: {usage}"))?;
        let algorithm = match name.to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => Algorithm::Sha256,
            "blake3" => Algorithm::Blake3,
            other => return Err(format!("`{other}` is not a supported algorithm: {usage}")),
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{hex}` is not 64 hex digits: {usage}"));
        }
        Ok(Checksum {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// A running digest of bytes as they arrive.
pub struct Hasher {
    algorithm: Algorithm,
    state: State,
}

enum State {
    Sha256(Box<sha2::Sha256>),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(Box::default()),
            Algorithm::Blake3 => State::Blake3(Box::default()),
        };
        Hasher { algorithm, state }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Sha256(hasher) => hasher.update(bytes),
            State::Blake3(hasher) => {
                hasher.update(bytes);
            }
        }
    }

    /// The digest of everything so far (the hasher can go on).
    pub fn checksum(&self) -> Checksum {
        let hex = match &self.state {
            State::Sha256(hasher) => hasher
                .as_ref()
                .clone()
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            State::Blake3(hasher) => hasher.finalize().to_hex().to_string(),
        };
        Checksum {
            algorithm: self.algorithm,
            hex,
        }
    }

    /// Starts over, as if nothing had been hashed.
    pub fn reset(&mut self) {
        *self = Hasher::new(self.algorithm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let sha = format!("SHA256:{}", "AB".repeat(32));
        let parsed = Checksum::parse(&sha).unwrap();
        assert_eq!(parsed.algorithm, Algorithm::Sha256);
        assert_eq!(parsed.to_string(), format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(
            Checksum::parse(&format!("blake3:{}", "0".repeat(64)))
                .unwrap()
                .algorithm,
            Algorithm::Blake3
        );
        assert!(
            Checksum::parse("abc")
                .unwrap_err()
                .contains("names no algorithm")
        );
        assert!(
            Checksum::parse(&format!("md5:{}", "0".repeat(32)))
                .unwrap_err()
                .contains("`md5` is not a supported")
        );
        assert!(
            Checksum::parse("sha256:1234")
                .unwrap_err()
                .contains("not 64 hex digits")
        );
        assert!(Checksum::parse(&format!("sha256:{}", "g".repeat(64))).is_err());
    }

    #[test]
    fn digests_match_known_values() {
        let mut sha = Hasher::new(Algorithm::Sha256);
        sha.update(b"a");
        sha.update(b"bc");
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha.checksum().hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut b3 = Hasher::new(Algorithm::Blake3);
        b3.update(b"abc");
        assert_eq!(
            b3.checksum().to_string(),
            format!("blake3:{}", blake3::hash(b"abc").to_hex())
        );
        b3.reset();
        assert_eq!(b3.checksum().hex, blake3::hash(b"").to_hex().to_string());
    }
}
