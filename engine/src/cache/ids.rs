//! The names the cache files things under: a stage's key, the digest of an output (or an input),
//! the id of one invocation. All three are hex or plain strings; each is its own type so that a
//! key is never passed where a digest is meant (`lookup(&key)` and `output_path(&digest)` look
//! alike). They serialize as the bare string, so run records, the ledger and `--json` output read
//! as they did when these were `String`s.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(text: impl Into<String>) -> Self {
                Self(text.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            /// The bare string; width and alignment (`{:<18}`) apply.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }
    };
}

name_type! {
    /// A stage's cache key: the BLAKE3 (hex) of its key manifest. Names its run record, lock and
    /// staging folder.
    StageKey
}

name_type! {
    /// The BLAKE3 content digest (hex) of a file or folder: a stage's output, which names its
    /// folder in the object store, or an input bound to a stage.
    Digest
}

name_type! {
    /// One invocation of `pipeline` (`<unix seconds>-<pid>`): names its log folder and its lines
    /// in the run history.
    RunId
}

impl StageKey {
    /// The first 12 characters, as progress lines and `pipeline log` show a key.
    pub fn short(&self) -> &str {
        &self.0[..12.min(self.0.len())]
    }
}

impl From<blake3::Hash> for Digest {
    fn from(hash: blake3::Hash) -> Self {
        Digest(hash.to_hex().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_as_the_bare_string() {
        let key = StageKey::new("ab12");
        assert_eq!(serde_json::to_string(&key).unwrap(), r#""ab12""#);
        let back: StageKey = serde_json::from_str(r#""ab12""#).unwrap();
        assert_eq!(back, key);
        let digests = vec![Digest::new("00ff")];
        assert_eq!(serde_json::to_string(&digests).unwrap(), r#"["00ff"]"#);
    }

    #[test]
    fn shown_as_the_bare_string_with_padding() {
        let run = RunId::new("17-42");
        assert_eq!(format!("[{run:<8}]"), "[17-42   ]");
        assert_eq!(run.to_string(), "17-42");
        let key = StageKey::new("0123456789abcdef");
        assert_eq!(key.short(), "0123456789ab");
        assert_eq!(StageKey::new("abc").short(), "abc");
    }

    #[test]
    fn a_digest_is_the_hex_of_its_hash() {
        let hash = blake3::hash(b"bytes");
        assert_eq!(Digest::from(hash).as_str(), hash.to_hex().as_str());
    }
}
