//! Authentication and authorization the way Mosquitto users know them: `allow_anonymous`,
//! `password_file` (hashes written by `mosquitto_passwd`) and `acl_file`.
//!
//! * `password.rs`: the password file and `$6$` / `$7$` hash verification.
//! * `acl.rs`: the ACL file and the per-client check (deny first, then grants).
//! * `topic.rs`: topic / filter comparisons used by the checks.
//! * `throttle.rs`: failed logins delay further attempts from the same source address.
//!
//! With no `acl_file` the broker keeps no per-client ACL at all (`Auth::client_acl` returns
//! `None`), so the publish and delivery paths cost one `Option` test.

pub mod acl;
pub mod password;
pub mod throttle;
mod topic;

use std::io::Read;
use std::path::Path;

pub use acl::{Access, AclFile, ClientAcl};
pub use password::{PasswordFile, PasswordHash};

use crate::config::Config;
use crate::error::Error;

/// Above this many PBKDF2 iterations a verification runs on tokio's blocking pool instead
/// of a worker thread (`mosquitto_passwd` writes 101, a fraction of a millisecond).
const INLINE_COST: u32 = 10_000;

/// Why a CONNECT is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No user name and `allow_anonymous` is false: 3.1.1 return code 5, v5 0x87.
    NotAuthorized,
    /// Unknown user, missing or wrong password: 3.1.1 return code 4, v5 0x86.
    BadUserNameOrPassword,
}

/// The loaded security settings.
#[derive(Debug, Clone)]
pub struct Auth {
    allow_anonymous: bool,
    passwords: Option<PasswordFile>,
    acl: Option<AclFile>,
}

impl Default for Auth {
    /// Open broker: anonymous clients allowed, no password file, no ACL.
    fn default() -> Self {
        Auth {
            allow_anonymous: true,
            passwords: None,
            acl: None,
        }
    }
}

impl Auth {
    /// Reads `password_file` and `acl_file` named in `config`. Any unreadable, oversized or
    /// malformed file is an error naming the file and line: the broker must not start with
    /// weaker security than configured.
    pub fn load(config: &Config) -> Result<Auth, Error> {
        let passwords = match &config.password_file {
            Some(path) => {
                let text = read_bounded("password_file", path)?;
                let file = PasswordFile::parse(&text).map_err(|e| Error::AuthFile {
                    what: "password_file",
                    path: path.clone(),
                    line: e.line,
                    message: e.message,
                })?;
                Some(file)
            }
            None => None,
        };
        let acl = match &config.acl_file {
            Some(path) => {
                let text = read_bounded("acl_file", path)?;
                let file = AclFile::parse(&text).map_err(|e| Error::AuthFile {
                    what: "acl_file",
                    path: path.clone(),
                    line: e.line,
                    message: e.message,
                })?;
                Some(file)
            }
            None => None,
        };
        let auth = Auth {
            allow_anonymous: config.effective_allow_anonymous(),
            passwords,
            acl,
        };
        tracing::info!(
            allow_anonymous = auth.allow_anonymous,
            password_file = ?config.password_file,
            users = auth.passwords.as_ref().map(PasswordFile::len),
            acl_file = ?config.acl_file,
            "security settings loaded"
        );
        Ok(auth)
    }

    pub fn allow_anonymous(&self) -> bool {
        self.allow_anonymous
    }

    /// Whether user names are checked against a `password_file`.
    pub fn has_password_file(&self) -> bool {
        self.passwords.is_some()
    }

    /// Checks CONNECT's credentials. Without a `password_file` any user name is accepted
    /// (as in Mosquitto); with one, the user must be listed and the password must match.
    /// The password never reaches a log line.
    pub async fn authenticate(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Result<(), Refused> {
        let Some(username) = username else {
            return if self.allow_anonymous {
                Ok(())
            } else {
                Err(Refused::NotAuthorized)
            };
        };
        let Some(file) = &self.passwords else {
            return Ok(());
        };
        let (hash, known) = match file.get(username) {
            Some(h) => (h.clone(), true),
            // Unknown users cost the same as a typical known one (same hash kind and
            // iteration count), so the answer time does not tell which user names exist.
            None => (file.dummy(), false),
        };
        let password = password.unwrap_or_default();
        let ok = if hash.cost() <= INLINE_COST {
            hash.verify(password)
        } else {
            let password = password.to_vec();
            tokio::task::spawn_blocking(move || hash.verify(&password))
                .await
                .unwrap_or(false)
        };
        if ok && known {
            Ok(())
        } else {
            Err(Refused::BadUserNameOrPassword)
        }
    }

    /// The ACL of a client that passed authentication; `None` when no `acl_file` is set
    /// (everything allowed, no per-message cost).
    pub fn client_acl(&self, client_id: &str, username: Option<&str>) -> Option<Box<ClientAcl>> {
        self.acl
            .as_ref()
            .map(|acl| Box::new(acl.for_client(client_id, username)))
    }
}

/// Reads a security file of at most `password::MAX_FILE_BYTES` as UTF-8.
fn read_bounded(what: &'static str, path: &Path) -> Result<String, Error> {
    let read_err = |source: std::io::Error| Error::AuthFileRead {
        what,
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(password::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > password::MAX_FILE_BYTES {
        return Err(Error::AuthFile {
            what,
            path: path.to_owned(),
            line: 0,
            message: format!("larger than {} bytes", password::MAX_FILE_BYTES),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::AuthFile {
            what,
            path: path.to_owned(),
            line,
            message: "not valid UTF-8".to_owned(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = include_str!("../../tests/data/mosquitto_passwd.txt");

    fn with_passwords(allow_anonymous: bool) -> Auth {
        Auth {
            allow_anonymous,
            passwords: Some(PasswordFile::parse(FILE).unwrap()),
            acl: None,
        }
    }

    #[tokio::test]
    async fn credentials_are_checked_against_the_file() {
        let auth = with_passwords(false);
        assert_eq!(
            auth.authenticate(Some("alice"), Some(b"s3cret pass")).await,
            Ok(())
        );
        assert_eq!(
            auth.authenticate(Some("bob"), Some(b"hunter2")).await,
            Ok(())
        );
        let bad = Err(Refused::BadUserNameOrPassword);
        assert_eq!(
            auth.authenticate(Some("alice"), Some(b"hunter2")).await,
            bad
        );
        assert_eq!(auth.authenticate(Some("alice"), None).await, bad);
        assert_eq!(auth.authenticate(Some("mallory"), Some(b"x")).await, bad);
        assert_eq!(
            auth.authenticate(None, None).await,
            Err(Refused::NotAuthorized)
        );
        assert_eq!(with_passwords(true).authenticate(None, None).await, Ok(()));
    }

    /// Unknown users are checked against a hash of the file's own kind and iteration count.
    #[test]
    fn unknown_users_cost_as_much_as_known_ones() {
        let file = PasswordFile::parse(FILE).unwrap();
        let known = file.get("alice").unwrap().cost();
        assert_eq!(file.dummy().cost(), known);
        assert!(!file.dummy().verify(b""));
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (salt, hash) = (b64.encode([1u8; 12]), b64.encode([0u8; 64]));
        let text: String = [("a", 1000), ("b", 1000), ("c", 101)]
            .iter()
            .map(|(u, n)| format!("{u}:$7${n}${salt}${hash}\n"))
            .collect();
        let file = PasswordFile::parse(&text);
        assert_eq!(file.map(|f| f.dummy().cost()), Ok(1000), "most common cost");
    }

    #[tokio::test]
    async fn without_a_password_file_any_user_name_is_accepted() {
        let auth = Auth::default();
        assert_eq!(auth.authenticate(Some("x"), Some(b"y")).await, Ok(()));
        assert_eq!(auth.authenticate(None, None).await, Ok(()));
        assert!(auth.client_acl("c", None).is_none());
    }

    #[tokio::test]
    async fn expensive_hashes_are_verified_off_the_worker() {
        let salt = [7u8; 12];
        let mut hash = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(b"pw", &salt, INLINE_COST + 1, &mut hash);
        let line = {
            use base64::Engine;
            let b = base64::engine::general_purpose::STANDARD;
            format!(
                "u:$7${}${}${}",
                INLINE_COST + 1,
                b.encode(salt),
                b.encode(hash)
            )
        };
        let file = PasswordFile::parse(&line).unwrap();
        let auth = Auth {
            allow_anonymous: false,
            passwords: Some(file),
            acl: None,
        };
        assert_eq!(auth.authenticate(Some("u"), Some(b"pw")).await, Ok(()));
        assert!(auth.authenticate(Some("u"), Some(b"pW")).await.is_err());
    }

    #[test]
    fn unreadable_and_invalid_files_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let config = Config {
            password_file: Some(missing.clone()),
            ..Config::default()
        };
        let e = Auth::load(&config).unwrap_err().to_string();
        assert!(e.contains("password_file") && e.contains("nope"), "{e}");

        let acl = dir.path().join("acl");
        std::fs::write(&acl, "user a\ntopic read ok\ntopic bogus a/b\n").unwrap();
        let config = Config {
            acl_file: Some(acl),
            ..Config::default()
        };
        let e = Auth::load(&config).unwrap_err().to_string();
        assert!(e.contains("acl_file") && e.contains("line 3"), "{e}");

        let pw = dir.path().join("pw");
        std::fs::write(&pw, b"a:\xff\n").unwrap();
        let config = Config {
            password_file: Some(pw),
            ..Config::default()
        };
        let e = Auth::load(&config).unwrap_err().to_string();
        assert!(e.contains("UTF-8") && e.contains("line 1"), "{e}");
    }
}
