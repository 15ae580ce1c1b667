// Over 500 lines on purpose: one walk over the syntax tree with its scopes, and the rules it
// applies at each node next to the kernel texts they give, so that a rule is read in one place.
//! The kernel Lua dialect, checked in userspace: [`check`] compiles a script with the rules of
//! the Lua 5.4 that runs inside `kcompletion.ko` (`driver/lua/README.md`) and reports what
//! the kernel would refuse, with line numbers, before the source ever reaches it.
//!
//! The source is parsed with [`full_moon`] (Lua 5.4 syntax). The checks, and what they say
//! (the texts are the kernel's where it has one):
//!
//! - syntax errors (full_moon's message; also invalid escape sequences in strings, a `#!`
//!   first line, `...` outside a vararg function, `break` outside a loop, an unknown
//!   attribute, assignment to a `<const>`/`<close>` variable);
//! - float literals (`1.5`, `1e3`, `0x1p4`) and decimal integers beyond 2^63 - 1, which the
//!   kernel's lexer refuses: `malformed number near '1.5' (kernel Lua has integers only: no
//!   float literals; use '//' for integer division)`;
//! - binary `/` and `^`: an error when both operands are numbers or strings the checker can
//!   see (a constant expression such as `1 / 2` does not even compile), a
//!   [`Severity::Warning`] otherwise, because the kernel raises only when the operator runs
//!   on values without a `__div`/`__pow` metamethod, and a script may do that on purpose
//!   (inside `pcall`);
//! - indexing or calling a global that kernel Lua does not have (`io`, `os`, `math`, `debug`,
//!   `package`, `dofile`, `loadfile`, and `completion`/`thread`, which come only from
//!   `require`), unless the script assigns that global somewhere, a local of that name is in
//!   scope, or it uses `_ENV` or passes `_G` around (its globals are then unknowable); reading
//!   such a global (`math == nil`) is fine in the kernel and is not reported;
//! - `require "x"` with a literal name the kernel cannot load (it has `completion`, `thread`,
//!   `coroutine`, `string`, `table`, `utf8`, `_G`);
//! - `string.format` (or `("..."):format`) with a literal format holding `%a %e %f %g` (any
//!   case), `string.pack`/`unpack`/`packsize` with a literal format holding `f`, `d` or `n`,
//!   judged byte for byte as the kernel's wrappers do.
//!
//! The contents of strings are never parsed as code: `load("return 1.5")` passes.
//!
//! ```
//! let d = kcompletion::dialect::check("local x = 1\nreturn x * 1.5\n");
//! assert_eq!(d.len(), 1);
//! assert_eq!(d[0].line, 2);
//! assert!(d[0].message.starts_with("malformed number near '1.5'"));
//! assert!(kcompletion::dialect::check("return 7 // 2").is_empty());
//! ```

use full_moon::ast::{
    self, BinOp, Block, Call, Expression, Field, FunctionArgs, FunctionBody, Index, LastStmt,
    Parameter, Prefix, Stmt, Suffix, TableConstructor, UnOp, Var,
};
use full_moon::node::Node;
use full_moon::tokenizer::{
    Lexer, LexerResult, Position, StringLiteralQuoteType, Symbol, Token, TokenReference, TokenType,
};
use full_moon::LuaVersion;
use std::collections::HashSet;
use std::fmt;

/// How sure the checker is that the kernel refuses the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The kernel refuses it: the script does not compile, or that code raises whenever it
    /// runs.
    Error,
    /// The kernel raises when that code runs, unless an operand has a metamethod.
    Warning,
}

/// One finding of [`check`]. `Display`: `LINE:COL: message`, or `LINE:COL: warning: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in the kernel's words where it has them.
    pub message: String,
}

impl Diagnostic {
    /// Whether this is an [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}:{}: {}", self.line, self.column, self.message),
            Severity::Warning => {
                write!(
                    f,
                    "{}:{}: warning: {}",
                    self.line, self.column, self.message
                )
            }
        }
    }
}

/// Checks `source` against the kernel Lua dialect; returns every finding, in source order
/// (empty: the kernel accepts it, as far as a static check can tell). The script is
/// acceptable if none [`is_error`](Diagnostic::is_error).
pub fn check(source: &str) -> Vec<Diagnostic> {
    let mut c = Checker::new(source);
    c.lexical();
    let parsed = full_moon::parse_fallible(source, LuaVersion::lua54());
    let mut syntax = false;
    for e in parsed.errors() {
        syntax = true;
        let (start, _) = e.range();
        let (line, column) = c.position_or_end(start);
        let message = match e {
            full_moon::Error::AstError(a) => {
                format!("{} near {}", a.error_message(), near(a.token()))
            }
            full_moon::Error::TokenizerError(t) => t.error().to_string(),
        };
        // A numeral that touches a letter ("3x") is one error, already reported.
        if c.in_malformed_number(line, column) {
            continue;
        }
        c.push(line, column, Severity::Error, message);
    }
    // Semantic checks only on a tree without phantom tokens.
    if !syntax {
        c.chunk(parsed.ast().nodes());
    }
    c.finish()
}

// ---------------------------------------------------------------------------------------------
// Texts.

const DIV_SUFFIX: &str =
    "needs floating point; kernel Lua has integers only (use '//' for integer division)";
const FLOAT_LITERAL: &str =
    "(kernel Lua has integers only: no float literals; use '//' for integer division)";
/// The modules the kernel's `require` finds (`kclua_baselib.c`).
const MODULES: &[&str] = &[
    "completion",
    "thread",
    "coroutine",
    "string",
    "table",
    "utf8",
    "_G",
];

/// Globals of stock Lua 5.4 (and the kernel's modules) that kernel scripts do not have, with
/// what to say about them.
fn missing_global(name: &str) -> Option<&'static str> {
    Some(match name {
        "io" | "os" | "math" | "debug" | "package" => {
            "kernel Lua has only the coroutine, string, table and utf8 libraries \
             (and require \"completion\", \"thread\")"
        }
        "dofile" | "loadfile" => "kernel Lua has no files: load takes a string",
        "completion" => "use local completion = require \"completion\"",
        "thread" => "use local thread = require \"thread\"",
        _ => return None,
    })
}

/// `near 'tok'` as Lua's messages say it.
fn near(t: &Token) -> String {
    match t.token_type() {
        TokenType::Eof => "<eof>".to_owned(),
        _ => format!("'{t}'"),
    }
}

// ---------------------------------------------------------------------------------------------
// Numerals and strings, as the kernel's lexer reads them.

/// The numeral at `s[start..]` as Lua's `read_numeral` reads it (the bytes it takes).
fn read_numeral(s: &[u8], start: usize) -> &[u8] {
    let mut i = start;
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut expo: &[u8] = b"Ee";
    let first = at(i);
    i += 1;
    if first == b'0' && matches!(at(i), b'x' | b'X') {
        i += 1;
        expo = b"Pp";
    }
    loop {
        if expo.contains(&at(i)) {
            i += 1;
            if matches!(at(i), b'+' | b'-') {
                i += 1;
            }
        } else if at(i).is_ascii_hexdigit() || at(i) == b'.' {
            i += 1;
        } else {
            break;
        }
    }
    if at(i).is_ascii_alphabetic() || at(i) == b'_' {
        i += 1;
    }
    &s[start..i.min(s.len())]
}

/// The integer a numeral denotes in kernel Lua (`l_str2int`: hexadecimal wraps around,
/// decimal must fit), or None: malformed, as every float is.
fn integer_value(n: &[u8]) -> Option<i64> {
    if let Some(hex) = n.strip_prefix(b"0x").or_else(|| n.strip_prefix(b"0X")) {
        if hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let v = hex.iter().fold(0u64, |a, &d| {
            a.wrapping_mul(16)
                .wrapping_add(u64::from((d as char).to_digit(16).unwrap_or(0)))
        });
        return Some(v as i64);
    }
    if n.is_empty() || !n.iter().all(u8::is_ascii_digit) {
        return None;
    }
    n.iter().try_fold(0i64, |a, &d| {
        a.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    })
}

/// The bytes of a string literal token, escapes decoded, or the escape Lua refuses.
fn string_value(t: &TokenType) -> Option<Result<Vec<u8>, String>> {
    let TokenType::StringLiteral {
        literal,
        quote_type,
        ..
    } = t
    else {
        return None;
    };
    let raw = literal.as_str().as_bytes();
    Some(match quote_type {
        StringLiteralQuoteType::Brackets => {
            // A long string skips its first newline.
            let body = match raw {
                [b'\r', b'\n', rest @ ..] | [b'\n', b'\r', rest @ ..] => rest,
                [b'\n' | b'\r', rest @ ..] => rest,
                _ => raw,
            };
            Ok(body.to_vec())
        }
        _ => decode_escapes(raw),
    })
}

/// Decodes the escapes of a short string's body (`llex.c`'s `read_string`).
fn decode_escapes(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    let at = |i: usize| s.get(i).copied();
    let bad = |msg: &str, from: usize, to: usize| {
        let to = to.min(s.len());
        format!(
            "{msg} near '{}'",
            String::from_utf8_lossy(&s[from..to.max(from)])
        )
    };
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let esc = i;
        i += 1;
        let Some(c) = at(i) else {
            return Err(bad("unfinished string", esc, i));
        };
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'"' | b'\'' => Some(c),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 1;
            continue;
        }
        match c {
            b'\n' | b'\r' => {
                i += 1;
                if matches!(at(i), Some(d) if (d == b'\n' || d == b'\r') && d != c) {
                    i += 1;
                }
                out.push(b'\n');
            }
            b'x' => {
                let h = s
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(h) = h else {
                    return Err(bad("hexadecimal digit expected", esc, i + 3));
                };
                out.push(
                    u8::from_str_radix(std::str::from_utf8(h).unwrap_or("0"), 16).unwrap_or(0),
                );
                i += 3;
            }
            b'z' => {
                i += 1;
                while matches!(at(i), Some(b' ' | b'\t' | b'\n' | b'\r' | 11 | 12)) {
                    i += 1;
                }
            }
            b'u' => {
                i += 1;
                if at(i) != Some(b'{') {
                    return Err(bad("missing '{' in \\u{xxxx}", esc, i + 1));
                }
                i += 1;
                let digits = s[i..].iter().take_while(|d| d.is_ascii_hexdigit()).count();
                if digits == 0 {
                    return Err(bad("hexadecimal digit expected", esc, i + 1));
                }
                let mut v: u64 = 0;
                for &d in &s[i..i + digits] {
                    v = v * 16 + u64::from((d as char).to_digit(16).unwrap_or(0));
                    if v > 0x7FFF_FFFF {
                        return Err(bad("UTF-8 value too large", esc, i + digits));
                    }
                }
                i += digits;
                if at(i) != Some(b'}') {
                    return Err(bad("missing '}' in \\u{xxxx}", esc, i + 1));
                }
                i += 1;
                utf8_escape(&mut out, v as u32);
            }
            b'0'..=b'9' => {
                let digits = s[i..]
                    .iter()
                    .take(3)
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                let v: u32 = s[i..i + digits]
                    .iter()
                    .fold(0, |a, &d| a * 10 + u32::from(d - b'0'));
                if v > 255 {
                    return Err(bad("decimal escape too large", esc, i + digits + 1));
                }
                out.push(v as u8);
                i += digits;
            }
            _ => return Err(bad("invalid escape sequence", esc, i + 1)),
        }
    }
    Ok(out)
}

/// `luaO_utf8esc`: up to 6 bytes for values up to 0x7FFFFFFF.
fn utf8_escape(out: &mut Vec<u8>, mut x: u32) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    let mut buf = [0u8; 8];
    let mut n = 1;
    let mut mfb: u32 = 0x3f;
    loop {
        buf[8 - n] = 0x80 | (x & 0x3f) as u8;
        n += 1;
        x >>= 6;
        mfb >>= 1;
        if x <= mfb {
            break;
        }
    }
    buf[8 - n] = ((!mfb << 1) | x) as u8;
    out.extend_from_slice(&buf[8 - n..]);
}

/// The first conversion of a `string.format` format that the kernel refuses (`kclua_format`).
fn float_conversion(f: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        i += 1;
        if c != b'%' {
            continue;
        }
        let start = i - 1;
        if f.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        while i < f.len() && f[i] != 0 && b"-+ #0123456789.".contains(&f[i]) {
            i += 1;
        }
        if i < f.len() && f[i] != 0 && b"aAeEfFgG".contains(&f[i]) {
            return Some(&f[start..=i]);
        }
    }
    None
}

/// The first float option of a `string.pack` format (`kclua_pack_format`: any such byte).
fn float_option(f: &[u8]) -> Option<u8> {
    f.iter().copied().find(|b| matches!(b, b'f' | b'd' | b'n'))
}

// ---------------------------------------------------------------------------------------------
// What the checker knows of an expression's value.

/// A value the checker can see: only numbers and strings, which have no metamethods of
/// their own (strings' arithmetic converts to numbers).
#[derive(Clone, Debug, PartialEq)]
enum Known {
    /// An integer constant the compiler folds (a numeral, a `<const>` of one, arithmetic on
    /// them).
    Int(i64),
    /// A number of unknown value.
    Num,
    /// A string (its bytes if they are a literal's).
    Str(Option<Vec<u8>>),
    /// Anything else.
    Unknown,
}

impl Known {
    fn plain(&self) -> bool {
        !matches!(self, Known::Unknown)
    }
}

/// Lua 5.4's integer operations as the compiler folds them (None: not folded).
fn fold(op: &BinOp, a: i64, b: i64) -> Option<i64> {
    let shl = |a: i64, n: i64| -> i64 {
        if n <= -64 || n >= 64 {
            0
        } else if n >= 0 {
            ((a as u64) << n) as i64
        } else {
            ((a as u64) >> -n) as i64
        }
    };
    Some(match op {
        BinOp::Plus(_) => a.wrapping_add(b),
        BinOp::Minus(_) => a.wrapping_sub(b),
        BinOp::Star(_) => a.wrapping_mul(b),
        BinOp::DoubleSlash(_) if b != 0 => {
            let q = a.wrapping_div(b);
            if (a % b != 0) && ((a < 0) != (b < 0)) {
                q - 1
            } else {
                q
            }
        }
        BinOp::Percent(_) if b != 0 => {
            let r = a.wrapping_rem(b);
            if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            }
        }
        BinOp::Ampersand(_) => a & b,
        BinOp::Pipe(_) => a | b,
        BinOp::Tilde(_) => a ^ b,
        BinOp::DoubleLessThan(_) => shl(a, b),
        BinOp::DoubleGreaterThan(_) => shl(a, b.wrapping_neg()),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The checker.

struct Local {
    name: String,
    /// `<const>` or `<close>`: cannot be assigned.
    readonly: bool,
    /// The value of a `<const>` the checker can see.
    value: Known,
}

struct Function {
    vararg: bool,
    loops: usize,
}

/// A finding that holds unless the script assigns the global `name` somewhere.
struct GlobalUse {
    name: String,
    diag: Diagnostic,
}

struct Checker<'s> {
    source: &'s str,
    diags: Vec<Diagnostic>,
    /// (line, first column, last column) of malformed numerals that full_moon split.
    malformed: Vec<(usize, usize, usize)>,
    scopes: Vec<Vec<Local>>,
    functions: Vec<Function>,
    global_uses: Vec<GlobalUse>,
    assigned: HashSet<String>,
    /// `_ENV` is used or `_G` escapes: the set of globals is unknowable.
    dynamic_env: bool,
}

fn pos(t: &TokenReference) -> Position {
    t.token().start_position()
}

fn ident(t: &TokenReference) -> &str {
    match t.token_type() {
        TokenType::Identifier { identifier } => identifier.as_str(),
        _ => "",
    }
}

fn is_symbol(t: &Token, s: Symbol) -> bool {
    matches!(t.token_type(), TokenType::Symbol { symbol } if *symbol == s)
}

impl<'s> Checker<'s> {
    fn new(source: &'s str) -> Checker<'s> {
        Checker {
            source,
            diags: Vec::new(),
            malformed: Vec::new(),
            scopes: Vec::new(),
            functions: Vec::new(),
            global_uses: Vec::new(),
            assigned: HashSet::new(),
            dynamic_env: false,
        }
    }

    fn push(&mut self, line: usize, column: usize, severity: Severity, message: String) {
        self.diags.push(Diagnostic {
            line,
            column,
            severity,
            message,
        });
    }

    fn push_at(&mut self, p: Position, severity: Severity, message: String) {
        let (line, column) = self.position_or_end(p);
        self.push(line, column, severity, message);
    }

    /// A position, or the end of the source for full_moon's phantom tokens (line 0).
    fn position_or_end(&self, p: Position) -> (usize, usize) {
        if p.line() > 0 {
            return (p.line(), p.character());
        }
        let line = self.source.split('\n').count();
        let column = self
            .source
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        (line, column)
    }

    fn in_malformed_number(&self, line: usize, column: usize) -> bool {
        self.malformed
            .iter()
            .any(|&(l, a, b)| l == line && (a..=b).contains(&column))
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        if !self.dynamic_env {
            for u in std::mem::take(&mut self.global_uses) {
                if !self.assigned.contains(&u.name) {
                    self.diags.push(u.diag);
                }
            }
        }
        let mut d = self.diags;
        d.sort_by_key(|d| (d.line, d.column));
        d.dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
        // full_moon often reports one syntax error twice at the same place.
        d.dedup_by(|a, b| {
            a.line == b.line
                && a.column == b.column
                && a.is_error()
                && b.is_error()
                && a.message.contains(" near ")
                && b.message.contains(" near ")
        });
        d
    }

    // ---- tokens ------------------------------------------------------------------------

    /// Numerals, escapes, a `#` first line; whether `_ENV`/`_G` make the globals unknowable,
    /// and the globals assigned through `_G.name`.
    fn lexical(&mut self) {
        let src = self.source.as_bytes();
        if src.first() == Some(&b'#') {
            self.push(
                1,
                1,
                Severity::Error,
                "unexpected symbol near '#' (the kernel compiles the text as it is: no '#!' line)"
                    .into(),
            );
        } else if src.first() == Some(&0x1b) {
            self.push(
                1,
                1,
                Severity::Error,
                "attempt to load a binary chunk (mode is 't')".into(),
            );
        }
        let tokens = match Lexer::new(self.source, LuaVersion::lua54()).collect() {
            LexerResult::Ok(t) | LexerResult::Recovered(t, _) => t,
            LexerResult::Fatal(_) => return,
        };
        let code: Vec<&Token> = tokens
            .iter()
            .filter(|t| !t.token_type().is_trivia())
            .collect();
        for (k, t) in code.iter().enumerate() {
            let p = t.start_position();
            match t.token_type() {
                TokenType::Number { text: token } => {
                    let lexeme = read_numeral(src, p.bytes());
                    if integer_value(lexeme).is_none() {
                        let text = String::from_utf8_lossy(lexeme);
                        // Lua reads more than full_moon ("3x", "1..2"): full_moon's syntax
                        // errors that follow on that line are this one.
                        if lexeme.len() > token.len() {
                            self.malformed.push((p.line(), p.character(), usize::MAX));
                        }
                        self.push(
                            p.line(),
                            p.character(),
                            Severity::Error,
                            format!("malformed number near '{text}' {FLOAT_LITERAL}"),
                        );
                    }
                }
                tt @ TokenType::StringLiteral { .. } => {
                    if let Some(Err(e)) = string_value(tt) {
                        self.push(p.line(), p.character(), Severity::Error, e);
                    }
                }
                TokenType::Identifier { identifier } => {
                    let prev_dot = k > 0
                        && (is_symbol(code[k - 1], Symbol::Dot)
                            || is_symbol(code[k - 1], Symbol::Colon));
                    match identifier.as_str() {
                        "_ENV" => self.dynamic_env = true,
                        "_G" if !prev_dot => {
                            // `_G.name` reads or assigns one global; anything else (`_G[k]`,
                            // `f(_G)`, `local g = _G`) lets globals come from anywhere.
                            let field = code.get(k + 2).filter(|_| {
                                code.get(k + 1).is_some_and(|d| is_symbol(d, Symbol::Dot))
                            });
                            match field.map(|f| f.token_type()) {
                                Some(TokenType::Identifier { identifier: f }) => {
                                    let next = code.get(k + 3);
                                    if next.is_some_and(|n| {
                                        is_symbol(n, Symbol::Equal) || is_symbol(n, Symbol::Comma)
                                    }) {
                                        self.assigned.insert(f.as_str().to_owned());
                                    }
                                }
                                _ => self.dynamic_env = true,
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }

    // ---- scopes ------------------------------------------------------------------------

    fn declare(&mut self, name: &str, readonly: bool, value: Known) {
        if let Some(s) = self.scopes.last_mut() {
            s.push(Local {
                name: name.to_owned(),
                readonly,
                value,
            });
        }
    }

    fn resolve(&self, name: &str) -> Option<&Local> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|l| l.name == name)
    }

    fn is_global(&self, name: &str) -> bool {
        self.resolve(name).is_none()
    }

    /// The main chunk: a vararg function.
    fn chunk(&mut self, block: &Block) {
        self.functions.push(Function {
            vararg: true,
            loops: 0,
        });
        self.block(block);
        self.functions.pop();
    }

    fn block(&mut self, block: &Block) {
        self.scopes.push(Vec::new());
        self.block_in_scope(block);
        self.scopes.pop();
    }

    fn block_in_scope(&mut self, block: &Block) {
        for s in block.stmts() {
            self.stmt(s);
        }
        match block.last_stmt() {
            Some(LastStmt::Return(r)) => {
                for e in r.returns().iter() {
                    self.expr(e);
                }
            }
            Some(LastStmt::Break(t)) if self.functions.last().is_some_and(|f| f.loops == 0) => {
                self.push_at(pos(t), Severity::Error, "break outside a loop".into());
            }
            _ => {}
        }
    }

    fn loop_block(&mut self, block: &Block) {
        self.enter_loop(1);
        self.block(block);
        self.enter_loop(-1);
    }

    fn enter_loop(&mut self, d: isize) {
        if let Some(f) = self.functions.last_mut() {
            f.loops = f.loops.saturating_add_signed(d);
        }
    }

    fn function_body(&mut self, body: &FunctionBody, method: bool) {
        let vararg = body
            .parameters()
            .iter()
            .any(|p| matches!(p, Parameter::Ellipsis(_)));
        self.functions.push(Function { vararg, loops: 0 });
        self.scopes.push(Vec::new());
        if method {
            self.declare("self", false, Known::Unknown);
        }
        for p in body.parameters().iter() {
            if let Parameter::Name(n) = p {
                self.declare(ident(n), false, Known::Unknown);
            }
        }
        self.block(body.block());
        self.scopes.pop();
        self.functions.pop();
    }

    /// An assignment to the name `t` (`x = ...`, `function x() end`).
    fn assign_name(&mut self, t: &TokenReference) {
        let name = ident(t);
        match self.resolve(name) {
            Some(l) if l.readonly => {
                let msg = format!("attempt to assign to const variable '{name}'");
                self.push_at(pos(t), Severity::Error, msg);
            }
            Some(_) => {}
            None => {
                self.assigned.insert(name.to_owned());
            }
        }
    }

    // ---- statements --------------------------------------------------------------------

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Assignment(a) => {
                for e in a.expressions().iter() {
                    self.expr(e);
                }
                for v in a.variables().iter() {
                    match v {
                        Var::Name(t) => self.assign_name(t),
                        Var::Expression(ve) => {
                            let suffixes: Vec<&Suffix> = ve.suffixes().collect();
                            self.chain(ve.prefix(), &suffixes);
                        }
                        _ => {}
                    }
                }
            }
            Stmt::LocalAssignment(l) => {
                let exprs: Vec<&Expression> = l.expressions().iter().collect();
                for e in &exprs {
                    self.expr(e);
                }
                let mut closes = 0;
                let names: Vec<&TokenReference> = l.names().iter().collect();
                let attrs: Vec<Option<&ast::lua54::Attribute>> = l.attributes().collect();
                let mut new = Vec::new();
                for (k, n) in names.iter().enumerate() {
                    let attr = attrs.get(k).copied().flatten();
                    let kind = attr.map(|a| ident(a.name()));
                    let readonly = match kind {
                        None => false,
                        Some("const") => true,
                        Some("close") => {
                            closes += 1;
                            if closes == 2 {
                                self.push_at(
                                    pos(n),
                                    Severity::Error,
                                    "multiple to-be-closed variables in local list".into(),
                                );
                            }
                            true
                        }
                        Some(other) => {
                            let msg = format!("unknown attribute '{other}'");
                            let at = attr.map_or(pos(n), |a| pos(a.name()));
                            self.push_at(at, Severity::Error, msg);
                            false
                        }
                    };
                    // A <const> whose value is one expression of its own: the checker sees it
                    // (the last expression may give several values: only if it is not a call).
                    let value = if kind == Some("const") && k < exprs.len() {
                        self.known(exprs[k])
                    } else {
                        Known::Unknown
                    };
                    new.push((ident(n).to_owned(), readonly, value));
                }
                for (name, readonly, value) in new {
                    self.declare(&name, readonly, value);
                }
            }
            Stmt::LocalFunction(f) => {
                self.declare(ident(f.name()), false, Known::Unknown);
                self.function_body(f.body(), false);
            }
            Stmt::FunctionDeclaration(f) => {
                let name = f.name();
                let parts: Vec<&TokenReference> = name.names().iter().collect();
                if parts.len() == 1 && name.method_name().is_none() {
                    self.assign_name(parts[0]);
                } else if let Some(first) = parts.first() {
                    // `function math.f()` indexes `math`.
                    self.global_base(first, true);
                }
                self.function_body(f.body(), name.method_name().is_some());
            }
            Stmt::FunctionCall(c) => {
                let suffixes: Vec<&Suffix> = c.suffixes().collect();
                self.chain(c.prefix(), &suffixes);
            }
            Stmt::Do(d) => self.block(d.block()),
            Stmt::While(w) => {
                self.expr(w.condition());
                self.loop_block(w.block());
            }
            Stmt::Repeat(r) => {
                // `until` sees the body's locals.
                self.enter_loop(1);
                self.scopes.push(Vec::new());
                self.block_in_scope(r.block());
                self.enter_loop(-1);
                self.expr(r.until());
                self.scopes.pop();
            }
            Stmt::If(i) => {
                self.expr(i.condition());
                self.block(i.block());
                for e in i.else_if().into_iter().flatten() {
                    self.expr(e.condition());
                    self.block(e.block());
                }
                if let Some(b) = i.else_block() {
                    self.block(b);
                }
            }
            Stmt::NumericFor(f) => {
                self.expr(f.start());
                self.expr(f.end());
                if let Some(s) = f.step() {
                    self.expr(s);
                }
                self.scopes.push(Vec::new());
                self.declare(ident(f.index_variable()), false, Known::Unknown);
                self.loop_block(f.block());
                self.scopes.pop();
            }
            Stmt::GenericFor(f) => {
                for e in f.expressions().iter() {
                    self.expr(e);
                }
                self.scopes.push(Vec::new());
                for n in f.names().iter() {
                    self.declare(ident(n), false, Known::Unknown);
                }
                self.loop_block(f.block());
                self.scopes.pop();
            }
            _ => {} // goto, labels
        }
    }

    // ---- expressions -------------------------------------------------------------------

    fn expr(&mut self, e: &Expression) {
        match e {
            Expression::BinaryOperator { lhs, binop, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
                let (sym, mm) = match binop {
                    BinOp::Slash(_) => ("'/'", "__div"),
                    BinOp::Caret(_) => ("'^'", "__pow"),
                    _ => return,
                };
                let (a, b) = (self.known(lhs), self.known(rhs));
                let at = pos(binop.token());
                match (&a, &b) {
                    // Folded by the compiler (Lua does not fold a division by zero).
                    (Known::Int(_), Known::Int(d)) if sym == "'^'" || *d != 0 => self.push_at(
                        at,
                        Severity::Error,
                        format!("{sym} in a constant expression {DIV_SUFFIX}"),
                    ),
                    _ if a.plain() && b.plain() => {
                        self.push_at(at, Severity::Error, format!("{sym} {DIV_SUFFIX}"))
                    }
                    _ => self.push_at(
                        at,
                        Severity::Warning,
                        format!(
                            "{sym} {DIV_SUFFIX}; it raises when it runs unless an operand has \
                             a {mm} metamethod"
                        ),
                    ),
                }
            }
            Expression::Parentheses { expression, .. } => self.expr(expression),
            Expression::UnaryOperator { expression, .. } => self.expr(expression),
            Expression::Function(f) => self.function_body(f.body(), false),
            Expression::FunctionCall(c) => {
                let suffixes: Vec<&Suffix> = c.suffixes().collect();
                self.chain(c.prefix(), &suffixes);
            }
            Expression::TableConstructor(t) => self.table(t),
            Expression::Symbol(t)
                if t.is_symbol(Symbol::Ellipsis)
                    && self.functions.last().is_some_and(|f| !f.vararg) =>
            {
                self.push_at(
                    pos(t),
                    Severity::Error,
                    "cannot use '...' outside a vararg function near '...'".into(),
                );
            }
            Expression::Var(Var::Expression(ve)) => {
                let suffixes: Vec<&Suffix> = ve.suffixes().collect();
                self.chain(ve.prefix(), &suffixes);
            }
            _ => {} // numerals, strings, names, nil/true/false
        }
    }

    fn table(&mut self, t: &TableConstructor) {
        for f in t.fields().iter() {
            match f {
                Field::ExpressionKey { key, value, .. } => {
                    self.expr(key);
                    self.expr(value);
                }
                Field::NameKey { value, .. } => self.expr(value),
                Field::NoKey(v) => self.expr(v),
                _ => {}
            }
        }
    }

    /// What the checker knows of the value of `e`.
    fn known(&self, e: &Expression) -> Known {
        match e {
            Expression::Number(t) => {
                let src = self.source.as_bytes();
                match integer_value(read_numeral(src, pos(t).bytes())) {
                    Some(v) => Known::Int(v),
                    None => Known::Num,
                }
            }
            Expression::String(t) => Known::Str(string_value(t.token_type()).and_then(Result::ok)),
            Expression::Parentheses { expression, .. } => self.known(expression),
            Expression::UnaryOperator { unop, expression } => {
                let k = self.known(expression);
                match (unop, k) {
                    (UnOp::Minus(_), Known::Int(v)) => Known::Int(v.wrapping_neg()),
                    (UnOp::Tilde(_), Known::Int(v)) => Known::Int(!v),
                    (UnOp::Minus(_) | UnOp::Tilde(_), k) if k.plain() => Known::Num,
                    (UnOp::Hash(_), Known::Str(_)) => Known::Num,
                    _ => Known::Unknown,
                }
            }
            Expression::BinaryOperator { lhs, binop, rhs } => {
                let (a, b) = (self.known(lhs), self.known(rhs));
                if !(a.plain() && b.plain()) {
                    return Known::Unknown;
                }
                match binop {
                    BinOp::TwoDots(_) => match (a, b) {
                        (Known::Str(Some(x)), Known::Str(Some(y))) => {
                            Known::Str(Some([x, y].concat()))
                        }
                        _ => Known::Str(None),
                    },
                    BinOp::Plus(_)
                    | BinOp::Minus(_)
                    | BinOp::Star(_)
                    | BinOp::DoubleSlash(_)
                    | BinOp::Percent(_)
                    | BinOp::Ampersand(_)
                    | BinOp::Pipe(_)
                    | BinOp::Tilde(_)
                    | BinOp::DoubleLessThan(_)
                    | BinOp::DoubleGreaterThan(_) => match (a, b) {
                        (Known::Int(x), Known::Int(y)) => {
                            fold(binop, x, y).map_or(Known::Num, Known::Int)
                        }
                        _ => Known::Num,
                    },
                    BinOp::Slash(_) | BinOp::Caret(_) => Known::Num,
                    _ => Known::Unknown,
                }
            }
            Expression::Var(Var::Name(t)) => match self.resolve(ident(t)) {
                Some(l) => l.value.clone(),
                None => Known::Unknown,
            },
            _ => Known::Unknown,
        }
    }

    /// The bytes of a string the checker can see (a literal, a `<const>` of one).
    fn known_string(&self, e: &Expression) -> Option<(Vec<u8>, Position)> {
        let mut inner = e;
        while let Expression::Parentheses { expression, .. } = inner {
            inner = expression;
        }
        match self.known(inner) {
            Known::Str(Some(b)) => inner.start_position().map(|p| (b, p)),
            _ => None,
        }
    }

    /// `name` used as the base of an index (`index`) or a call: a global kernel Lua lacks?
    fn global_base(&mut self, t: &TokenReference, index: bool) {
        let name = ident(t);
        if !self.is_global(name) {
            return;
        }
        let Some(why) = missing_global(name) else {
            return;
        };
        let what = if index { "index" } else { "call" };
        let (line, column) = self.position_or_end(pos(t));
        self.global_uses.push(GlobalUse {
            name: name.to_owned(),
            diag: Diagnostic {
                line,
                column,
                severity: Severity::Error,
                message: format!("attempt to {what} a nil value (global '{name}'): {why}"),
            },
        });
    }

    /// A finding that holds while the script does not assign the global `name`.
    fn push_global_use(&mut self, name: &str, p: Position, message: String) {
        let (line, column) = self.position_or_end(p);
        self.global_uses.push(GlobalUse {
            name: name.to_owned(),
            diag: Diagnostic {
                line,
                column,
                severity: Severity::Error,
                message,
            },
        });
    }

    /// A prefix and its suffixes: `a.b[c]:d(e)(f)`.
    fn chain(&mut self, prefix: &Prefix, suffixes: &[&Suffix]) {
        match prefix {
            Prefix::Name(t) => {
                if let Some(first) = suffixes.first() {
                    let index = !matches!(first, Suffix::Call(Call::AnonymousCall(_)));
                    self.global_base(t, index);
                }
                self.library_call(ident(t), suffixes);
            }
            Prefix::Expression(e) => self.expr(e),
            _ => {}
        }
        // `("%f"):format(x)`, and a <const> string's methods.
        if let Some(Suffix::Call(Call::MethodCall(m))) = suffixes.first() {
            let receiver = match prefix {
                Prefix::Expression(e) => self.known_string(e),
                Prefix::Name(t) => match self.resolve(ident(t)) {
                    Some(Local {
                        value: Known::Str(Some(b)),
                        ..
                    }) => Some((b.clone(), pos(t))),
                    _ => None,
                },
                _ => None,
            };
            if let Some((fmt, p)) = receiver {
                self.format_check(ident(m.name()), &fmt, p, None);
            }
        }
        for s in suffixes {
            match s {
                Suffix::Index(Index::Brackets { expression, .. }) => self.expr(expression),
                Suffix::Call(Call::AnonymousCall(args)) => self.args(args),
                Suffix::Call(Call::MethodCall(m)) => self.args(m.args()),
                _ => {}
            }
        }
    }

    fn args(&mut self, args: &FunctionArgs) {
        match args {
            FunctionArgs::Parentheses { arguments, .. } => {
                for e in arguments.iter() {
                    self.expr(e);
                }
            }
            FunctionArgs::TableConstructor(t) => self.table(t),
            _ => {}
        }
    }

    /// The first argument of a call, if the checker sees it as a string.
    fn first_string_arg(&self, args: &FunctionArgs) -> Option<(Vec<u8>, Position)> {
        match args {
            FunctionArgs::Parentheses { arguments, .. } => {
                arguments.iter().next().and_then(|e| self.known_string(e))
            }
            FunctionArgs::String(t) => string_value(t.token_type())
                .and_then(Result::ok)
                .map(|b| (b, pos(t))),
            _ => None,
        }
    }

    /// `require "x"`, `string.format("%f", ...)`, `string.pack("d", ...)` on the global
    /// `require`/`string`.
    fn library_call(&mut self, base: &str, suffixes: &[&Suffix]) {
        if !self.is_global(base) {
            return;
        }
        match (base, suffixes) {
            ("require", [Suffix::Call(Call::AnonymousCall(args)), ..]) => {
                let Some((name, p)) = self.first_string_arg(args) else {
                    return;
                };
                if MODULES.iter().any(|m| m.as_bytes() == name.as_slice()) {
                    return;
                }
                let msg = format!(
                    "module '{}' not found: kernel Lua has only its built-in modules \
                     (completion, thread, coroutine, string, table, utf8)",
                    String::from_utf8_lossy(&name)
                );
                self.push_global_use("require", p, msg);
            }
            (
                "string",
                [Suffix::Index(Index::Dot { name, .. }), Suffix::Call(Call::AnonymousCall(args)), ..],
            ) => {
                if let Some((fmt, p)) = self.first_string_arg(args) {
                    self.format_check(ident(name), &fmt, p, Some("string"));
                }
            }
            _ => {}
        }
    }

    /// `string.<func>` called with the format `fmt`.
    fn format_check(&mut self, func: &str, fmt: &[u8], p: Position, global: Option<&str>) {
        let msg = match func {
            "format" => float_conversion(fmt).map(|c| {
                format!(
                    "'{}': string.format's float formats (a, e, f, g) {DIV_SUFFIX}",
                    String::from_utf8_lossy(c)
                )
            }),
            "pack" | "unpack" | "packsize" => float_option(fmt).map(|o| {
                format!(
                    "'{}': string.pack's float options (f, d, n) {DIV_SUFFIX}",
                    o as char
                )
            }),
            _ => None,
        };
        let Some(msg) = msg else { return };
        match global {
            Some(g) => self.push_global_use(g, p, msg),
            None => self.push_at(p, Severity::Error, msg),
        }
    }
}
