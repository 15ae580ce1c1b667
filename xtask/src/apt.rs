//! Deciding how to install the host's missing apt packages, without ever
//! removing one the user has.
//!
//! Binary packages built from one source package must share its version
//! (Debian's qemu packages `Breaks:` older siblings). A machine that carries
//! `qemu-utils` from bookworm-backports therefore cannot take Debian 12's own
//! `qemu-system-x86`: apt would remove `qemu-utils` to install it. So a missing
//! package whose source already has a binary installed from backports is taken
//! from backports too, through a sources file of our own
//! ([`BACKPORTS_SOURCES_FILE`]); the system's sources are never edited. Every
//! plan is simulated (`apt-get install -s`) before it runs, and any `Remv` line
//! or failed simulation stops the run with apt's own words.
//!
//! This file holds the pure decisions (tested on captured `apt-get -s` and
//! `dpkg-query` output); `deps.rs` runs the commands.

/// Our own sources file for bookworm-backports (deb822 format).
pub const BACKPORTS_SOURCES_FILE: &str =
    "/etc/apt/sources.list.d/kcompletion-bookworm-backports.sources";

/// The Debian suite that backports for this release live in.
pub const BACKPORTS_SUITE: &str = "bookworm-backports";

pub const BACKPORTS_SOURCES: &str = "\
# Added by kcompletion's `cargo xtask` set-up: a package installed here comes from
# bookworm-backports, so its missing siblings (same source package) must come
# from there too. Only packages asked for with -t bookworm-backports use it.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// Which missing packages come from the release and which from backports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub main: Vec<String>,
    pub backports: Vec<String>,
}

/// A Debian version string built for a backports suite (`~bpo12+1`).
pub fn is_backports_version(version: &str) -> bool {
    version.contains("~bpo")
}

/// Source packages that have a binary installed from backports, from
/// `dpkg-query -W -f='${Package}\t${source:Package}\t${Version}\n'`.
pub fn backports_sources(dpkg_listing: &str) -> Vec<String> {
    let mut out: Vec<String> = dpkg_listing
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (_pkg, src, ver) = (f.next()?, f.next()?, f.next()?);
            is_backports_version(ver).then(|| src.to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Source package named by `apt-cache show --no-all-versions PKG`
/// (`Source: qemu (1:7.2...)`, or the package itself when there is no field).
pub fn source_of(pkg: &str, apt_cache_show: &str) -> String {
    apt_cache_show
        .lines()
        .find_map(|l| l.strip_prefix("Source: "))
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or(pkg)
        .to_string()
}

/// Split the missing packages: those whose source has a binary installed
/// from backports go to backports, the rest to the release.
pub fn split(missing: &[(&str, String)], from_backports: &[String]) -> Plan {
    let mut plan = Plan::default();
    for (pkg, src) in missing {
        if from_backports.iter().any(|s| s == src) {
            plan.backports.push(pkg.to_string());
        } else {
            plan.main.push(pkg.to_string());
        }
    }
    plan
}

/// Packages a simulated install would remove (`Remv NAME [VERSION]` lines).
pub fn removals(simulation: &str) -> Vec<String> {
    simulation
        .lines()
        .filter_map(|l| l.strip_prefix("Remv "))
        .map(|r| r.trim().to_string())
        .collect()
}

/// The apt-get arguments that install one half of a plan.
pub fn install_args(pkgs: &[String], backports: bool, simulate: bool) -> Vec<String> {
    let mut a = vec!["install".to_string()];
    a.push(if simulate { "-s" } else { "-y" }.to_string());
    a.push("--no-install-recommends".to_string());
    if backports {
        a.push("-t".to_string());
        a.push(BACKPORTS_SUITE.to_string());
    }
    a.extend(pkgs.iter().cloned());
    a
}

/// What to tell a user who is not root: the exact commands.
pub fn sudo_instructions(plan: &Plan) -> String {
    let mut s = String::from("run:\n");
    if !plan.backports.is_empty() {
        s.push_str(&format!(
            "  # {} must match what you have from {BACKPORTS_SUITE}:\n  sudo tee {BACKPORTS_SOURCES_FILE} <<'EOF'\n{}EOF\n",
            plan.backports.join(" "),
            BACKPORTS_SOURCES
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        ));
    }
    s.push_str("  sudo apt-get update\n");
    for (pkgs, bpo) in [(&plan.main, false), (&plan.backports, true)] {
        if !pkgs.is_empty() {
            s.push_str(&format!(
                "  sudo apt-get {}\n",
                install_args(pkgs, bpo, false).join(" ")
            ));
        }
    }
    s.push_str("then re-run this command");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const DPKG: &str = include_str!("apt-fixtures/dpkg-installed.txt");
    const CONFLICT_REMOVE: &str = include_str!("apt-fixtures/conflict-remove.txt");
    const CONFLICT_BREAKS: &str = include_str!("apt-fixtures/conflict-breaks.txt");
    const MAIN_OK: &str = include_str!("apt-fixtures/main-no-conflict.txt");
    const BACKPORTS_OK: &str = include_str!("apt-fixtures/backports-qemu.txt");

    fn missing() -> Vec<(&'static str, String)> {
        vec![
            ("clang", "llvm-defaults".into()),
            ("lua5.4", "lua5.4".into()),
            ("qemu-system-x86", "qemu".into()),
        ]
    }

    #[test]
    fn backports_machine_takes_qemu_from_backports() {
        let bpo = backports_sources(DPKG);
        assert!(bpo.contains(&"qemu".to_string()), "{bpo:?}");
        assert!(!bpo.contains(&"make-dfsg".to_string()));
        let plan = split(&missing(), &bpo);
        assert_eq!(plan.main, ["clang", "lua5.4"]);
        assert_eq!(plan.backports, ["qemu-system-x86"]);
    }

    #[test]
    fn plain_debian_takes_everything_from_the_release() {
        let plain = "qemu-utils\tqemu\t1:7.2+dfsg-7+deb12u18+b3\nmake\tmake-dfsg\t4.3-4.1\n";
        let plan = split(&missing(), &backports_sources(plain));
        assert!(plan.backports.is_empty());
        assert_eq!(plan.main.len(), 3);
        assert!(backports_sources("").is_empty());
    }

    #[test]
    fn simulations() {
        // Debian 12's qemu-system-x86 beside qemu-utils from backports, no
        // backports source: apt would remove qemu-utils.
        assert_eq!(
            removals(CONFLICT_REMOVE),
            ["qemu-utils [1:10.0.2+ds-2+deb13u1~bpo12+1]"]
        );
        // The same with the backports source configured: apt gives up (exit
        // 100, caught by the caller), and nothing reads as a removal.
        assert!(removals(CONFLICT_BREAKS).is_empty());
        assert!(CONFLICT_BREAKS.contains("E: "));
        // The plan's two halves remove nothing.
        assert!(removals(MAIN_OK).is_empty());
        assert!(removals(BACKPORTS_OK).is_empty());
        assert!(BACKPORTS_OK.contains("Inst qemu-system-x86 (1:10.0.2+ds-2+deb13u1~bpo12+1"));
    }

    #[test]
    fn source_field() {
        assert_eq!(
            source_of(
                "qemu-system-x86",
                "Package: qemu-system-x86\nSource: qemu (1:7.2+dfsg-7+deb12u18)\nVersion: 1:7.2\n"
            ),
            "qemu"
        );
        assert_eq!(
            source_of("lua5.4", "Package: lua5.4\nVersion: 5.4.4\n"),
            "lua5.4"
        );
    }

    #[test]
    fn not_root_gets_exact_commands() {
        let plan = Plan {
            main: vec!["clang".into()],
            backports: vec!["qemu-system-x86".into()],
        };
        let s = sudo_instructions(&plan);
        assert!(s.contains(&format!("sudo tee {BACKPORTS_SOURCES_FILE}")));
        assert!(s.contains("Suites: bookworm-backports"));
        assert!(s.contains("sudo apt-get install -y --no-install-recommends clang\n"));
        assert!(s.contains(
            "sudo apt-get install -y --no-install-recommends -t bookworm-backports qemu-system-x86\n"
        ));
        let s = sudo_instructions(&Plan {
            main: vec!["clang".into()],
            backports: vec![],
        });
        assert!(!s.contains("tee"));
        assert!(!s.contains("-t bookworm-backports"));
    }
}
