//! Mosquitto's `acl_file`, with Mosquitto 2.0's semantics:
//!
//! ```text
//! # comment
//! topic read public/#            <- before any `user` line: clients without a user name
//! user alice
//! topic readwrite home/alice/#   <- access: read | write | readwrite | deny (default readwrite)
//! topic deny home/alice/secret
//! pattern write devices/%c/state <- every client; %c = client id, %u = user name
//! ```
//!
//! A check walks the client's own list (its `user` section, or the anonymous one), `deny`
//! entries first, then the others in file order: a matching `deny` refuses, a matching entry
//! with the wanted access grants. Then the patterns the same way. Anything not granted is
//! refused. As in Mosquitto, a client whose user name or client id contains `+` or `#`
//! gets nothing from patterns (it could otherwise widen them), and `%u` patterns do not apply
//! to clients without a user name.

use std::collections::HashMap;

use super::password::LineError;
use super::topic::{covers, intersects, matches, valid_filter};

/// Most `topic` / `pattern` entries accepted from one file.
pub const MAX_RULES: usize = 100_000;

/// Read / write bits; a `deny` entry has neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access(u8);

impl Access {
    pub const DENY: Access = Access(0);
    pub const READ: Access = Access(1);
    pub const WRITE: Access = Access(2);
    pub const READWRITE: Access = Access(3);

    fn grants(self, wanted: Access) -> bool {
        self.0 & wanted.0 != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    access: Access,
    topic: String,
}

/// Inserts keeping Mosquitto's order: `deny` entries in front, the others appended.
fn push(list: &mut Vec<Rule>, rule: Rule) {
    if rule.access == Access::DENY {
        let at = list.iter().take_while(|r| r.access == Access::DENY).count();
        list.insert(at, rule);
    } else {
        list.push(rule);
    }
}

/// A parsed ACL file.
#[derive(Debug, Clone, Default)]
pub struct AclFile {
    /// `None` = entries before the first `user` line (anonymous clients).
    users: HashMap<Option<String>, Vec<Rule>>,
    patterns: Vec<Rule>,
}

impl AclFile {
    pub fn parse(text: &str) -> Result<AclFile, LineError> {
        let mut acl = AclFile::default();
        let mut user: Option<String> = None;
        let mut count = 0usize;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| LineError { line, message };
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (keyword, rest) = l.split_once([' ', '\t']).unwrap_or((l, ""));
            let rest = rest.trim();
            match keyword {
                "user" => {
                    if rest.is_empty() {
                        return Err(err("`user` without a user name".to_owned()));
                    }
                    user = Some(rest.to_owned());
                }
                "topic" | "pattern" => {
                    // `topic [access] <topic>`; the topic is the rest of the line (it may
                    // contain spaces). One word only: that word is the topic, readwrite.
                    let (access, topic) = match rest.split_once([' ', '\t']) {
                        None => (Access::READWRITE, rest),
                        Some((a, t)) => {
                            let access = match a {
                                "read" => Access::READ,
                                "write" => Access::WRITE,
                                "readwrite" => Access::READWRITE,
                                "deny" => Access::DENY,
                                other => {
                                    return Err(err(format!(
                                        "invalid access {other:?}: expected read, write, \
                                         readwrite or deny"
                                    )));
                                }
                            };
                            (access, t.trim())
                        }
                    };
                    if topic.is_empty() {
                        return Err(err(format!("`{keyword}` without a topic")));
                    }
                    if !valid_filter(topic) {
                        return Err(err(format!("invalid topic filter {topic:?}")));
                    }
                    count += 1;
                    if count > MAX_RULES {
                        return Err(err(format!("more than {MAX_RULES} entries")));
                    }
                    let rule = Rule {
                        access,
                        topic: topic.to_owned(),
                    };
                    if keyword == "topic" {
                        push(acl.users.entry(user.clone()).or_default(), rule);
                    } else {
                        if !topic.contains("%c") && !topic.contains("%u") {
                            tracing::warn!(
                                "acl_file line {line}: pattern {topic:?} contains neither %c nor %u"
                            );
                        }
                        push(&mut acl.patterns, rule);
                    }
                }
                other => {
                    return Err(err(format!(
                        "unknown keyword {other:?}: expected user, topic or pattern"
                    )));
                }
            }
        }
        Ok(acl)
    }

    /// The rules of one connected client, with `%c` / `%u` substituted once at CONNECT.
    pub fn for_client(&self, client_id: &str, username: Option<&str>) -> ClientAcl {
        let own = self
            .users
            .get(&username.map(str::to_owned))
            .cloned()
            .unwrap_or_default();
        let dangerous = |s: &str| s.contains(['+', '#']);
        let patterns_blocked =
            !self.patterns.is_empty() && (dangerous(client_id) || username.is_some_and(dangerous));
        let patterns = self
            .patterns
            .iter()
            .filter(|r| username.is_some() || !r.topic.contains("%u"))
            .map(|r| Rule {
                access: r.access,
                topic: substitute(&r.topic, client_id, username.unwrap_or("")),
            })
            .collect();
        ClientAcl {
            own,
            patterns,
            patterns_blocked,
        }
    }
}

/// Replaces `%c` and `%u` left to right (a `%c` inside a substituted value stays literal).
fn substitute(topic: &str, client_id: &str, username: &str) -> String {
    let mut out = String::with_capacity(topic.len() + client_id.len());
    let mut rest = topic;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("%c") {
            out.push_str(client_id);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("%u") {
            out.push_str(username);
            rest = after;
        } else {
            out.push('%');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// One client's view of the ACL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAcl {
    own: Vec<Rule>,
    patterns: Vec<Rule>,
    patterns_blocked: bool,
}

impl ClientAcl {
    /// Whether the client may publish to (`WRITE`) or receive from (`READ`) `topic`.
    pub fn allows(&self, topic: &str, wanted: Access) -> bool {
        self.decide(
            |r| matches(&r.topic, topic),
            |r| matches(&r.topic, topic),
            wanted,
        )
    }

    /// Whether a SUBSCRIBE to `filter` is granted: refused when a `deny` entry covers the
    /// whole filter or when no readable topic can ever match it. Messages it matches are
    /// still checked one by one on delivery, so `#` may be granted while only some topics
    /// reach the client. (Mosquitto 2.0's ACL file grants every SUBSCRIBE and only filters
    /// on delivery; refusing hopeless subscriptions tells the client at once.)
    pub fn may_subscribe(&self, filter: &str) -> bool {
        self.decide(
            |r| covers(&r.topic, filter),
            |r| intersects(&r.topic, filter),
            Access::READ,
        )
    }

    fn decide(
        &self,
        deny_hit: impl Fn(&Rule) -> bool,
        grant_hit: impl Fn(&Rule) -> bool,
        wanted: Access,
    ) -> bool {
        let lists = [(&self.own, false), (&self.patterns, self.patterns_blocked)];
        for (rules, blocked) in lists {
            if blocked {
                return false;
            }
            for r in rules {
                if r.access == Access::DENY {
                    if deny_hit(r) {
                        return false;
                    }
                } else if r.access.grants(wanted) && grant_hit(r) {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# anonymous clients
topic read public/#

user alice
topic readwrite home/alice/#
topic deny home/alice/secret
topic write   log/alice
topic  shared/one-word
topic read with space/x
user bob
topic read $SYS/#

pattern readwrite devices/%c/#
pattern read users/%u/inbox
pattern deny devices/%c/locked
";

    fn acl() -> AclFile {
        AclFile::parse(FILE).unwrap()
    }

    #[test]
    fn lines_before_any_user_apply_to_anonymous_clients() {
        let anon = acl().for_client("c1", None);
        assert!(anon.allows("public/news", Access::READ));
        assert!(!anon.allows("public/news", Access::WRITE));
        assert!(!anon.allows("home/alice/x", Access::READ));
        // A named user without a section gets only the patterns, not the anonymous list.
        let carol = acl().for_client("c2", Some("carol"));
        assert!(!carol.allows("public/news", Access::READ));
    }

    #[test]
    fn user_section_access_kinds() {
        let alice = acl().for_client("a1", Some("alice"));
        assert!(alice.allows("home/alice/kitchen", Access::READ));
        assert!(alice.allows("home/alice/kitchen", Access::WRITE));
        assert!(alice.allows("log/alice", Access::WRITE));
        assert!(!alice.allows("log/alice", Access::READ));
        // One-word form: the word is the topic, readwrite.
        assert!(alice.allows("shared/one-word", Access::WRITE));
        // After the access word, the rest of the line is the topic, spaces included.
        assert!(alice.allows("with space/x", Access::READ));
        assert!(!alice.allows("public/news", Access::READ));
    }

    #[test]
    fn deny_takes_precedence_over_an_earlier_grant() {
        let alice = acl().for_client("a1", Some("alice"));
        assert!(!alice.allows("home/alice/secret", Access::READ));
        assert!(!alice.allows("home/alice/secret", Access::WRITE));
        assert!(alice.allows("home/alice/secret2", Access::READ));
        // Pattern denies also come before pattern grants.
        assert!(!alice.allows("devices/a1/locked", Access::WRITE));
        assert!(alice.allows("devices/a1/open", Access::WRITE));
    }

    #[test]
    fn pattern_substitutes_client_id_and_username() {
        let alice = acl().for_client("sensor-7", Some("alice"));
        assert!(alice.allows("devices/sensor-7/temp", Access::WRITE));
        assert!(!alice.allows("devices/sensor-8/temp", Access::WRITE));
        assert!(alice.allows("users/alice/inbox", Access::READ));
        assert!(!alice.allows("users/bob/inbox", Access::READ));
        // `%u` patterns do not apply without a user name; `%c` ones do.
        let anon = acl().for_client("sensor-7", None);
        assert!(!anon.allows("users//inbox", Access::READ));
        assert!(anon.allows("devices/sensor-7/temp", Access::READ));
    }

    #[test]
    fn wildcards_in_client_id_or_username_disable_patterns() {
        let sneaky = acl().for_client("#", Some("alice"));
        assert!(!sneaky.allows("devices/x/temp", Access::WRITE));
        // Its own `user` entries still apply.
        assert!(sneaky.allows("home/alice/x", Access::READ));
        let sneaky = acl().for_client("ok", Some("a+b"));
        assert!(!sneaky.allows("devices/ok/temp", Access::WRITE));
    }

    #[test]
    fn sys_topics_need_an_entry_starting_with_dollar() {
        let bob = acl().for_client("b", Some("bob"));
        assert!(bob.allows("$SYS/broker/uptime", Access::READ));
        let all = AclFile::parse("topic readwrite #\n")
            .unwrap()
            .for_client("x", None);
        assert!(all.allows("a/b", Access::READ));
        assert!(!all.allows("$SYS/broker/uptime", Access::READ));
    }

    #[test]
    fn subscribe_is_refused_only_when_nothing_readable_can_match() {
        let alice = acl().for_client("a1", Some("alice"));
        assert!(alice.may_subscribe("#"));
        assert!(alice.may_subscribe("home/alice/+"));
        assert!(!alice.may_subscribe("home/alice/secret"));
        assert!(!alice.may_subscribe("log/alice"), "write-only");
        assert!(!alice.may_subscribe("other/#"));
        assert!(!alice.may_subscribe("$SYS/#"));
        let bob = acl().for_client("b", Some("bob"));
        assert!(bob.may_subscribe("$SYS/broker/#"));
    }

    #[test]
    fn malformed_files_are_rejected_with_the_line() {
        let cases = [
            ("topic read a/#/b", "invalid topic filter"),
            ("topic reed a/b", "invalid access"),
            ("user", "without a user name"),
            ("topic", "without a topic"),
            ("allow a/b", "unknown keyword"),
            ("pattern read a+/%c", "invalid topic filter"),
        ];
        for (line, want) in cases {
            let e = AclFile::parse(&format!("# x\n{line}\n")).unwrap_err();
            assert_eq!(e.line, 2, "{line}");
            assert!(e.message.contains(want), "{line}: {}", e.message);
        }
    }

    #[test]
    fn empty_acl_denies_everything() {
        let none = AclFile::parse("# nothing\n").unwrap().for_client("c", None);
        assert!(!none.allows("a", Access::READ));
        assert!(!none.allows("a", Access::WRITE));
        assert!(!none.may_subscribe("#"));
    }

    #[test]
    fn substitution_is_textual_and_leaves_other_percent_signs() {
        assert_eq!(substitute("a/%c/%u/%x/%", "id", "u"), "a/id/u/%x/%");
        assert_eq!(substitute("%c%c", "%u", "z"), "%u%u");
    }
}
