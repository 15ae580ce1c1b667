//! Guest tests of the `kcompletion` library and the `kcompletion` command against the real
//! driver. Prints KTAP (`ok N - ...` / `not ok N - ...`, plan at the end) and exits non-zero
//! if any case failed. Arguments select the cases whose description contains one of them.
//!
//! Run as root in the guest, with `kcompletion` on PATH (or `$KCOMPLETION_CLI`) and the users of
//! the test image (`kcuser`, uid 1000) for the permission and quota cases.
//!
//! `kcompletion-userlib-tests --fill-quota PREFIX` is an internal mode: it creates
//! `PREFIX-0`, `PREFIX-1`, ... until creation fails and prints `created N KIND ERRNO`.

mod cli;
mod common;
mod lib_hand_off;
mod lib_handles;
mod lib_names;
mod lib_state;
mod lib_wait;
mod lib_wait_many;
mod quota;

use kcompletion_test_harness::ktap::Ktap;

/// The topics, in the order their cases run.
const TOPICS: &[&[common::Case]] = &[
    lib_names::CASES,
    lib_wait::CASES,
    lib_hand_off::CASES,
    lib_handles::CASES,
    lib_state::CASES,
    lib_wait_many::CASES,
    quota::CASES,
    cli::CASES,
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "--fill-quota" {
        quota::fill_quota(&args[2]);
    }
    let mut ktap = Ktap::start().only(args.into_iter().skip(1));
    for (desc, f) in TOPICS.iter().copied().flatten() {
        if !ktap.selected(desc) {
            continue;
        }
        let r = std::panic::catch_unwind(f).unwrap_or_else(|p| {
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()))
        });
        ktap.case(r.is_ok(), desc);
        if let Err(e) = r {
            for l in e.lines() {
                ktap.diag(l);
            }
        }
    }
    ktap.finish_with_totals();
}
