//! KTAP output of the guest test programs: the header, `ok N - ...` / `not ok N - ...` with
//! `# ...` diagnostics, then the plan `1..N` (and, for the suites that count, a totals line).

use std::fmt::Display;

/// Counts cases as they are reported; `finish` prints the plan and exits 0 only if all passed.
#[derive(Default)]
pub struct Ktap {
    cases: u32,
    failed: u32,
    /// Descriptions to run (any one contained in a case's); empty: every case.
    only: Vec<String>,
}

impl Ktap {
    /// Prints the KTAP header.
    pub fn start() -> Self {
        println!("KTAP version 1");
        Ktap::default()
    }

    /// Selects the cases whose description contains one of `filters` (see [`Ktap::selected`]);
    /// no filters select every case.
    pub fn only(mut self, filters: impl IntoIterator<Item = String>) -> Self {
        self.only = filters.into_iter().collect();
        self
    }

    /// True if a case described `description` is to run.
    pub fn selected(&self, description: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| description.contains(o.as_str()))
    }

    /// One case; returns `ok` so callers can react to a failure.
    pub fn case(&mut self, ok: bool, description: impl AsRef<str>) -> bool {
        self.cases += 1;
        if !ok {
            self.failed += 1;
        }
        let not = if ok { "" } else { "not " };
        println!("{not}ok {} - {}", self.cases, description.as_ref());
        ok
    }

    /// A diagnostic line: `# text`.
    pub fn diag(&self, text: impl Display) {
        println!("# {text}");
    }

    pub fn failed(&self) -> u32 {
        self.failed
    }

    /// Prints the plan (and `hint` when a case failed) and exits with the verdict.
    pub fn finish(self, hint: Option<String>) -> ! {
        println!("1..{}", self.cases);
        if self.failed > 0 {
            if let Some(h) = hint {
                self.diag(h);
            }
        }
        self.exit()
    }

    /// Prints the plan and `# P passed, F failed`, and exits with the verdict.
    pub fn finish_with_totals(self) -> ! {
        println!("1..{}", self.cases);
        self.diag(format_args!(
            "{} passed, {} failed",
            self.cases - self.failed,
            self.failed
        ));
        self.exit()
    }

    fn exit(self) -> ! {
        std::process::exit(if self.failed == 0 { 0 } else { 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::Ktap;

    #[test]
    fn no_filter_selects_every_case() {
        assert!(Ktap::default().selected("anything"));
        assert!(Ktap::default().only(Vec::new()).selected("anything"));
    }

    #[test]
    fn a_filter_selects_the_cases_containing_one_of_it() {
        let k = Ktap::default().only(["wait".to_string(), "LIST".to_string()]);
        assert!(k.selected("a blocked WAIT... wait"));
        assert!(k.selected("LIST enumerates"));
        assert!(!k.selected("poll: readable"));
        // An empty filter (`KC_TESTS=`) is contained in every description.
        assert!(Ktap::default().only([String::new()]).selected("poll"));
    }
}
