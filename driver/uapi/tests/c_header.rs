//! Checks that `driver/uapi/linux/kcompletion.h` agrees with the Rust ABI: compiles a C
//! program against the header that prints every constant, ioctl number, struct size and field
//! offset, and compares each with the Rust definition. Needs a C compiler (`cc`, or `$CC`).

use core::mem::{offset_of, size_of};
use kcompletion_abi::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// `(C expression, Rust value)`: the C program prints each expression as an unsigned 64-bit
/// number.
fn expected() -> Vec<(&'static str, u64)> {
    macro_rules! size {
        ($c:literal, $t:ty) => {
            (concat!("sizeof(struct ", $c, ")"), size_of::<$t>() as u64)
        };
    }
    macro_rules! off {
        ($c:literal, $t:ty, $f:ident) => {
            (
                concat!("offsetof(struct ", $c, ", ", stringify!($f), ")"),
                offset_of!($t, $f) as u64,
            )
        };
    }
    macro_rules! konst {
        ($c:ident) => {
            (stringify!($c), $c as u64)
        };
    }
    vec![
        size!("kc_name", KcName),
        off!("kc_name", KcName, ptr),
        off!("kc_name", KcName, len),
        off!("kc_name", KcName, reserved),
        size!("kc_version", KcVersion),
        off!("kc_version", KcVersion, version),
        off!("kc_version", KcVersion, reserved),
        size!("kc_create", KcCreate),
        off!("kc_create", KcCreate, name),
        off!("kc_create", KcCreate, mode),
        off!("kc_create", KcCreate, flags),
        size!("kc_open", KcOpen),
        off!("kc_open", KcOpen, name),
        off!("kc_open", KcOpen, access),
        off!("kc_open", KcOpen, reserved),
        size!("kc_wait", KcWait),
        off!("kc_wait", KcWait, deadline_ns),
        off!("kc_wait", KcWait, flags),
        off!("kc_wait", KcWait, reserved),
        size!("kc_complete_and_wait", KcCompleteAndWait),
        off!("kc_complete_and_wait", KcCompleteAndWait, deadline_ns),
        off!("kc_complete_and_wait", KcCompleteAndWait, flags),
        off!("kc_complete_and_wait", KcCompleteAndWait, complete_fd),
        size!("kc_wait_many", KcWaitMany),
        off!("kc_wait_many", KcWaitMany, deadline_ns),
        off!("kc_wait_many", KcWaitMany, fds),
        off!("kc_wait_many", KcWaitMany, count),
        off!("kc_wait_many", KcWaitMany, flags),
        off!("kc_wait_many", KcWaitMany, alert_fd),
        off!("kc_wait_many", KcWaitMany, index),
        off!("kc_wait_many", KcWaitMany, reserved),
        size!("kc_wait_set", KcWaitSet),
        off!("kc_wait_set", KcWaitSet, fds),
        off!("kc_wait_set", KcWaitSet, count),
        off!("kc_wait_set", KcWaitSet, flags),
        off!("kc_wait_set", KcWaitSet, reserved),
        size!("kc_info", KcInfo),
        off!("kc_info", KcInfo, id),
        off!("kc_info", KcInfo, done),
        off!("kc_info", KcInfo, waiters),
        off!("kc_info", KcInfo, handles),
        off!("kc_info", KcInfo, uid),
        off!("kc_info", KcInfo, gid),
        off!("kc_info", KcInfo, mode),
        off!("kc_info", KcInfo, flags),
        off!("kc_info", KcInfo, name_len),
        off!("kc_info", KcInfo, reserved),
        off!("kc_info", KcInfo, name),
        (
            "sizeof(((struct kc_info *)0)->name)",
            size_of::<[u8; KC_NAME_MAX + 1]>() as u64,
        ),
        size!("kc_state", KcState),
        off!("kc_state", KcState, seq),
        off!("kc_state", KcState, done),
        off!("kc_state", KcState, id),
        off!("kc_state", KcState, flags),
        size!("kc_map_info", KcMapInfo),
        off!("kc_map_info", KcMapInfo, offset),
        off!("kc_map_info", KcMapInfo, id),
        off!("kc_map_info", KcMapInfo, slot_size),
        off!("kc_map_info", KcMapInfo, reserved),
        size!("kc_list", KcList),
        off!("kc_list", KcList, entries),
        off!("kc_list", KcList, capacity),
        off!("kc_list", KcList, count),
        off!("kc_list", KcList, cursor),
        off!("kc_list", KcList, reserved),
        size!("kc_run", KcRun),
        off!("kc_run", KcRun, name),
        off!("kc_run", KcRun, source),
        off!("kc_run", KcRun, source_len),
        off!("kc_run", KcRun, error_size),
        off!("kc_run", KcRun, error),
        off!("kc_run", KcRun, error_len),
        off!("kc_run", KcRun, reserved),
        size!("kc_script_info", KcScriptInfo),
        off!("kc_script_info", KcScriptInfo, name_len),
        off!("kc_script_info", KcScriptInfo, state),
        off!("kc_script_info", KcScriptInfo, memory),
        off!("kc_script_info", KcScriptInfo, error_len),
        off!("kc_script_info", KcScriptInfo, reserved),
        off!("kc_script_info", KcScriptInfo, name),
        off!("kc_script_info", KcScriptInfo, error),
        size!("kc_scripts", KcScripts),
        off!("kc_scripts", KcScripts, entries),
        off!("kc_scripts", KcScripts, capacity),
        off!("kc_scripts", KcScripts, count),
        konst!(KC_SCRIPT_SOURCE_MAX),
        konst!(KC_SCRIPTS_MAX),
        konst!(KC_SCRIPT_ERROR_MAX),
        konst!(KC_SCRIPT_RUNNING),
        konst!(KC_SCRIPT_FINISHED),
        konst!(KC_SCRIPT_FAILED),
        konst!(KC_IOC_RUN),
        konst!(KC_IOC_STOP),
        konst!(KC_IOC_SCRIPTS),
        konst!(KC_ABI_VERSION),
        konst!(KC_IOC_MAGIC),
        konst!(KC_NAME_MAX),
        konst!(KC_DONE_ALL),
        konst!(KC_DEADLINE_NEVER),
        konst!(KC_LIST_MAX),
        konst!(KC_CREATE_EXCL),
        konst!(KC_CREATE_ANONYMOUS),
        konst!(KC_ACCESS_READ),
        konst!(KC_ACCESS_WRITE),
        konst!(KC_WAIT_REALTIME),
        konst!(KC_COMPLETE_AND_WAIT_ALL),
        konst!(KC_INFO_LINKED),
        konst!(KC_STATE_LINKED),
        konst!(KC_STATE_GONE),
        konst!(KC_STATE_REVOKED),
        konst!(KC_WAIT_ALL),
        konst!(KC_WAIT_MANY_MAX),
        konst!(KC_IOC_WAIT_MANY),
        konst!(KC_IOC_WAIT_SET),
        konst!(KC_IOC_REVOKE),
        konst!(KC_IOC_MAP_INFO),
        konst!(KC_IOC_VERSION),
        konst!(KC_IOC_CREATE),
        konst!(KC_IOC_OPEN),
        konst!(KC_IOC_UNLINK),
        konst!(KC_IOC_LIST),
        konst!(KC_IOC_COMPLETE),
        konst!(KC_IOC_COMPLETE_ALL),
        konst!(KC_IOC_WAIT),
        konst!(KC_IOC_TRY_WAIT),
        konst!(KC_IOC_COMPLETE_AND_WAIT),
        konst!(KC_IOC_DONE),
        konst!(KC_IOC_REINIT),
        konst!(KC_IOC_INFO),
    ]
}

fn c_program(items: &[(&str, u64)]) -> String {
    let mut s = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <linux/kcompletion.h>\n\nint main(void)\n{\n",
    );
    for (expr, _) in items {
        s.push_str(&format!(
            "\tprintf(\"%s=%llu\\n\", \"{expr}\", (unsigned long long)({expr}));\n"
        ));
    }
    s.push_str("\treturn 0;\n}\n");
    s
}

#[test]
fn c_header_matches_rust_abi() {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        include.join("linux/kcompletion.h").is_file(),
        "{} is missing",
        include.join("linux/kcompletion.h").display()
    );
    let items = expected();
    let dir = std::env::temp_dir().join(format!("kc-c-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&src, c_program(&items)).unwrap();

    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(&include)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run the C compiler `{cc}` ({e}): this test needs one (apt-get install gcc)"
            )
        });
    assert!(
        out.status.success(),
        "compiling {} against the header failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().expect("run the probe");
    assert!(out.status.success());
    let printed: BTreeMap<String, u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect();

    let mut mismatches = Vec::new();
    for (expr, rust) in &items {
        match printed.get(*expr) {
            Some(c) if c == rust => {}
            Some(c) => mismatches.push(format!("{expr}: C {c:#x}, Rust {rust:#x}")),
            None => mismatches.push(format!("{expr}: not printed by the C program")),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        mismatches.is_empty(),
        "the C header and the Rust ABI disagree:\n  {}",
        mismatches.join("\n  ")
    );
    assert_eq!(printed.len(), items.len());
}
