//! Medians and spreads of the repetitions of each measurement, and how figures are
//! written (ns/µs, bytes, 1k/1M counts).

use std::collections::BTreeMap;

use super::parse::Parsed;

/// Median and spread of the repetitions of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }
    /// (max - min) / median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}

/// (scenario, case, mech, param)
pub type Key = (String, String, String, u64);

pub struct Results {
    pub parsed: Parsed,
    pub stats: BTreeMap<Key, (Stat, String)>,
}

impl Results {
    pub fn new(parsed: Parsed) -> Results {
        let mut groups: BTreeMap<Key, (Vec<f64>, String)> = BTreeMap::new();
        for s in &parsed.samples {
            let e = groups
                .entry((s.scenario.clone(), s.case.clone(), s.mech.clone(), s.param))
                .or_insert_with(|| (Vec::new(), s.unit.clone()));
            e.0.push(s.value);
        }
        let stats = groups
            .into_iter()
            .filter_map(|(k, (v, u))| Stat::of(&v).map(|s| (k, (s, u))))
            .collect();
        Results { parsed, stats }
    }

    pub fn get(&self, scenario: &str, case: &str, mech: &str, param: u64) -> Option<Stat> {
        self.stats
            .get(&(scenario.into(), case.into(), mech.into(), param))
            .map(|(s, _)| *s)
    }

    /// Params measured for (scenario, case, mech), ascending.
    pub fn params(&self, scenario: &str, case: &str, mech: &str) -> Vec<u64> {
        self.stats
            .keys()
            .filter(|k| k.0 == scenario && k.1 == case && k.2 == mech)
            .map(|k| k.3)
            .collect()
    }

    /// (param, figure) of (scenario, case, mech), by ascending param: a line of a plot.
    pub fn points(&self, scenario: &str, case: &str, mech: &str) -> Vec<(f64, Stat)> {
        self.params(scenario, case, mech)
            .into_iter()
            .filter_map(|n| self.get(scenario, case, mech, n).map(|s| (n as f64, s)))
            .collect()
    }

    pub(super) fn skip_reason(&self, scenario: &str) -> Option<String> {
        let r: Vec<&str> = self
            .parsed
            .skips
            .iter()
            .filter(|(s, _)| s == scenario)
            .map(|(_, r)| r.as_str())
            .collect();
        (!r.is_empty()).then(|| r.join("; "))
    }
}

pub(super) fn fmt_ns(v: f64) -> String {
    if v >= 100_000.0 {
        format!("{:.1} µs", v / 1000.0)
    } else {
        format!("{v:.0} ns")
    }
}

pub(super) fn fmt_stat(s: &Stat, unit: &str) -> String {
    let f = |v: f64| match unit {
        "ns" => fmt_ns(v),
        "B" => format!("{v:.0} B"),
        _ => format!("{v:.1} {unit}"),
    };
    if s.n > 1 && s.spread_pct() >= 0.05 {
        format!("{} (±{:.1}%)", f(s.median), s.spread_pct() / 2.0)
    } else {
        f(s.median)
    }
}

pub fn fmt_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_even() {
        let s = Stat::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Stat::of(&[]).is_none());
    }
}
