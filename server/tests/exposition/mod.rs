//! A strict parser for the Prometheus text exposition format 0.0.4, limited to what
//! `/metrics` may emit (counters and gauges), for `tests/metrics.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One scrape, parsed: series (`name{sorted labels}`) → value, and family → type.
#[derive(Debug)]
pub struct Scrape {
    pub series: BTreeMap<String, f64>,
    pub types: HashMap<String, String>,
}

impl Scrape {
    pub fn get(&self, series: &str) -> f64 {
        *self
            .series
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} in {:?}", self.series.keys()))
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `k="v",k2="v2"` (the text between the braces) → sorted `(k, unescaped v)`.
fn parse_labels(mut s: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    while !s.is_empty() {
        let (key, rest) = s
            .split_once("=\"")
            .ok_or(format!("label without =\": {s}"))?;
        if !is_name(key) || key.starts_with("__") {
            return Err(format!("bad label name {key:?}"));
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("unterminated label value: {rest}")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?} in {rest}")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        if labels.iter().any(|(k, _)| k == key) {
            return Err(format!("label {key} twice"));
        }
        labels.push((key.to_string(), value));
        s = &rest[end + 1..];
        if let Some(more) = s.strip_prefix(',') {
            s = more;
        } else if !s.is_empty() {
            return Err(format!("junk after label value: {s}"));
        }
    }
    labels.sort();
    Ok(labels)
}

/// A strict parser for what the endpoint may emit: `# HELP` then `# TYPE` (counter or
/// gauge) before a family's samples, the samples of a family together and named exactly
/// like it, `name{labels} value` with a float value and no timestamp, no duplicate series,
/// no other lines, and a final newline.
pub fn parse(body: &str) -> Result<Scrape, String> {
    let mut series = BTreeMap::new();
    let mut types = HashMap::new();
    let mut helped = HashSet::new();
    let mut current: Option<String> = None;
    let Some(body) = body.strip_suffix('\n') else {
        return Err("no final newline".into());
    };
    for line in body.split('\n') {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').ok_or("HELP without text")?;
            if !is_name(name) || help.is_empty() || !helped.insert(name.to_string()) {
                return Err(format!("bad or repeated HELP: {line}"));
            }
            current = None;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or("TYPE without type")?;
            if !helped.contains(name) || types.contains_key(name) {
                return Err(format!(
                    "TYPE not right after its HELP, or repeated: {line}"
                ));
            }
            if kind != "counter" && kind != "gauge" {
                return Err(format!("unexpected type: {line}"));
            }
            types.insert(name.to_string(), kind.to_string());
            current = Some(name.to_string());
        } else if line.starts_with('#') || line.is_empty() {
            return Err(format!("unexpected line {line:?}"));
        } else {
            let (id, value) = line.rsplit_once(' ').ok_or(format!("no value: {line}"))?;
            let value: f64 = value.parse().map_err(|_| format!("bad value: {line}"))?;
            let (name, labels) = match id.split_once('{') {
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').ok_or(format!("no }}: {line}"))?;
                    (name, parse_labels(inner)?)
                }
                None => (id, Vec::new()),
            };
            if !is_name(name) {
                return Err(format!("bad metric name: {line}"));
            }
            if current.as_deref() != Some(name) {
                return Err(format!(
                    "sample outside its family's HELP/TYPE block: {line}"
                ));
            }
            if types[name] == "counter" && (value.is_nan() || value < 0.0) {
                return Err(format!("negative or NaN counter: {line}"));
            }
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            let key = if labels.is_empty() {
                name.to_string()
            } else {
                format!("{name}{{{}}}", labels.join(","))
            };
            if series.insert(key, value).is_some() {
                return Err(format!("duplicate series: {line}"));
            }
        }
    }
    if let Some(name) = helped.iter().find(|n| !types.contains_key(*n)) {
        return Err(format!("HELP without TYPE for {name}"));
    }
    Ok(Scrape { series, types })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parser_rejects_what_it_must() {
        let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v\\\"\"} 1\n";
        assert!(parse(ok).is_ok());
        for bad in [
            "# TYPE a gauge\na 1\n",                              // no HELP
            "# HELP a x\na 1\n",                                  // no TYPE
            "# HELP a x\n# TYPE a gauge\na 1\na 2\n",             // duplicate series
            "# HELP a x\n# TYPE a gauge\nb 1\n",                  // foreign sample
            "# HELP a x\n# TYPE a gauge\na{l=\"v} 1\n",           // unterminated label
            "# HELP a x\n# TYPE a gauge\na one\n",                // bad value
            "# HELP a x\n# TYPE a gauge\na 1",                    // no final newline
            "# HELP a x\n# TYPE a counter\na -1\n",               // negative counter
            "# HELP a x\n# TYPE a histogram\na 1\n",              // unexpected type
            "# HELP a x\n# TYPE a gauge\na{l=\"1\",l=\"2\"} 1\n", // repeated label
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
