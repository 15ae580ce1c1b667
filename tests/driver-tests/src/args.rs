//! Command-line flags of the guest test programs: `--name VALUE` pairs of unsigned integers.

/// Parses `--name VALUE` pairs into the given defaults; an unknown flag, a missing or
/// malformed value exits with status 2 and a usage line.
pub fn parse(usage: &str, flags: &mut [(&str, &mut u64)]) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let die = |msg: String| -> ! {
        eprintln!("{msg}\nusage: {usage}");
        std::process::exit(2)
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(slot) = flags
            .iter_mut()
            .find(|(name, _)| flag.strip_prefix("--") == Some(*name))
        else {
            die(format!("unknown argument {flag}"));
        };
        let Some(value) = it.next() else {
            die(format!("{flag} needs a value"));
        };
        *slot.1 = value
            .parse()
            .unwrap_or_else(|_| die(format!("{flag}: not a number: {value}")));
    }
}
