//! The `KCB` lines that kc-bench prints: samples, metadata, skipped scenarios, notes and
//! the end marker.

use std::collections::BTreeMap;

/// One `KCB` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub scenario: String,
    pub case: String,
    pub mech: String,
    pub param: u64,
    pub rep: usize,
    pub value: f64,
    pub unit: String,
}

/// Everything kc-bench printed.
#[derive(Debug, Default)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    pub meta: BTreeMap<String, String>,
    pub skips: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub ended: bool,
}

fn fields(rest: &str) -> BTreeMap<&str, &str> {
    rest.split_whitespace()
        .filter_map(|f| f.split_once('='))
        .collect()
}

pub fn parse(stdout: &str) -> Parsed {
    let mut p = Parsed::default();
    for line in stdout.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("KCB ") {
            let f = fields(rest);
            let get = |k: &str| f.get(k).map(|v| v.to_string());
            let s = (|| {
                Some(Sample {
                    scenario: get("scenario")?,
                    case: get("case")?,
                    mech: get("mech")?,
                    param: get("param")?.parse().ok()?,
                    rep: get("rep")?.parse().ok()?,
                    value: get("value")?.parse().ok()?,
                    unit: get("unit")?,
                })
            })();
            if let Some(s) = s {
                p.samples.push(s);
            }
        } else if let Some(rest) = line.strip_prefix("KCB-META ") {
            for (k, v) in fields(rest) {
                p.meta.insert(k.to_string(), v.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("KCB-SKIP ") {
            let (sc, reason) = match rest.split_once(" reason=") {
                Some((a, b)) => (a.trim_start_matches("scenario=").to_string(), b.to_string()),
                None => ("?".to_string(), rest.to_string()),
            };
            p.skips.push((sc, reason));
        } else if let Some(rest) = line.strip_prefix("KCB-NOTE ") {
            p.notes.push(rest.to_string());
        } else if line.trim() == "KCB-END" {
            p.ended = true;
        }
    }
    p
}
