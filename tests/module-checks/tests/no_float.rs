//! Kernel Lua is integers only: the built module must hold no soft-float helper (`__fixdfdi`,
//! `__floatdidf`, `__adddf3`, ...) and no x87, MMX or SSE instruction. Inspects
//! `driver/kcompletion.ko` (or `$KC_MODULE_KO`) with `llvm-nm`/`nm` and
//! `llvm-objdump`/`objdump`. Fails when the module or the tools are missing: a check that
//! cannot run must not pass.

use std::path::PathBuf;
use std::process::Command;

fn module() -> PathBuf {
    let ko = match std::env::var_os("KC_MODULE_KO") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../driver/kcompletion.ko"),
    };
    assert!(
        ko.is_file(),
        "{} does not exist: build the module first (`cargo xtask test` does, or `cargo xtask vm`)",
        ko.display()
    );
    ko
}

/// Runs the first of `tools` that exists with `args` and the module; returns its stdout.
fn tool_output(tools: &[&str], args: &[&str]) -> String {
    let ko = module();
    for t in tools {
        match Command::new(t).args(args).arg(&ko).output() {
            Ok(out) if out.status.success() => {
                return String::from_utf8_lossy(&out.stdout).into_owned()
            }
            Ok(out) => panic!(
                "{t} {args:?} {} failed: {}",
                ko.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => continue,
        }
    }
    panic!("none of {tools:?} is installed: cannot inspect the module (apt-get install llvm or binutils)");
}

/// libgcc/compiler-rt soft-float helpers: `__<op><mode>f<n>` and the conversions.
fn is_soft_float(sym: &str) -> bool {
    let Some(rest) = sym.strip_prefix("__") else {
        return false;
    };
    if ["fix", "float", "extend", "trunc"]
        .iter()
        .any(|p| rest.starts_with(p))
        && ["sf", "df", "tf", "xf", "hf"]
            .iter()
            .any(|m| rest.contains(m))
    {
        return true;
    }
    let ops = [
        "add", "sub", "mul", "div", "neg", "powi", "pow", "cmp", "eq", "ne", "lt", "le", "gt",
        "ge", "unord",
    ];
    ops.iter().any(|op| {
        rest.strip_prefix(op).is_some_and(|m| {
            ["sf", "df", "tf", "xf", "hf"].iter().any(|mode| {
                m.strip_prefix(mode)
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
            })
        })
    })
}

#[test]
fn soft_float_detector() {
    for s in [
        "__fixdfdi",
        "__floatdidf",
        "__floatdisf",
        "__fixsfdi",
        "__adddf3",
        "__divsf3",
        "__extendsfdf2",
        "__truncdfsf2",
        "__ltdf2",
        "__unorddf2",
        "__powidf2",
    ] {
        assert!(is_soft_float(s), "{s}");
    }
    for s in [
        "__fentry__",
        "__kmalloc",
        "__x86_return_thunk",
        "__fdget",
        "__addr_ok",
        "__ubsan_handle_add_overflow",
        "luaV_execute",
    ] {
        assert!(!is_soft_float(s), "{s}");
    }
}

#[test]
fn no_soft_float_symbols() {
    let syms = tool_output(&["llvm-nm", "nm"], &[]);
    assert!(
        syms.contains("luaV_execute"),
        "the module has no Lua VM (luaV_execute): not the kernel-Lua build?"
    );
    let bad: Vec<&str> = syms
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| is_soft_float(s))
        .collect();
    assert!(bad.is_empty(), "soft-float helpers in the module: {bad:?}");
}

/// An x87, MMX or SSE instruction in AT&T syntax: x87 mnemonics all start with `f`
/// (`fld`, `fistp`, `fnstcw`...), vector ones name `%mm`, `%xmm`, `%ymm` or `%zmm`
/// registers, and `ldmxcsr`/`stmxcsr` touch the SSE control register.
fn is_fp_instruction(mnemonic: &str, operands: &str) -> bool {
    mnemonic.starts_with('f')
        || mnemonic.contains("mxcsr")
        || ["%mm", "%xmm", "%ymm", "%zmm"]
            .iter()
            .any(|r| operands.contains(r))
}

#[test]
fn fp_instruction_detector() {
    assert!(is_fp_instruction("fldcw", "(%rsp)"));
    assert!(is_fp_instruction("fistpll", "8(%rsp)"));
    assert!(is_fp_instruction("movsd", "%xmm0, 8(%rsp)"));
    assert!(is_fp_instruction("cvtsi2sd", "%rax, %xmm1"));
    assert!(is_fp_instruction("vmovdqu", "%ymm0, (%rdi)"));
    assert!(is_fp_instruction("ldmxcsr", "(%rsp)"));
    assert!(!is_fp_instruction("movq", "%rax, %rbx"));
    assert!(!is_fp_instruction("callq", "0x0 <luaD_throw>"));
}

#[test]
fn no_x87_or_sse_instructions() {
    let asm = tool_output(&["llvm-objdump", "objdump"], &["-d", "--no-show-raw-insn"]);
    assert!(
        asm.contains("<luaV_execute>:"),
        "no disassembly of luaV_execute"
    );
    let mut func = String::new();
    let mut bad = Vec::new();
    let mut count = 0usize;
    for line in asm.lines() {
        if line.ends_with(">:") {
            func = line.to_owned();
            continue;
        }
        // "   1234:\tmnemonic\toperands" (objdump) or "    1234: \tmnemonic\toperands"
        let Some((_, insn)) = line.split_once(':') else {
            continue;
        };
        let insn = insn.trim();
        if insn.is_empty()
            || !line
                .trim_start()
                .starts_with(|c: char| c.is_ascii_hexdigit())
        {
            continue;
        }
        let mut parts = insn.splitn(2, char::is_whitespace);
        let mnemonic = parts.next().unwrap_or("");
        let operands = parts.next().unwrap_or("");
        count += 1;
        if is_fp_instruction(mnemonic, operands) {
            bad.push(format!("{func} {insn}"));
        }
    }
    assert!(
        count > 10_000,
        "only {count} instructions disassembled: parsing broke?"
    );
    assert!(
        bad.is_empty(),
        "x87/MMX/SSE instructions in the module:\n{}",
        bad.join("\n")
    );
}
