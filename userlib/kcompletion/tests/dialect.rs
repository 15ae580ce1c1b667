//! `kcompletion::dialect::check`: every rule, accepted and refused, with the lines and columns
//! it reports; and every kernel script of `lua/` (they all run in the kernel) is accepted.

use kcompletion::dialect::{check, Diagnostic, Severity};

/// (line, column, is_error, message) of each finding.
fn found(src: &str) -> Vec<(usize, usize, bool, String)> {
    check(src)
        .into_iter()
        .map(|d| (d.line, d.column, d.is_error(), d.message))
        .collect()
}

/// The (line, column) of the errors, and the messages, of `src`.
fn errors(src: &str) -> Vec<(usize, usize)> {
    found(src)
        .into_iter()
        .filter(|f| f.2)
        .map(|f| (f.0, f.1))
        .collect()
}

fn accepted(src: &str) {
    let d = check(src);
    assert!(d.is_empty(), "{src:?}: {d:?}");
}

/// Exactly one error, at (line, column), whose message contains `part`.
fn refused(src: &str, line: usize, column: usize, part: &str) {
    let d = check(src);
    assert_eq!(d.len(), 1, "{src:?}: {d:?}");
    let d = &d[0];
    assert!(d.is_error(), "{src:?}: {d:?}");
    assert_eq!((d.line, d.column), (line, column), "{src:?}: {d:?}");
    assert!(
        d.message.contains(part),
        "{src:?}: {:?} lacks {part:?}",
        d.message
    );
}

#[test]
fn display() {
    let d = Diagnostic {
        line: 3,
        column: 7,
        severity: Severity::Error,
        message: "m".into(),
    };
    assert_eq!(d.to_string(), "3:7: m");
    let w = Diagnostic {
        severity: Severity::Warning,
        ..d
    };
    assert_eq!(w.to_string(), "3:7: warning: m");
}

#[test]
fn syntax_errors() {
    accepted("local x = 1\nreturn x\n");
    accepted("goto skip\n::skip::\nlocal a <close> = nil\nlocal b <const> = 1 // 2 ~ 3 >> 1 & ~0");
    let e = errors("local x = 1\nlocal = 3\n");
    assert_eq!(e, [(2, 7)]);
    assert_eq!(errors("for i = 1 do end"), [(1, 11)]);
    assert_eq!(errors("x = \n\n"), [(1, 3)]);
    refused("local s = \"abc", 1, 11, "unclosed string");
    refused(
        "local s = 'a\\qb'",
        1,
        11,
        "invalid escape sequence near '\\q'",
    );
    refused("s = '\\x4'", 1, 5, "hexadecimal digit expected");
    refused("s = '\\300'", 1, 5, "decimal escape too large");
    accepted("s = '\\65\\x41\\u{41}\\z   \n  \\\n\\a\\''");
    refused("#!/usr/bin/lua\nprint(1)", 1, 1, "no '#!' line");
    refused(
        "local x <const> = 1\nx = 2",
        2,
        1,
        "attempt to assign to const variable 'x'",
    );
    refused(
        "local x <const> = 1\nfunction x() end",
        2,
        10,
        "const variable 'x'",
    );
    refused("local y <foo> = 3", 1, 10, "unknown attribute 'foo'");
    refused(
        "local a <close>, b <close> = nil, nil",
        1,
        18,
        "multiple to-be-closed",
    );
    refused(
        "local function f()\n  return ...\nend",
        2,
        10,
        "cannot use '...' outside a vararg function",
    );
    accepted("local function f(...) return ... end\nreturn ...");
    refused("if x then break end", 1, 11, "break outside a loop");
    accepted(
        "while x do if y then break end end\nrepeat break until true\nfor _ = 1, 2 do break end",
    );
    refused(
        "while x do local f = function() break end end",
        1,
        33,
        "break outside a loop",
    );
}

#[test]
fn float_literals() {
    let why = "(kernel Lua has integers only: no float literals; use '//' for integer division)";
    refused(
        "local a = 1\nlocal b = 2\nlocal c = 1.5\n",
        3,
        11,
        &format!("malformed number near '1.5' {why}"),
    );
    refused("return 1e3", 1, 8, "malformed number near '1e3'");
    refused("return 0x1p4", 1, 8, "malformed number near '0x1p4'");
    refused("return .5", 1, 8, "malformed number near '.5'");
    refused("return 3.", 1, 8, "malformed number near '3.'");
    // Beyond 2^63 - 1 a decimal integer is a float in Lua 5.4: malformed in the kernel.
    refused(
        "return 9223372036854775808",
        1,
        8,
        "near '9223372036854775808'",
    );
    // A numeral touching a letter is one error.
    refused("return 3x", 1, 8, "malformed number near '3x'");
    // Every one is reported, not only the first.
    assert_eq!(errors("x = 1.5\ny = 2.5"), [(1, 5), (2, 5)]);
    accepted("return 9223372036854775807, 0x7fffffffffffffff, 0xffffffffffffffffff, 0, 0XA");
    accepted("return -9223372036854775807 - 1");
    // Strings and comments are not code.
    accepted("-- 1.5 in a comment\nlocal s = 'x / 1.5 ^ 2' --[[ 2.5 ]]\nlocal l = [[1e3]]");
    accepted("local f = load('return 1.5')");
}

#[test]
fn division_and_power() {
    let why = "needs floating point; kernel Lua has integers only (use '//' for integer division)";
    // Constant expressions do not compile.
    refused(
        "local a = 1\nlocal b = 1 / 2",
        2,
        13,
        &format!("'/' in a constant expression {why}"),
    );
    refused("return 2 ^ 3", 1, 10, "'^' in a constant expression");
    refused("return -(1 + 2) / 3", 1, 17, "'/' in a constant expression");
    refused(
        "local N <const> = 4\nreturn N / 2",
        2,
        10,
        "in a constant expression",
    );
    // Lua does not fold a division by zero: it raises when it runs.
    refused("return 1 / 0", 1, 10, &format!("'/' {why}"));
    // Numbers and strings have no metamethods: certain errors.
    refused("return '10' / 2", 1, 13, "'/' needs floating point");
    refused("return #'ab' ^ 2", 1, 14, "'^' needs floating point");
    // Any other operand may have a __div/__pow metamethod: warnings.
    let f = found("local x, y = 7, 2\nreturn x / y, x ^ 2");
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!((f[0].0, f[0].1, f[0].2), (2, 10, false));
    assert!(f[0].3.contains("'/' needs floating point") && f[0].3.contains("__div"));
    assert_eq!((f[1].0, f[1].1, f[1].2), (2, 17, false));
    assert!(f[1].3.contains("'^' needs floating point") && f[1].3.contains("__pow"));
    accepted("return 7 // 2, 7 % 2, 1 << 3, 6 & 3, 'a' .. 1, 2 * 3 - 1");
}

#[test]
fn missing_globals() {
    let libs = "kernel Lua has only the coroutine, string, table and utf8 libraries";
    refused(
        "local x = 1\nreturn math.floor(x)",
        2,
        8,
        &format!("attempt to index a nil value (global 'math'): {libs}"),
    );
    refused("io.write('x')", 1, 1, "(global 'io')");
    refused("print(os.time())", 1, 7, "(global 'os')");
    refused("local t = debug.traceback", 1, 11, "(global 'debug')");
    refused("package.path = ''", 1, 1, "(global 'package')");
    refused("function math.f() end", 1, 10, "(global 'math')");
    refused(
        "io:write('x')",
        1,
        1,
        "attempt to index a nil value (global 'io')",
    );
    refused(
        "dofile('x.lua')",
        1,
        1,
        "attempt to call a nil value (global 'dofile'): kernel Lua has no files",
    );
    refused("loadfile 'x.lua'", 1, 1, "(global 'loadfile')");
    refused(
        "local c = completion.new()",
        1,
        11,
        "use local completion = require \"completion\"",
    );
    refused(
        "thread.sleep(1)",
        1,
        1,
        "use local thread = require \"thread\"",
    );
    // Reading them is fine: they are nil.
    accepted("assert(math == nil and io == nil and os == nil and debug == nil and package == nil)");
    accepted("assert(dofile == nil and type(loadfile) == 'nil')");
    // A local of that name, in scope.
    accepted("local math = {floor = 1}\nreturn math.floor");
    accepted("local function f(io) return io.write end");
    accepted("for _, os in ipairs({}) do os.x() end");
    accepted("for math = 1, 2 do print(math.x) end");
    accepted("local completion = require 'completion'\ncompletion.new()");
    accepted("local function f() end\nlocal function g(...) local debug = ...; return debug.x end");
    accepted("repeat local io = {} until io.x");
    // ... but not outside its scope, nor in its own initializer.
    refused(
        "do local math = {} end\nreturn math.x",
        2,
        8,
        "(global 'math')",
    );
    refused("local math = math.x", 1, 14, "(global 'math')");
    refused(
        "for i = 1, 2 do local os = 1 end\nos.exit()",
        2,
        1,
        "(global 'os')",
    );
    // A global the script assigns, before or after.
    accepted("math = {floor = function(x) return x end}\nreturn math.floor(1)");
    accepted("local f = function() return io.x end\nio = {x = 1}");
    accepted("function dofile() end\ndofile()");
    accepted("_G.os = {}\nos.time()");
    // Globals from anywhere: _ENV, _G passed around.
    accepted("local _ENV = {math = {}}\nreturn math.x");
    accepted("setmetatable(_G, {__index = function() return {} end})\nreturn math.x");
    accepted("local g = _G\nreturn math.x");
    // _G.name only names one global.
    refused(
        "local t = _G.string\nreturn math.x",
        2,
        8,
        "(global 'math')",
    );
    // Fields and methods with those names are not globals.
    accepted("local t = {}\nt.math = {}\nreturn t.math.x, t:io(), {os = 1}");
}

#[test]
fn require_modules() {
    for m in [
        "completion",
        "thread",
        "coroutine",
        "string",
        "table",
        "utf8",
        "_G",
    ] {
        accepted(&format!(
            "local m = require '{m}'\nlocal n = require(\"{m}\")"
        ));
    }
    refused(
        "local x = 1\nlocal m = require 'mymod'",
        2,
        19,
        "module 'mymod' not found: kernel Lua has only its built-in modules (completion, thread, \
         coroutine, string, table, utf8)",
    );
    refused("local io = require('io')", 1, 20, "module 'io' not found");
    refused("require [[math]]", 1, 9, "module 'math' not found");
    // Not a literal, or not the global require.
    accepted("local name = 'x'\nrequire(name)");
    accepted("local require = function() end\nrequire 'x'");
    accepted("require = function() end\nrequire 'x'");
    accepted("assert(not pcall(require, 'io'))");
}

#[test]
fn format_strings() {
    let why = "needs floating point; kernel Lua has integers only (use '//' for integer division)";
    refused(
        "local x = 1\nreturn string.format('%5.2f', x)",
        2,
        22,
        &format!("'%5.2f': string.format's float formats (a, e, f, g) {why}"),
    );
    for conv in ["%a", "%A", "%e", "%E", "%f", "%F", "%g", "%G", "%-+ #08.3g"] {
        refused(&format!("string.format('x {conv}', 1)"), 1, 15, conv);
    }
    refused(
        "return ('%g'):format(1)",
        1,
        9,
        "'%g': string.format's float formats",
    );
    refused("local F <const> = '%e'\nreturn F:format(1)", 2, 8, "'%e'");
    // Escapes are decoded: \37 is '%'.
    refused("string.format('\\37f', 1)", 1, 15, "'%f'");
    refused("string.format [[%f]]", 1, 15, "'%f'");
    accepted("string.format('%d %5.2s %x %%f %q %c %i %o %u %X %%', 42, 'abc', 255)");
    accepted("return ('round %d: %s'):format(1, 'x'), string.format(fmt, 1)");
    accepted("local string = {format = print}\nstring.format('%f', 1)");
    accepted("string = {format = print}\nstring.format('%f', 1)");

    let pack = format!("string.pack's float options (f, d, n) {why}");
    refused(
        "return string.pack('<d', 1)",
        1,
        20,
        &format!("'d': {pack}"),
    );
    refused(
        "return string.unpack('f', s)",
        1,
        22,
        "'f': string.pack's float options",
    );
    refused("return string.packsize('n')", 1, 24, "'n'");
    refused("return ('d'):pack(1)", 1, 9, "'d'");
    accepted("return string.pack('<i4 I2 z s1 b B h H l L j J T x X', 1), string.unpack('i4', s)");
    // Arguments, not calls: the kernel raises inside pcall, the checker sees no call.
    accepted("assert(not pcall(string.format, '%f', 1))\nassert(not pcall(string.pack, 'd', 1))");
}

#[test]
fn findings_are_in_source_order() {
    let src = "local a = math.x\nlocal b = 1.5\nlocal c = 1 / 2\nrequire 'x'\nlocal d = e / f\n";
    let d: Vec<String> = check(src).iter().map(ToString::to_string).collect();
    assert_eq!(d.len(), 5, "{d:?}");
    assert!(d[0].starts_with("1:11: attempt to index a nil value (global 'math')"));
    assert!(d[1].starts_with("2:11: malformed number near '1.5'"));
    assert!(d[2].starts_with("3:13: '/' in a constant expression"));
    assert!(d[3].starts_with("4:9: module 'x' not found"));
    assert!(d[4].starts_with("5:13: warning: '/' needs floating point"));
}

/// Every kernel script of the repository runs in the kernel today: no errors. The
/// integer-rules test divides and raises to a power in `pcall` on purpose: three warnings.
#[test]
fn kernel_scripts_are_accepted() {
    let lua = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lua");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(format!("{lua}/kernel"))
        .expect("lua/kernel")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    files.push(format!("{lua}/examples/kernel_pong.lua").into());
    files.sort();
    assert!(files.len() >= 13, "{files:?}");
    for f in &files {
        let src = std::fs::read_to_string(f).expect("read");
        let d = check(&src);
        if f.ends_with("integer_rules.lua") {
            let lines: Vec<(usize, bool)> = d.iter().map(|d| (d.line, d.is_error())).collect();
            assert_eq!(lines, [(12, false), (13, false), (14, false)], "{d:?}");
        } else {
            assert!(d.is_empty(), "{}: {d:?}", f.display());
        }
    }
}

/// Truncated and spliced sources (broken strings, numerals, blocks) give findings, never a
/// panic.
#[test]
fn broken_sources_do_not_panic() {
    let lua = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lua/kernel");
    for name in [
        "integer_rules.lua",
        "complete_and_wait.lua",
        "deep_nesting.lua",
    ] {
        let src = std::fs::read_to_string(format!("{lua}/{name}")).expect("read");
        let cuts: Vec<usize> = (0..src.len())
            .step_by(23)
            .filter(|&i| src.is_char_boundary(i))
            .collect();
        for &i in &cuts {
            check(&src[..i]);
            check(&src[i..]);
        }
    }
    for s in [
        "'\\",
        "'\\x",
        "'\\u{",
        "'\\u{110000000}'",
        "'\\9",
        "0x",
        "0x.p",
        "1e",
        "1e+",
        ".",
        "..",
        "...",
        "[=[",
        "--[[",
        "\\",
        "'\\z",
        "local x <",
        "function(",
        "a.b:c",
    ] {
        check(s);
    }
}
