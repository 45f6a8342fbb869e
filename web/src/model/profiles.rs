//! Saved connection profiles: a name, every connection field and the subscriptions, kept
//! in localStorage and exported or imported as JSON:
//! `[{"name":"Lab","host":"…","port":"8080",…,"subscriptions":[{"filter":"class/#","qos":1}]}]`.
//! The password is kept only when "Remember password" was ticked.

use super::value::{self, Value, write_str};
use crate::settings::{Settings, query};

/// Profiles kept at most.
pub const MAX_PROFILES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// The settings as `key=value` pairs (the localStorage record's format).
    pub pairs: Vec<(String, String)>,
}

impl Profile {
    pub fn from_settings(name: &str, s: &Settings) -> Profile {
        Profile {
            name: name.trim().to_owned(),
            pairs: query::parse(&s.to_stored()),
        }
    }

    /// Applies the profile onto `s` (its subscriptions replace the current ones).
    pub fn apply(&self, s: &mut Settings) {
        s.subs.clear();
        s.apply(&self.pairs);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profiles {
    pub items: Vec<Profile>,
}

impl Profiles {
    /// Adds or replaces (same name) a profile.
    pub fn save(&mut self, p: Profile) -> Result<(), String> {
        if p.name.is_empty() {
            return Err("Give the profile a name.".into());
        }
        if let Some(old) = self.items.iter_mut().find(|x| x.name == p.name) {
            *old = p;
            return Ok(());
        }
        if self.items.len() >= MAX_PROFILES {
            return Err(format!(
                "At most {MAX_PROFILES} profiles; delete one first."
            ));
        }
        self.items.push(p);
        Ok(())
    }

    pub fn delete(&mut self, name: &str) {
        self.items.retain(|p| p.name != name);
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.items.iter().find(|p| p.name == name)
    }

    pub fn to_json(&self) -> String {
        let mut out = String::from("[");
        for (i, p) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            write_str(&mut out, &p.name);
            let mut subs = Vec::new();
            for (k, v) in &p.pairs {
                match k.as_str() {
                    "sub" => subs.push((v.clone(), String::from("0"))),
                    "sub_qos" => {
                        if let Some(last) = subs.last_mut() {
                            last.1.clone_from(v);
                        }
                    }
                    "sub_color" => {}
                    _ => {
                        out.push(',');
                        write_str(&mut out, k);
                        out.push(':');
                        write_str(&mut out, v);
                    }
                }
            }
            out.push_str(",\"subscriptions\":[");
            for (j, (f, q)) in subs.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str("{\"filter\":");
                write_str(&mut out, f);
                out.push_str(",\"qos\":");
                out.push_str(if matches!(q.as_str(), "1" | "2") {
                    q
                } else {
                    "0"
                });
                out.push('}');
            }
            out.push_str("]}");
        }
        out.push(']');
        out
    }

    /// Reads profiles exported by [`Profiles::to_json`] (or written by hand).
    pub fn from_json(text: &str) -> Result<Profiles, String> {
        let v = value::parse(text).map_err(|e| format!("Not JSON: {e}."))?;
        let Value::Array(list) = v else {
            return Err("Expected a JSON array of profiles.".into());
        };
        let mut out = Profiles::default();
        for (i, p) in list.iter().enumerate() {
            let Value::Object(members) = p else {
                return Err(format!("Profile {} is not an object.", i + 1));
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("Profile {} has no name.", i + 1))?;
            let mut pairs = Vec::new();
            for (k, v) in members {
                match (k.as_str(), v) {
                    ("name", _) => {}
                    ("subscriptions", Value::Array(subs)) => {
                        for s in subs {
                            if let Some(f) = s.get("filter").and_then(Value::as_str) {
                                pairs.push(("sub".into(), f.to_owned()));
                                let q = s.get("qos").and_then(Value::as_f64).unwrap_or(0.0);
                                let q = if q == 2.0 {
                                    "2"
                                } else if q == 1.0 {
                                    "1"
                                } else {
                                    "0"
                                };
                                pairs.push(("sub_qos".into(), q.to_owned()));
                            }
                        }
                    }
                    (k, Value::String(s)) => pairs.push((k.to_owned(), s.clone())),
                    (k, Value::Bool(b)) => {
                        pairs.push((k.to_owned(), if *b { "1" } else { "0" }.into()))
                    }
                    (k, Value::Number(_, raw)) => pairs.push((k.to_owned(), raw.clone())),
                    _ => {}
                }
            }
            out.save(Profile {
                name: name.trim().to_owned(),
                pairs,
            })?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{PageLocation, SubSetting};
    use tern_codec::QoS;

    fn settings() -> Settings {
        let page = PageLocation {
            https: false,
            hostname: "10.0.0.5".into(),
            port: "8080".into(),
        };
        let mut s = Settings::defaults(&page, "tern-abc".into());
        s.username = "teacher".into();
        s.password = "secret".into();
        s.keep_alive = "30".into();
        s.subs = vec![SubSetting {
            filter: "class/#".into(),
            qos: QoS::AtLeastOnce,
            color: Some("#111111".into()),
        }];
        s
    }

    #[test]
    fn profiles_round_trip_through_json_without_the_password_unless_remembered() {
        let mut ps = Profiles::default();
        ps.save(Profile::from_settings("Lab", &settings())).unwrap();
        let json = ps.to_json();
        assert!(
            json.starts_with(r#"[{"name":"Lab","host":"10.0.0.5","port":"8080""#),
            "{json}"
        );
        assert!(
            json.contains(r#""subscriptions":[{"filter":"class/#","qos":1}]"#),
            "{json}"
        );
        assert!(!json.contains("secret"));
        let back = Profiles::from_json(&json).unwrap();
        let mut s = Settings::defaults(&PageLocation::default(), "x".into());
        back.get("Lab").unwrap().apply(&mut s);
        assert_eq!(
            (s.host.as_str(), s.keep_alive.as_str(), s.username.as_str()),
            ("10.0.0.5", "30", "teacher")
        );
        assert_eq!(s.subs.len(), 1);
        assert_eq!(
            (s.subs[0].filter.as_str(), s.subs[0].qos),
            ("class/#", QoS::AtLeastOnce)
        );
        let mut remembered = settings();
        remembered.remember_password = true;
        let mut ps = Profiles::default();
        ps.save(Profile::from_settings("R", &remembered)).unwrap();
        assert!(ps.to_json().contains("secret"));
    }

    #[test]
    fn save_replaces_by_name_delete_removes_and_bad_files_are_explained() {
        let mut ps = Profiles::default();
        assert!(ps.save(Profile::from_settings("  ", &settings())).is_err());
        ps.save(Profile::from_settings("A", &settings())).unwrap();
        ps.save(Profile::from_settings("A", &settings())).unwrap();
        ps.save(Profile::from_settings("B", &settings())).unwrap();
        assert_eq!(ps.items.len(), 2);
        ps.delete("A");
        assert_eq!(ps.items[0].name, "B");
        assert!(Profiles::from_json("{}").unwrap_err().contains("array"));
        assert!(
            Profiles::from_json("[{\"host\":\"x\"}]")
                .unwrap_err()
                .contains("no name")
        );
        assert!(
            Profiles::from_json("[")
                .unwrap_err()
                .starts_with("Not JSON")
        );
    }
}
