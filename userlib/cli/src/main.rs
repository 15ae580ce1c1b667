// Over 500 lines on purpose: one clap definition of the 13 subcommands with their help texts,
// each next to the few lines that run it, so a subcommand's flags and behaviour are read in
// one place.
//! `kcompletion`: create, signal, wait on and inspect named kernel completions
//! (`/dev/kcompletion`) from the shell.
//!
//! ```text
//! kcompletion create NAME [--mode 600] [--exclusive]
//! kcompletion open NAME [--access rw|r|w]
//! kcompletion complete NAME [--all] [--then-wait NAME2 [--timeout MS]]
//! kcompletion wait NAME [--timeout MS]
//! kcompletion trywait NAME
//! kcompletion reinit NAME
//! kcompletion unlink NAME
//! kcompletion info NAME [--json]
//! kcompletion list [--json]
//! kcompletion run FILE [--name NAME]     # a kernel Lua script in a kernel thread (root)
//! kcompletion run --check FILE           # check it for the kernel dialect, in userspace
//! kcompletion stop NAME                  # stop it, or remove an ended one from the list
//! kcompletion scripts [--json]
//! ```
//!
//! Errors are reported on stderr as `kcompletion: SUBCOMMAND "NAME": CAUSE`, for example
//! `kcompletion: wait "job1": timed out after 50 ms`.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |-----:|---------|
//! | 0 | success |
//! | 1 | other error |
//! | 2 | usage error (bad arguments, including an invalid name or mode) |
//! | 3 | timeout (`wait --timeout`, `complete --then-wait --timeout`) |
//! | 4 | not done (`trywait`) |
//! | 5 | not found |
//! | 6 | permission denied |
//! | 7 | interrupted by a signal (`wait`, `complete --then-wait`: SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2) |
//! | 8 | exists (`create --exclusive`) |
//! | 9 | limit reached (too many completions) |
//! | 10 | driver not loaded |
//! | 11 | the Lua script does not compile (`run`; the message is on stderr), or `run --check` found errors (`FILE:LINE:COL: message` on stderr) |

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use kcompletion::{exit, Access, Completion, ErrorKind, Info, Options};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// Create, signal, wait on and inspect named kernel completions (/dev/kcompletion).
///
/// NAME is 1 to 63 bytes of printable ASCII without spaces.
#[derive(Parser, Debug)]
#[command(name = "kcompletion", version, after_help = exit::help())]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create a completion (or open it if it exists, unless --exclusive)
    Create {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
        /// Permission bits in octal, at most 777 (read: wait/query; write: complete/reinit)
        #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
        mode: u32,
        /// Fail with exit code 8 if the name exists
        #[arg(long)]
        exclusive: bool,
    },
    /// Check that a completion exists and can be opened
    Open {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
        /// Access to open with
        #[arg(long, value_enum, default_value = "rw")]
        access: AccessArg,
    },
    /// Signal a completion: wake one waiter (or, with --all, every waiter, forever)
    Complete {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
        /// complete_all: every present and future wait succeeds until reinit
        #[arg(long)]
        all: bool,
        /// Then wait on the completion THEN_WAIT in the same call (and consume it): a
        /// hand-off with no window between the two
        #[arg(long, value_name = "THEN_WAIT", value_parser = parse_name)]
        then_wait: Option<String>,
        /// With --then-wait: give up the wait after MS milliseconds (exit code 3; the
        /// completion stays made); default: wait forever
        #[arg(long, value_name = "MS", requires = "then_wait")]
        timeout: Option<u64>,
    },
    /// Wait for a completion and consume it
    Wait {
        /// Name of the completion; with several, wait for any of them (--any, the default:
        /// prints the name that fired) or for all of them at once (--all); at most 128
        #[arg(value_parser = parse_name, required = true, num_args = 1..)]
        names: Vec<String>,
        /// Give up after MS milliseconds (exit code 3); default: wait forever
        #[arg(long, value_name = "MS")]
        timeout: Option<u64>,
        /// Wait for any one of the completions and consume one from it (the default)
        #[arg(long, conflicts_with = "all")]
        any: bool,
        /// Wait until all the completions are done at once and consume one from each
        #[arg(long)]
        all: bool,
    },
    /// Consume a completion if it is done, without waiting (exit code 4 if not)
    Trywait {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
    },
    /// Reset a completion to not done
    Reinit {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
    },
    /// Remove a completion's name (open handles keep working, unless --revoke)
    Unlink {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
        /// Also kill the object: every waiter fails at once, and so does every later
        /// operation through any handle (exit code 12); needs write permission
        #[arg(long)]
        revoke: bool,
    },
    /// Show a completion's state
    Info {
        /// Name of the completion
        #[arg(value_parser = parse_name)]
        name: String,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// List all completions
    List {
        /// Print a JSON array
        #[arg(long)]
        json: bool,
    },
    /// Run a Lua file in a new kernel thread (needs CAP_SYS_ADMIN; see the README's kernel Lua
    /// dialect), or with --check only check it
    Run {
        /// The Lua source file (- reads standard input)
        file: std::path::PathBuf,
        /// Name of the script and its thread (default: the file name without .lua)
        #[arg(long, value_parser = parse_name)]
        name: Option<String>,
        /// Do not run: check FILE against the kernel Lua dialect in userspace (syntax, integers
        /// only, the libraries the kernel has; no driver, no root). Prints FILE:LINE:COL:
        /// message for each finding on stderr; exit code 11 if there is an error, 0 (with
        /// "FILE: ok for kernel Lua") otherwise
        #[arg(long)]
        check: bool,
    },
    /// Stop a running kernel Lua script, or remove an ended one from the list
    Stop {
        /// Name of the script
        #[arg(value_parser = parse_name)]
        name: String,
    },
    /// List the kernel Lua scripts
    Scripts {
        /// Print a JSON array
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AccessArg {
    /// Read and write
    Rw,
    /// Read (wait, query)
    R,
    /// Write (complete, reinit)
    W,
}

impl From<AccessArg> for Access {
    fn from(a: AccessArg) -> Access {
        match a {
            AccessArg::Rw => Access::ReadWrite,
            AccessArg::R => Access::Read,
            AccessArg::W => Access::Write,
        }
    }
}

fn parse_name(s: &str) -> Result<String, String> {
    kcompletion::validate_name(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.cause())
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 && !digits.is_empty() => Ok(m),
        Ok(_) => Err(format!("mode {s} is above 777")),
        Err(_) => Err(format!("{s:?} is not an octal mode such as 600")),
    }
}

fn info_json(i: &Info) -> serde_json::Value {
    json!({
        "id": i.id,
        "name": i.name,
        "done": i.done,
        "completed_all": i.is_completed_all(),
        "waiters": i.waiters,
        "handles": i.handles,
        "uid": i.uid,
        "gid": i.gid,
        "mode": i.mode,
        "mode_octal": format!("{:04o}", i.mode),
        "linked": i.linked,
    })
}

fn done_text(i: &Info) -> String {
    if i.is_completed_all() {
        "all".to_owned()
    } else {
        i.done.to_string()
    }
}

fn info_text(i: &Info, state_page: bool) -> String {
    format!(
        "name:    {}\nid:      {}\ndone:    {}\nwaiters: {}\nhandles: {}\nowner:   {}:{}\nmode:    {:04o}\nlinked:  {}\nstate page: {}\n",
        i.name,
        i.id,
        done_text(i),
        i.waiters,
        i.handles,
        i.uid,
        i.gid,
        i.mode,
        if i.linked { "yes" } else { "no" },
        if state_page {
            "mapped (done and failing try-waits read it, no system call)"
        } else {
            "not mapped (the ioctls are used)"
        }
    )
}

fn list_text(infos: &[Info]) -> String {
    let width = infos.iter().map(|i| i.name.len()).max().unwrap_or(0).max(4);
    let mut s = format!(
        "{:>6}  {:<width$}  {:>10}  {:>7}  {:>7}  {:>6}  {:>6}  MODE\n",
        "ID", "NAME", "DONE", "WAITERS", "HANDLES", "UID", "GID"
    );
    for i in infos {
        s.push_str(&format!(
            "{:>6}  {:<width$}  {:>10}  {:>7}  {:>7}  {:>6}  {:>6}  {:04o}\n",
            i.id,
            i.name,
            done_text(i),
            i.waiters,
            i.handles,
            i.uid,
            i.gid,
            i.mode
        ));
    }
    s
}

/// The script name `run` uses: `--name`, else the file name without `.lua`.
fn script_name(file: &std::path::Path, name: &Option<String>) -> String {
    match name {
        Some(n) => n.clone(),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| s != "-")
            .unwrap_or_else(|| "stdin".to_owned()),
    }
}

fn script_json(s: &kcompletion::ScriptInfo) -> serde_json::Value {
    json!({
        "name": s.name,
        "state": s.state.as_str(),
        "memory": s.memory,
        "error": s.error,
    })
}

fn scripts_text(list: &[kcompletion::ScriptInfo]) -> String {
    let width = list.iter().map(|s| s.name.len()).max().unwrap_or(0).max(4);
    let mut out = format!(
        "{:<width$}  {:<8}  {:>10}  ERROR\n",
        "NAME", "STATE", "MEMORY"
    );
    for s in list {
        out.push_str(&format!(
            "{:<width$}  {:<8}  {:>10}  {}\n",
            s.name,
            s.state.as_str(),
            s.memory,
            s.error.as_deref().unwrap_or("")
        ));
    }
    out
}

extern "C" fn on_signal(_: libc::c_int) {}

/// Makes the usual termination signals interrupt a blocking wait (`EINTR`, exit code 7)
/// instead of killing the process: a handler without `SA_RESTART`.
fn interrupt_on_signals() {
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: a zeroed sigaction with an async-signal-safe (empty) handler is valid.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            sa.sa_flags = 0;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// `run --check`: prints the findings of the dialect check of `source` on stderr as
/// `FILE:LINE:COL: message`; [`exit::COMPILE_ERROR`] if one is an error.
fn check_source(file: &std::path::Path, source: &str) -> u8 {
    let shown = if file.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        file.display().to_string()
    };
    let found = kcompletion::dialect::check(source);
    for d in &found {
        eprintln!("{shown}:{d}");
    }
    if found.iter().any(|d| d.is_error()) {
        return exit::COMPILE_ERROR;
    }
    match found.len() {
        0 => println!("{shown}: ok for kernel Lua"),
        1 => println!("{shown}: ok for kernel Lua (1 warning)"),
        n => println!("{shown}: ok for kernel Lua ({n} warnings)"),
    }
    exit::OK
}

/// Outcome of a subcommand: an exit code, or a library error.
type Outcome = Result<u8, kcompletion::Error>;

fn run(cmd: &Cmd) -> Outcome {
    match cmd {
        Cmd::Create {
            name,
            mode,
            exclusive,
        } => {
            Completion::create(name, &Options::new().mode(*mode).exclusive(*exclusive))?;
        }
        Cmd::Open { name, access } => {
            Completion::open_with(name, (*access).into())?;
        }
        Cmd::Complete {
            name,
            all,
            then_wait: None,
            ..
        } => {
            let c = Completion::open_with(name, Access::Write)?;
            if *all {
                c.complete_all()?;
            } else {
                c.complete()?;
            }
        }
        Cmd::Complete {
            name,
            all,
            then_wait: Some(then_wait),
            timeout,
        } => {
            let c = Completion::open_with(name, Access::Write)?;
            let w = Completion::open_with(then_wait, Access::Read)?;
            interrupt_on_signals();
            let timeout = timeout.map(Duration::from_millis);
            if *all {
                c.complete_all_and_wait(&w, timeout)?;
            } else {
                c.complete_and_wait(&w, timeout)?;
            }
        }
        Cmd::Wait {
            names,
            timeout,
            any,
            all,
        } => {
            let timeout = timeout.map(Duration::from_millis);
            let objects = names
                .iter()
                .map(|n| Completion::open_with(n, Access::Read))
                .collect::<Result<Vec<_>, _>>()?;
            interrupt_on_signals();
            if let [c] = &objects[..] {
                c.wait(timeout)?;
            } else {
                let refs: Vec<&Completion> = objects.iter().collect();
                if *all {
                    kcompletion::wait_all(&refs, timeout)?;
                } else {
                    let _ = any;
                    println!("{}", names[kcompletion::wait_any(&refs, timeout)?]);
                }
            }
        }
        Cmd::Trywait { name } => {
            let c = Completion::open_with(name, Access::Read)?;
            if !c.try_wait()? {
                eprintln!("kcompletion: trywait {name:?}: not done");
                return Ok(exit::NOT_DONE);
            }
        }
        Cmd::Reinit { name } => {
            Completion::open_with(name, Access::Write)?.reinit()?;
        }
        Cmd::Unlink {
            name,
            revoke: false,
        } => kcompletion::unlink(name)?,
        Cmd::Unlink { name, revoke: true } => {
            Completion::open_with(name, Access::Write)?.revoke()?;
        }
        Cmd::Info { name, json } => {
            let c = Completion::open_with(name, Access::Read)?;
            let info = c.info()?;
            let state_page = c.uses_state_page();
            if *json {
                let mut v = info_json(&info);
                v["state_page"] = json!(state_page);
                println!("{v}");
            } else {
                print!("{}", info_text(&info, state_page));
            }
        }
        Cmd::List { json } => {
            let infos = kcompletion::list()?;
            if *json {
                let v: Vec<_> = infos.iter().map(info_json).collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                print!("{}", list_text(&infos));
            }
        }
        Cmd::Run { file, name, check } => {
            let name = script_name(file, name);
            let source = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(file)
            };
            let source = match source {
                Ok(s) => s,
                Err(e) => {
                    eprintln!(
                        "kcompletion: run {name:?}: cannot read {}: {e}",
                        file.display()
                    );
                    return Ok(exit::OTHER);
                }
            };
            if *check {
                return Ok(check_source(file, &source));
            }
            kcompletion::run(&name, &source)?;
        }
        Cmd::Stop { name } => kcompletion::stop(name)?,
        Cmd::Scripts { json } => {
            let list = kcompletion::scripts()?;
            if *json {
                let v: Vec<_> = list.iter().map(script_json).collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                print!("{}", scripts_text(&list));
            }
        }
    }
    Ok(exit::OK)
}

fn subcommand_name(cmd: &Cmd) -> (&'static str, Option<&str>) {
    match cmd {
        Cmd::Create { name, .. } => ("create", Some(name)),
        Cmd::Open { name, .. } => ("open", Some(name)),
        Cmd::Complete { name, .. } => ("complete", Some(name)),
        Cmd::Wait { names, .. } => ("wait", names.first().map(String::as_str)),
        Cmd::Trywait { name } => ("trywait", Some(name)),
        Cmd::Reinit { name } => ("reinit", Some(name)),
        Cmd::Unlink { name, .. } => ("unlink", Some(name)),
        Cmd::Info { name, .. } => ("info", Some(name)),
        Cmd::List { .. } => ("list", None),
        Cmd::Run { .. } => ("run", None),
        Cmd::Stop { name } => ("stop", Some(name)),
        Cmd::Scripts { .. } => ("scripts", None),
    }
}

fn command() -> clap::Command {
    let exit_codes = exit::help();
    Cli::command().mut_subcommands(|s| s.after_help(exit_codes.clone()))
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(&cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == ErrorKind::CompileError => {
            // The compiler's message names the script and the line: print it as it is.
            eprintln!(
                "kcompletion: run: {}",
                e.detail().unwrap_or("does not compile")
            );
            ExitCode::from(exit::code(e.kind()))
        }
        Err(e) => {
            if let Cmd::Run { file, name, .. } = &cli.cmd {
                eprintln!(
                    "kcompletion: run {:?}: {}",
                    script_name(file, name),
                    e.cause()
                );
                return ExitCode::from(exit::code(e.kind()));
            }
            if let Cmd::Complete {
                then_wait: Some(_), ..
            } = &cli.cmd
            {
                // Two objects: the error says which call on which ("open \"B\": ...",
                // "complete_and_wait \"A then B\": timed out after 50 ms").
                eprintln!("kcompletion: {e}");
                return ExitCode::from(exit::code(e.kind()));
            }
            match subcommand_name(&cli.cmd) {
                (sub, Some(name)) => eprintln!("kcompletion: {sub} {name:?}: {}", e.cause()),
                (sub, None) => eprintln!("kcompletion: {sub}: {}", e.cause()),
            }
            ExitCode::from(exit::code(e.kind()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0600"), Ok(0o600));
        assert_eq!(parse_mode("0o644"), Ok(0o644));
        assert_eq!(parse_mode("777"), Ok(0o777));
        assert_eq!(parse_mode("0"), Ok(0));
        assert!(parse_mode("1000").is_err());
        assert!(parse_mode("8").is_err());
        assert!(parse_mode("").is_err());
        assert!(parse_mode("-1").is_err());
        assert!(parse_mode("rw").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("job1"), Ok("job1".into()));
        assert!(parse_name("a b").is_err());
        assert!(parse_name("").is_err());
        assert!(parse_name(&"x".repeat(64)).is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit::code(ErrorKind::Timeout), 3);
        assert_eq!(exit::code(ErrorKind::NotFound), 5);
        assert_eq!(exit::code(ErrorKind::PermissionDenied), 6);
        assert_eq!(exit::code(ErrorKind::Interrupted), 7);
        assert_eq!(exit::code(ErrorKind::Exists), 8);
        assert_eq!(exit::code(ErrorKind::Limit), 9);
        assert_eq!(exit::code(ErrorKind::DriverNotLoaded), 10);
        assert_eq!(exit::code(ErrorKind::BadAccess), 1);
        assert_eq!(exit::code(ErrorKind::AbiMismatch), 1);
        assert_eq!(exit::code(ErrorKind::Other), 1);
    }

    #[test]
    fn parses_subcommands() {
        let p = |args: &[&str]| {
            let m = command().try_get_matches_from(args)?;
            Cli::from_arg_matches(&m)
        };
        let c = p(&["kcompletion", "create", "j", "--mode", "640", "--exclusive"]).unwrap();
        assert!(matches!(
            c.cmd,
            Cmd::Create {
                mode: 0o640,
                exclusive: true,
                ..
            }
        ));
        let c = p(&["kcompletion", "wait", "j", "--timeout", "50"]).unwrap();
        assert!(matches!(
            c.cmd,
            Cmd::Wait {
                timeout: Some(50),
                ..
            }
        ));
        assert!(p(&["kcompletion", "wait", "j", "--timeout", "-1"]).is_err());
        let c = p(&["kcompletion", "wait", "a", "b", "c", "--all"]).unwrap();
        assert!(matches!(c.cmd, Cmd::Wait { all: true, ref names, .. } if names.len() == 3));
        assert!(p(&["kcompletion", "wait", "a", "b", "--any", "--all"]).is_err());
        assert!(p(&["kcompletion", "wait"]).is_err());
        let c = p(&["kcompletion", "unlink", "a", "--revoke"]).unwrap();
        assert!(matches!(c.cmd, Cmd::Unlink { revoke: true, .. }));
        assert!(p(&["kcompletion", "wait", "bad name"]).is_err());
        assert!(p(&["kcompletion", "create", "j", "--mode", "999"]).is_err());
        let c = p(&["kcompletion", "complete", "j", "--all"]).unwrap();
        assert!(matches!(c.cmd, Cmd::Complete { all: true, .. }));
        let c = p(&[
            "kcompletion",
            "complete",
            "a",
            "--then-wait",
            "b",
            "--timeout",
            "7",
        ])
        .unwrap();
        assert!(matches!(
            c.cmd,
            Cmd::Complete {
                all: false,
                then_wait: Some(ref b),
                timeout: Some(7),
                ..
            } if b == "b"
        ));
        // --timeout belongs to the wait: without --then-wait it is a usage error.
        assert!(p(&["kcompletion", "complete", "a", "--timeout", "7"]).is_err());
        assert!(p(&["kcompletion", "complete", "a", "--then-wait", "bad name"]).is_err());
        assert!(p(&["kcompletion", "list", "--json"]).is_ok());
        let c = p(&["kcompletion", "run", "--check", "x.lua"]).unwrap();
        assert!(matches!(c.cmd, Cmd::Run { check: true, .. }));
        let c = p(&["kcompletion", "run", "x.lua"]).unwrap();
        assert!(matches!(c.cmd, Cmd::Run { check: false, .. }));
    }

    #[test]
    fn help_mentions_exit_codes() {
        let mut cmd = command();
        for sub in cmd.get_subcommands_mut() {
            let help = sub.render_help().to_string();
            assert!(help.contains("10  driver not loaded"), "{}", sub.get_name());
        }
    }

    #[test]
    fn check_exit_codes() {
        let path = std::path::Path::new("x.lua");
        assert_eq!(check_source(path, "return 7 // 2\n"), exit::OK);
        assert_eq!(check_source(path, "local x = 1\nreturn x / 2\n"), exit::OK);
        assert_eq!(check_source(path, "return 1.5\n"), exit::COMPILE_ERROR);
        assert_eq!(check_source(path, "return math.pi\n"), 11);
    }

    #[test]
    fn formats() {
        let i = Info {
            id: 3,
            name: "job1".into(),
            done: u32::MAX,
            waiters: 1,
            handles: 2,
            uid: 0,
            gid: 0,
            mode: 0o600,
            linked: true,
        };
        let v = info_json(&i);
        assert_eq!(v["name"], "job1");
        assert_eq!(v["completed_all"], true);
        assert_eq!(v["mode"], 384);
        assert_eq!(v["mode_octal"], "0600");
        assert!(info_text(&i, false).contains("done:    all"));
        assert!(info_text(&i, true).contains("state page: mapped"));
        let t = list_text(&[i]);
        assert!(t.lines().nth(1).unwrap().contains("job1"));
    }
}
