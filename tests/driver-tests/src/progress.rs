//! A KTAP comment line every so often while a long run works, so that the guest runner (which
//! kills a guest silent for minutes) and a reader both see it move.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// No progress for this long fails the run.
const STALL: Duration = Duration::from_secs(240);

pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Prints `# progress: N of TOTAL WHAT after S s` every 30 s until `stop`; exits the process
/// with status 3 if the count has not moved for [`STALL`].
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
        let (mut last, mut since) = (u64::MAX, Instant::now());
        while !flag.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(200));
            if t0.elapsed() >= next {
                next += Duration::from_secs(30);
                let now = count();
                println!(
                    "# progress: {now} of {total} {what} after {} s",
                    t0.elapsed().as_secs()
                );
                if now != last {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() >= STALL {
                    // A call that never returns: fail now, loudly, rather than let the guest
                    // run out its whole time budget.
                    println!("not ok - STALLED: no progress for {} s", STALL.as_secs());
                    let _ = std::io::stdout().flush();
                    std::process::exit(3);
                }
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
