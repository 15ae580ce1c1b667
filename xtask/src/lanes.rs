//! Spreading the guest suites over guests that run at the same time, and
//! showing a person where each one is.
//!
//! `cargo xtask test` boots [`LANES`] debug guests at once, each with its own
//! share of `tests/guest/suites` (the after-suite checks run in every guest
//! after every suite, as before). Shares are balanced on the durations of the
//! previous run, kept in the cache (`suite-times`), longest first onto the
//! least-loaded guest. Every guest line is parsed as it arrives: one status
//! line per suite start and end, per failing case, and every 30 s for the
//! running suite (cases so far, elapsed, time left from the last run).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::suites::suite_name;
use crate::util;

/// Guests that run the suites at the same time (one per host core here).
pub const LANES: usize = 2;

/// The lane number of the guest that runs the 7.3 suite set (tests/guest/suites-7.3). Its
/// suite times are kept apart, as `7.3:<suite>`: the same suite runs another slice there
/// (kc-fuzz 50,000 calls instead of 200,000).
pub const KERNEL_7_3_LANE: usize = 73;

/// The key of suite `name`'s time for guest `lane`.
pub fn time_key(lane: usize, name: &str) -> String {
    if lane == KERNEL_7_3_LANE {
        format!("7.3:{name}")
    } else {
        name.to_string()
    }
}

/// Seconds per suite when no run has recorded it yet (measured 2026-12-03: a cached full run
/// on a 2-core host, two guests of 2 vCPUs side by side, with the after-suite check); any
/// other suite counts 60 s.
const DEFAULT_SECS: &[(&str, u64)] = &[
    ("kc-fuzz", 615),
    ("kernel-lua-attack", 215),
    ("kc-stress", 125),
    ("kc-killstorm", 60),
    ("kc-failslab", 60),
    ("kc-driver-tests", 25),
];

fn times_file() -> PathBuf {
    util::cache_root().join("suite-times")
}

/// Durations (seconds) of suites from the previous run: `name secs` lines.
pub fn load_times() -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = DEFAULT_SECS
        .iter()
        .map(|(n, s)| (n.to_string(), *s))
        .collect();
    if let Ok(text) = std::fs::read_to_string(times_file()) {
        for l in text.lines() {
            let mut f = l.split_whitespace();
            if let (Some(n), Some(Ok(s))) = (f.next(), f.next().map(str::parse)) {
                m.insert(n.to_string(), s);
            }
        }
    }
    m
}

/// Remember this run's durations (merged over the older ones, so a
/// `--suites` run keeps the others).
pub fn save_times(new: &BTreeMap<String, u64>) {
    let mut m = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(times_file()) {
        for l in text.lines() {
            let mut f = l.split_whitespace();
            if let (Some(n), Some(Ok(s))) = (f.next(), f.next().map(str::parse::<u64>)) {
                m.insert(n.to_string(), s);
            }
        }
    }
    m.extend(new.iter().map(|(k, v)| (k.clone(), *v)));
    let text: String = m.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
    let _ = std::fs::create_dir_all(util::cache_root());
    let _ = std::fs::write(times_file(), text);
}

/// Expected seconds of a suite line (suite plus its after-suite check).
pub fn expected(times: &BTreeMap<String, u64>, name: &str) -> u64 {
    let after = times.get(&format!("after-{name}")).copied().unwrap_or(0);
    times.get(name).copied().unwrap_or(60) + after
}

/// Split suite lines into `n` shares of about equal expected time (longest
/// first onto the least-loaded share); each share keeps the file's order.
pub fn split(lines: &[String], times: &BTreeMap<String, u64>, n: usize) -> Vec<Vec<String>> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(expected(times, &suite_name(&lines[i]))));
    let mut load = vec![0u64; n];
    let mut owner = vec![0usize; lines.len()];
    for i in order {
        let lane = (0..n).min_by_key(|&l| (load[l], l)).unwrap();
        load[lane] += expected(times, &suite_name(&lines[i]));
        owner[i] = lane;
    }
    (0..n)
        .map(|l| {
            (0..lines.len())
                .filter(|&i| owner[i] == l)
                .map(|i| lines[i].clone())
                .collect()
        })
        .collect()
}

/// What one guest is doing, as its output says.
struct State {
    lane: usize,
    suite: Option<(String, Instant)>,
    cases: usize,
    failed: usize,
    times: BTreeMap<String, u64>,
    /// Wall time of each finished suite, as seen from the host.
    finished: Vec<(String, Duration, usize, usize)>,
}

impl State {
    fn status(&self) -> String {
        match &self.suite {
            None => format!("[guest {}] booting / between suites", self.lane),
            Some((name, t0)) => {
                let el = t0.elapsed();
                let left = self
                    .times
                    .get(&time_key(self.lane, name))
                    .map(|&s| {
                        let s = Duration::from_secs(s);
                        if s > el {
                            format!(", ~{} left", util::fmt_duration(s - el))
                        } else {
                            ", past last run's time".to_string()
                        }
                    })
                    .unwrap_or_default();
                format!(
                    "[guest {}] {name}: {} cases ({} failed), {}{left}",
                    self.lane,
                    self.cases,
                    self.failed,
                    util::fmt_duration(el)
                )
            }
        }
    }

    fn line(&mut self, l: &str) {
        let l = l.trim_end();
        if let Some(name) = l.strip_prefix("KC-SUITE ") {
            self.suite = Some((name.trim().to_string(), Instant::now()));
            self.cases = 0;
            self.failed = 0;
            eprintln!("{} started", self.status());
        } else if let Some(rest) = l.strip_prefix("KC-SUITE-END ") {
            let mut f = rest.split_whitespace();
            let name = f.next().unwrap_or("").to_string();
            let st = f.next().unwrap_or("?");
            let el = self
                .suite
                .as_ref()
                .map(|s| s.1.elapsed())
                .unwrap_or_default();
            eprintln!(
                "[guest {}] {name}: {} cases ({} failed) in {}, exit {st}",
                self.lane,
                self.cases,
                self.failed,
                util::fmt_duration(el)
            );
            self.finished
                .push((time_key(self.lane, &name), el, self.cases, self.failed));
            self.suite = None;
        } else if l.starts_with("ok ") {
            self.cases += 1;
        } else if l.starts_with("not ok ") {
            self.cases += 1;
            self.failed += 1;
            eprintln!("[guest {}]   {l}", self.lane);
        }
    }
}

/// A sink for a guest's stdout that prints the live lines; dropping it stops
/// the 30-second ticker.
pub struct Progress {
    state: Arc<Mutex<State>>,
    buf: Vec<u8>,
    stop: Arc<AtomicBool>,
}

/// Every suite finished in this process, from all guests: (name, wall time,
/// cases, failed); filled as each guest's sink is dropped.
pub static FINISHED: Mutex<Vec<(String, Duration, usize, usize)>> = Mutex::new(Vec::new());

impl Progress {
    pub fn new(lane: usize, times: BTreeMap<String, u64>) -> Progress {
        let state = Arc::new(Mutex::new(State {
            lane,
            suite: None,
            cases: 0,
            failed: 0,
            times,
            finished: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(500));
                    if last.elapsed() >= Duration::from_secs(30) {
                        last = Instant::now();
                        eprintln!("{}", state.lock().unwrap().status());
                    }
                }
            });
        }
        Progress {
            state,
            buf: Vec::new(),
            stop,
        }
    }
}

impl Write for Progress {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            self.state
                .lock()
                .unwrap()
                .line(&String::from_utf8_lossy(&line));
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let done: Vec<_> = self.state.lock().unwrap().finished.drain(..).collect();
        FINISHED.lock().unwrap().extend(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_shares_keep_file_order() {
        let lines: Vec<String> = [
            "sh basics.sh",
            "kc-driver-tests",
            "sh kernel-lua-attack.sh",
            "kc-stress --ops 1000000",
            "kc-fuzz --calls 200000",
            "kc-killstorm --procs 10000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let times: BTreeMap<String, u64> = [
            ("basics", 30),
            ("kc-driver-tests", 100),
            ("kernel-lua-attack", 600),
            ("kc-stress", 150),
            ("kc-fuzz", 700),
            ("kc-killstorm", 120),
        ]
        .iter()
        .map(|(n, s)| (n.to_string(), *s))
        .collect();
        let shares = split(&lines, &times, 2);
        assert_eq!(shares.len(), 2);
        assert_eq!(shares.iter().map(Vec::len).sum::<usize>(), lines.len());
        let load = |s: &Vec<String>| {
            s.iter()
                .map(|l| expected(&times, &suite_name(l)))
                .sum::<u64>()
        };
        let (a, b) = (load(&shares[0]), load(&shares[1]));
        assert!(a.abs_diff(b) <= 150, "{a} vs {b}: {shares:?}");
        assert!(shares[0].contains(&"kc-fuzz --calls 200000".to_string()));
        for s in &shares {
            let pos: Vec<usize> = s
                .iter()
                .map(|l| lines.iter().position(|x| x == l).unwrap())
                .collect();
            assert!(pos.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        }
    }

    #[test]
    fn live_lines_count_cases() {
        let mut p = Progress::new(7, BTreeMap::new());
        p.write_all(b"KC-SUITE basics\nok 1 - a\nnot ok 2 - b\nok 3")
            .unwrap();
        p.write_all(b" - c\nKC-SUITE-END basics 1\n").unwrap();
        {
            let st = p.state.lock().unwrap();
            assert_eq!(st.finished.len(), 1);
            assert_eq!((st.finished[0].2, st.finished[0].3), (3, 1));
        }
        drop(p);
        assert!(FINISHED
            .lock()
            .unwrap()
            .iter()
            .any(|f| f.0 == "basics" && f.2 == 3));
    }
}
