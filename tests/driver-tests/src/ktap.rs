//! KTAP output of the guest test programs: `ok N - ...` / `not ok N - ...`, then the plan.

/// Counts cases as they are reported; `finish` prints the plan and exits 0 only if all passed.
#[derive(Default)]
pub struct Ktap {
    cases: u32,
    failed: u32,
}

impl Ktap {
    /// Prints the KTAP header.
    pub fn start() -> Self {
        println!("KTAP version 1");
        Ktap::default()
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

    pub fn failed(&self) -> u32 {
        self.failed
    }

    /// Prints the plan (and `hint` when a case failed) and exits with the verdict.
    pub fn finish(self, hint: Option<String>) -> ! {
        println!("1..{}", self.cases);
        if self.failed > 0 {
            if let Some(h) = hint {
                println!("# {h}");
            }
        }
        std::process::exit(if self.failed == 0 { 0 } else { 1 })
    }
}
