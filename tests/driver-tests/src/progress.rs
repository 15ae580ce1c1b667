//! A KTAP comment line every so often while a long run works, so that the guest runner (which
//! kills a guest silent for minutes) and a reader both see it move.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Prints `# progress: N of TOTAL WHAT after S s` every 30 s until `stop`.
pub fn progress_reporter(
    count: impl Fn() -> u64 + Send + 'static,
    total: u64,
    what: &'static str,
) -> Progress {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = thread::spawn(move || {
        let t0 = Instant::now();
        let mut next = Duration::from_secs(30);
        while !flag.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(200));
            if t0.elapsed() >= next {
                next += Duration::from_secs(30);
                println!(
                    "# progress: {} of {total} {what} after {} s",
                    count(),
                    t0.elapsed().as_secs()
                );
                let _ = std::io::stdout().flush();
            }
        }
    });
    Progress {
        stop,
        thread: Some(thread),
    }
}

impl Progress {
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
