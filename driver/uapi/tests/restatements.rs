//! The ABI is defined once, in `abi.rs`; three other places restate parts of it in another
//! language, and these tests fail on any drift:
//! - the LuaJIT FFI declaration of `struct kc_wait` in `userlib/lua/src/luajit.rs`;
//! - `KCLUA_NAME_MAX` in `driver/lua/kclua.h` (the kernel Lua host's longest name);
//! - `enum kclua_wait_result` in `kclua.h` against the constants `driver/lua/completion.rs`
//!   returns to it.
//!
//! (The C header `linux/kcompletion.h` has its own, compiled check: `c_header.rs`.)

use core::mem::{offset_of, size_of};
use kcompletion_abi::*;
use std::path::PathBuf;

fn read(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The body of `struct <name> { ... };` in `text`.
fn c_struct<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("struct {name} {{"))
        .unwrap_or_else(|| panic!("no `struct {name}` declared"));
    let body = &text[start + name.len() + 9..];
    &body[..body.find('}').expect("unterminated struct")]
}

/// (field, offset, size) of a C struct of fixed-width integers, laid out naturally.
fn layout(body: &str) -> (Vec<(String, usize, usize)>, usize) {
    let mut off: usize = 0;
    let mut align: usize = 1;
    let mut fields = Vec::new();
    for decl in body.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let (ty, field) = decl.rsplit_once(' ').expect("type and name");
        let size = match ty.trim() {
            "uint64_t" | "int64_t" => 8,
            "uint32_t" | "int32_t" => 4,
            "uint16_t" | "int16_t" => 2,
            "uint8_t" | "int8_t" => 1,
            other => panic!("unexpected type {other:?} in {body:?}"),
        };
        off = off.next_multiple_of(size);
        align = align.max(size);
        fields.push((field.to_string(), off, size));
        off += size;
    }
    (fields, off.next_multiple_of(align))
}

#[test]
fn luajit_kc_wait_matches_abi() {
    let text = read("../../userlib/lua/src/luajit.rs");
    let (fields, size) = layout(c_struct(&text, "kc_wait"));
    let want = vec![
        (
            "deadline_ns".to_string(),
            offset_of!(KcWait, deadline_ns),
            8,
        ),
        ("flags".to_string(), offset_of!(KcWait, flags), 4),
        ("reserved".to_string(), offset_of!(KcWait, reserved), 4),
    ];
    assert_eq!(fields, want, "LuaJIT's struct kc_wait differs from KcWait");
    assert_eq!(size, size_of::<KcWait>());
}

#[test]
fn kclua_name_max_matches_abi() {
    let text = read("../lua/kclua.h");
    let line = text
        .lines()
        .find(|l| l.starts_with("#define KCLUA_NAME_MAX "))
        .expect("KCLUA_NAME_MAX defined");
    let value: usize = line["#define KCLUA_NAME_MAX ".len()..]
        .trim()
        .parse()
        .unwrap();
    assert_eq!(value, KC_NAME_MAX);
}

#[test]
fn kclua_wait_results_match_rust() {
    let header = read("../lua/kclua.h");
    let rust = read("../lua/completion.rs");
    for (c, r) in [
        ("KCLUA_WAIT_OK", "WAIT_OK"),
        ("KCLUA_WAIT_TIMEOUT", "WAIT_TIMEOUT"),
        ("KCLUA_WAIT_INTERRUPT", "WAIT_INTERRUPT"),
    ] {
        let cv = header
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{c} = ")))
            .unwrap_or_else(|| panic!("{c} in kclua.h"))
            .trim_end_matches(',')
            .to_string();
        let rv = rust
            .lines()
            .find_map(|l| l.strip_prefix(&format!("const {r}: c_int = ")))
            .unwrap_or_else(|| panic!("{r} in completion.rs"))
            .trim_end_matches(';')
            .to_string();
        assert_eq!(cv, rv, "{c} (kclua.h) vs {r} (completion.rs)");
    }
}
