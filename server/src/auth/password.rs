//! Mosquitto's `password_file`, as written by `mosquitto_passwd`: one `user:hash` per line,
//! where the hash is `$7$<iterations>$<base64 salt>$<base64 hash>` (PBKDF2-HMAC-SHA512, the
//! default since Mosquitto 2.0) or `$6$<base64 salt>$<base64 hash>` (SHA-512 of password
//! then salt, Mosquitto 1.6 and earlier). Salts are 12 bytes and hashes 64 bytes, as
//! Mosquitto requires. Lines starting with `#` and blank lines are skipped.
//!
//! Unlike Mosquitto, which logs a bad line and carries on without that user, any line we
//! cannot use stops the broker from starting: a broker meant to be locked down must not come
//! up with some of its users silently missing.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// Largest password file read (a file of 100,000 users is about 15 MB; 16 MiB bounds memory
/// and start-up time while leaving room for that).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most entries accepted.
pub const MAX_ENTRIES: usize = 100_000;
/// Highest PBKDF2 iteration count accepted. `mosquitto_passwd` writes 101; each CONNECT
/// pays the iterations in CPU, so an absurd value in the file must not turn every login
/// into a denial of service.
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// MQTT strings are at most 65,535 bytes: a longer user name can never log in.
const MAX_USERNAME: usize = 65_535;
const SALT_LEN: usize = 12;
const HASH_LEN: usize = 64;

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// `$6$`: SHA-512(password ‖ salt).
    Sha512 { salt: Vec<u8>, hash: [u8; HASH_LEN] },
    /// `$7$`: PBKDF2-HMAC-SHA512(password, salt, iterations), 64-byte output.
    Pbkdf2Sha512 {
        iterations: u32,
        salt: Vec<u8>,
        hash: [u8; HASH_LEN],
    },
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hashes stay out of logs and test output.
        match self {
            PasswordHash::Sha512 { .. } => f.write_str("$6$…"),
            PasswordHash::Pbkdf2Sha512 { iterations, .. } => write!(f, "$7${iterations}$…"),
        }
    }
}

impl PasswordHash {
    /// Parses the part after `user:`.
    pub fn parse(s: &str) -> Result<PasswordHash, String> {
        let fields: Vec<&str> = s.split('$').collect();
        let decode = |what: &str, b64: &str, len: usize| -> Result<Vec<u8>, String> {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|e| format!("{what} is not valid base64 ({e})"))?;
            if bytes.len() != len {
                return Err(format!("{what} is {} bytes, expected {len}", bytes.len()));
            }
            Ok(bytes)
        };
        let to_hash = |v: Vec<u8>| -> [u8; HASH_LEN] {
            let mut h = [0; HASH_LEN];
            h.copy_from_slice(&v);
            h
        };
        match fields.as_slice() {
            ["", "6", salt, hash] => Ok(PasswordHash::Sha512 {
                salt: decode("salt", salt, SALT_LEN)?,
                hash: to_hash(decode("hash", hash, HASH_LEN)?),
            }),
            ["", "7", iterations, salt, hash] => {
                let iterations: u32 = iterations
                    .parse()
                    .map_err(|_| format!("iteration count {iterations:?} is not a number"))?;
                if !(1..=MAX_ITERATIONS).contains(&iterations) {
                    return Err(format!(
                        "iteration count {iterations} is outside 1..={MAX_ITERATIONS}"
                    ));
                }
                Ok(PasswordHash::Pbkdf2Sha512 {
                    iterations,
                    salt: decode("salt", salt, SALT_LEN)?,
                    hash: to_hash(decode("hash", hash, HASH_LEN)?),
                })
            }
            _ => Err(
                "unknown password hash format: expected $7$<iterations>$<salt>$<hash> \
                      or $6$<salt>$<hash> as written by mosquitto_passwd (plain-text \
                      passwords are not accepted; hash them with `mosquitto_passwd -U FILE`)"
                    .to_owned(),
            ),
        }
    }

    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        let mut out = [0u8; HASH_LEN];
        let expected = match self {
            PasswordHash::Sha512 { salt, hash } => {
                let mut d = Sha512::new();
                d.update(password);
                d.update(salt);
                out.copy_from_slice(&d.finalize());
                hash
            }
            PasswordHash::Pbkdf2Sha512 {
                iterations,
                salt,
                hash,
            } => {
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut out);
                hash
            }
        };
        out.ct_eq(expected).into()
    }

    /// Iterations a verification costs (1 for `$6$`).
    pub fn cost(&self) -> u32 {
        match self {
            PasswordHash::Sha512 { .. } => 1,
            PasswordHash::Pbkdf2Sha512 { iterations, .. } => *iterations,
        }
    }
}

/// A parse error with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// The users of a password file.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    users: HashMap<String, PasswordHash>,
    /// What an unknown user name is checked against: the file's most common hash kind and
    /// iteration count, so the answer takes as long as for a real user and its timing does
    /// not tell which names exist.
    dummy: Option<PasswordHash>,
}

impl PasswordFile {
    /// Parses the file's text. Error messages never contain a password or hash.
    pub fn parse(text: &str) -> Result<PasswordFile, LineError> {
        let mut users = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| LineError { line, message };
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = l.split_once(':') else {
                return Err(err("expected `username:hash`".to_owned()));
            };
            // Mosquitto trims blanks around both fields.
            let (user, hash) = (user.trim(), hash.trim());
            if user.is_empty() {
                return Err(err("empty user name".to_owned()));
            }
            if user.len() > MAX_USERNAME {
                return Err(err(format!("user name longer than {MAX_USERNAME} bytes")));
            }
            let hash = PasswordHash::parse(hash).map_err(|m| err(format!("user {user}: {m}")))?;
            if users.len() >= MAX_ENTRIES {
                return Err(err(format!("more than {MAX_ENTRIES} users")));
            }
            if users.insert(user.to_owned(), hash).is_some() {
                return Err(err(format!("user {user} appears twice")));
            }
        }
        let dummy = most_common_cost(&users);
        Ok(PasswordFile { users, dummy })
    }

    /// The hash an unknown user is verified against (see the field); never matches.
    pub fn dummy(&self) -> PasswordHash {
        self.dummy.clone().unwrap_or(PasswordHash::Pbkdf2Sha512 {
            iterations: 101,
            salt: vec![0; 12],
            hash: [0; 64],
        })
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The stored hash of `user`.
    pub fn get(&self, user: &str) -> Option<&PasswordHash> {
        self.users.get(user)
    }
}

/// A never-matching hash of the kind and cost most users of the file have.
fn most_common_cost(users: &HashMap<String, PasswordHash>) -> Option<PasswordHash> {
    let mut counts: HashMap<(bool, u32), usize> = HashMap::new();
    for h in users.values() {
        let key = (matches!(h, PasswordHash::Pbkdf2Sha512 { .. }), h.cost());
        *counts.entry(key).or_default() += 1;
    }
    let ((pbkdf2, cost), _) = counts.into_iter().max_by_key(|(k, n)| (*n, *k))?;
    Some(if pbkdf2 {
        PasswordHash::Pbkdf2Sha512 {
            iterations: cost,
            salt: vec![0; 12],
            hash: [0; 64],
        }
    } else {
        PasswordHash::Sha512 {
            salt: vec![0; 12],
            hash: [0; 64],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Debian's `mosquitto_passwd` 2.0.11:
    /// `mosquitto_passwd -b -c pw alice 's3cret pass'` and
    /// `mosquitto_passwd -H sha512 -b pw bob hunter2`.
    const FILE: &str = include_str!("../../tests/data/mosquitto_passwd.txt");

    #[test]
    fn pbkdf2_line_from_mosquitto_passwd_verifies() {
        let f = PasswordFile::parse(FILE).unwrap();
        let alice = f.get("alice").unwrap();
        assert!(matches!(
            alice,
            PasswordHash::Pbkdf2Sha512 {
                iterations: 101,
                ..
            }
        ));
        assert!(alice.verify(b"s3cret pass"));
        assert!(!alice.verify(b"s3cret pasS"));
        assert!(!alice.verify(b""));
    }

    #[test]
    fn sha512_line_from_mosquitto_passwd_verifies() {
        let f = PasswordFile::parse(FILE).unwrap();
        let bob = f.get("bob").unwrap();
        assert!(matches!(bob, PasswordHash::Sha512 { .. }));
        assert!(bob.verify(b"hunter2"));
        assert!(!bob.verify(b"hunter3"));
        assert_eq!(f.len(), 2);
        assert!(f.get("carol").is_none());
    }

    #[test]
    fn comments_blank_lines_and_blanks_around_fields_are_accepted() {
        let line = FILE.lines().find(|l| l.starts_with("bob:")).unwrap();
        let hash = line.split_once(':').unwrap().1;
        let text = format!("# users\n\n  bob : {hash}  \r\n");
        let f = PasswordFile::parse(&text).unwrap();
        assert!(f.get("bob").unwrap().verify(b"hunter2"));
    }

    #[test]
    fn malformed_lines_are_rejected_with_their_line_number() {
        let salt = STANDARD.encode([1u8; 12]);
        let hash = STANDARD.encode([2u8; 64]);
        let cases = [
            ("plain:secret".to_owned(), "unknown password hash format"),
            ("nocolon".to_owned(), "username:hash"),
            (format!(":$6${salt}${hash}"), "empty user name"),
            (
                format!("u:$5${salt}${hash}"),
                "unknown password hash format",
            ),
            (format!("u:$6${salt}"), "unknown password hash format"),
            (format!("u:$6$!!${hash}"), "salt is not valid base64"),
            (
                format!("u:$6${}${hash}", STANDARD.encode([1u8; 8])),
                "salt is 8 bytes",
            ),
            (
                format!("u:$6${salt}${}", STANDARD.encode([1u8; 32])),
                "hash is 32 bytes",
            ),
            (format!("u:$7$0${salt}${hash}"), "outside 1..="),
            (format!("u:$7$x${salt}${hash}"), "not a number"),
            (format!("u:$7$2000000${salt}${hash}"), "outside 1..="),
        ];
        for (line, want) in cases {
            let text = format!("# header\n{line}\n");
            let e = PasswordFile::parse(&text).unwrap_err();
            assert_eq!(e.line, 2, "{line}");
            assert!(e.message.contains(want), "{line}: {}", e.message);
        }
    }

    #[test]
    fn duplicate_user_is_rejected() {
        let line = FILE.lines().find(|l| l.starts_with("bob:")).unwrap();
        let e = PasswordFile::parse(&format!("{line}\n{line}\n")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("twice"));
    }

    #[test]
    fn debug_output_hides_the_hash() {
        let f = PasswordFile::parse(FILE).unwrap();
        let s = format!("{f:?}");
        assert!(!s.contains("iXiO9WAf"), "{s}");
    }
}
