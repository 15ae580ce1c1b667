//! The guest suites of `tests/guest/suites`: their names, and the guest job script that
//! runs them between `KC-SUITE` / `KC-SUITE-END` markers.

use crate::shell::shell_quote;

/// The guest job of `cargo xtask test`: every command listed in
/// `tests/guest/suites` (blank lines and `#` comments skipped), run from
/// `dir`, wrapped in `KC-SUITE <name>` / `KC-SUITE-END <name> <status>`
/// markers (also written to the kernel log, for console context).
///
/// With `after` (a shell command run from `dir` with the suite's name as its last argument),
/// every suite is followed by a pseudo-suite `after-<name>` that checks what it left behind.
pub fn job_script(list: &str, dir: &str, after: Option<&str>) -> Option<String> {
    let dir = shell_quote(dir);
    let mut job = String::new();
    let mut seen: Vec<String> = Vec::new();
    for line in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let base = suite_name(line);
        let mut name = base.clone();
        let mut k = 2;
        while seen.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        job.push_str(&format!("cd {dir} || exit 1\n"));
        job.push_str(&marked(&name, line));
        if let Some(after) = after {
            job.push_str(&marked(
                &format!("after-{name}"),
                &format!("{after} {name}"),
            ));
        }
        seen.push(name);
    }
    (!seen.is_empty()).then_some(job)
}

/// One command between `KC-SUITE` markers, on the job's stdout and in the kernel log.
fn marked(name: &str, cmd: &str) -> String {
    format!(
        "echo 'KC-SUITE {name}'; echo 'KC-SUITE {name}' > /dev/kmsg\n\
         sh -c {} </dev/null 2>&1; st=$?\n\
         echo \"KC-SUITE-END {name} $st\"; echo \"KC-SUITE-END {name} $st\" > /dev/kmsg\n",
        shell_quote(cmd)
    )
}

/// Name of a suite given its command line from `tests/guest/suites`:
/// the first word that is not an interpreter, without folder and extension.
pub fn suite_name(cmd: &str) -> String {
    const INTERP: &[&str] = &[
        "sh", "env", "lua5.4", "lua5.1", "luajit", "lua", "busybox", "exec",
    ];
    let word = cmd
        .split_whitespace()
        .find(|w| !INTERP.contains(w) && !w.starts_with('-') && !w.contains('='))
        .unwrap_or("suite");
    let base = word.rsplit('/').next().unwrap_or(word);
    let stem = base.split('.').next().unwrap_or(base);
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "suite".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_job_script() {
        let job = job_script(
            "# comment\n\nsh basics.sh\nsh basics.sh --again\nlua5.4 it's.lua\n",
            "/t",
            None,
        )
        .unwrap();
        assert!(job.contains("KC-SUITE basics'"));
        assert!(job.contains("KC-SUITE basics_2'"));
        assert!(job.contains("sh -c 'sh basics.sh --again' </dev/null"));
        assert!(job.contains("sh -c 'lua5.4 it'\\''s.lua'"));
        assert!(job.contains("KC-SUITE-END basics_2 $st"));
        assert_eq!(job.matches("cd /t || exit 1").count(), 3);
        assert!(job_script("# nothing\n", "/t", None).is_none());
        let job = job_script("sh basics.sh\n", "/t", Some("sh after.sh")).unwrap();
        assert!(job.contains("KC-SUITE after-basics'"));
        assert!(job.contains("sh -c 'sh after.sh basics' </dev/null"));
        assert!(job.contains("KC-SUITE-END after-basics $st"));
    }

    #[test]
    fn suite_names() {
        assert_eq!(suite_name("sh basics.sh"), "basics");
        assert_eq!(
            suite_name("lua5.4 /usr/share/x/lua_api.lua --fast"),
            "lua_api"
        );
        assert_eq!(suite_name("kc-stress -n 3"), "kc-stress");
        assert_eq!(suite_name(""), "suite");
    }
}
