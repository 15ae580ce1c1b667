//! The guest's initramfs: an uncompressed newc cpio written in Rust (so it
//! can hold device nodes and owners without root), holding busybox, the Lua
//! interpreters, the module, the workspace binaries and the test files.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

#[derive(Debug, Clone)]
enum Node {
    Dir { mode: u32, uid: u32 },
    File { data: Vec<u8>, mode: u32 },
    Symlink { target: String },
    CharDev { major: u32, minor: u32, mode: u32 },
}

/// An in-memory file tree that serialises to a newc cpio archive.
#[derive(Debug, Default)]
pub struct Cpio {
    nodes: BTreeMap<String, Node>,
}

fn norm(path: &str) -> String {
    path.trim_matches('/').to_string()
}

impl Cpio {
    fn parents(&mut self, path: &str) {
        let mut cur = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(p);
            self.nodes.entry(cur.clone()).or_insert(Node::Dir {
                mode: 0o755,
                uid: 0,
            });
        }
    }

    pub fn dir(&mut self, path: &str, mode: u32, uid: u32) {
        let p = norm(path);
        self.parents(&p);
        self.nodes.insert(p, Node::Dir { mode, uid });
    }

    pub fn file(&mut self, path: &str, data: Vec<u8>, mode: u32) {
        let p = norm(path);
        self.parents(&p);
        self.nodes.insert(p, Node::File { data, mode });
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        let p = norm(path);
        self.parents(&p);
        self.nodes.entry(p).or_insert(Node::Symlink {
            target: target.to_string(),
        });
    }

    pub fn chardev(&mut self, path: &str, major: u32, minor: u32, mode: u32) {
        let p = norm(path);
        self.parents(&p);
        self.nodes.insert(p, Node::CharDev { major, minor, mode });
    }

    pub fn contains(&self, path: &str) -> bool {
        self.nodes.contains_key(&norm(path))
    }

    /// Copy a host file (following symlinks), keeping its permission bits.
    pub fn host_file(&mut self, guest: &str, host: &Path) -> Result<()> {
        let data = std::fs::read(host).with_context(|| format!("read {}", host.display()))?;
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(host)?.permissions().mode() & 0o7777
        };
        self.file(guest, data, mode);
        Ok(())
    }

    /// Copy a host folder recursively to `guest`.
    pub fn host_tree(&mut self, guest: &str, host: &Path) -> Result<()> {
        let meta = std::fs::metadata(host).with_context(|| format!("stat {}", host.display()))?;
        if meta.is_file() {
            return self.host_file(guest, host);
        }
        self.dir(guest, 0o755, 0);
        let mut entries: Vec<_> = std::fs::read_dir(host)?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            self.host_tree(
                &format!("{}/{name}", guest.trim_end_matches('/')),
                &e.path(),
            )?;
        }
        Ok(())
    }

    /// Copy an executable or shared library and every library `ldd` lists
    /// for it (plus the dynamic loader), at the paths `ldd` shows.
    pub fn host_binary(&mut self, guest: &str, host: &Path) -> Result<()> {
        self.host_file(guest, host)?;
        for lib in ldd(host)? {
            let g = lib.to_string_lossy().into_owned();
            if !self.contains(&g) {
                self.host_file(&g, &lib)?;
            }
        }
        Ok(())
    }

    /// Serialise as an uncompressed newc archive.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, (path, node)) in (1u32..).zip(self.nodes.iter()) {
            let (mode, uid, data): (u32, u32, &[u8]) = match node {
                Node::Dir { mode, uid } => (0o040000 | mode, *uid, &[]),
                Node::File { data, mode } => (0o100000 | mode, 0, data),
                Node::Symlink { target } => (0o120777, 0, target.as_bytes()),
                Node::CharDev { mode, .. } => (0o020000 | mode, 0, &[]),
            };
            let (rmaj, rmin) = match node {
                Node::CharDev { major, minor, .. } => (*major, *minor),
                _ => (0, 0),
            };
            let nlink = if matches!(node, Node::Dir { .. }) {
                2
            } else {
                1
            };
            write_entry(&mut out, ino, mode, uid, nlink, rmaj, rmin, path, data);
        }
        write_entry(&mut out, 0, 0, 0, 1, 0, 0, "TRAILER!!!", &[]);
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn write_entry(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    uid: u32,
    nlink: u32,
    rmaj: u32,
    rmin: u32,
    name: &str,
    data: &[u8],
) {
    let header = format!(
        "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}{dmaj:08x}{dmin:08x}{rmaj:08x}{rmin:08x}{namesize:08x}{check:08x}",
        gid = uid,
        mtime = 0,
        size = data.len(),
        dmaj = 0,
        dmin = 0,
        namesize = name.len() + 1,
        check = 0
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Shared libraries (absolute paths) a dynamically linked ELF needs.
pub fn ldd(path: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd").arg(path).output().context("run ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || text.contains("not a dynamic executable")
        || text.contains("statically linked")
    {
        return Ok(Vec::new());
    }
    Ok(parse_ldd(&text))
}

pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let cand = match line.split_once("=>") {
            Some((_, rhs)) => rhs.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(c) = cand {
            if c.starts_with('/') {
                libs.push(PathBuf::from(c));
            }
        }
    }
    libs
}

/// What goes into a guest.
#[derive(Debug, Default)]
pub struct GuestSpec {
    /// `driver/kcompletion.ko`, if built.
    pub module: Option<PathBuf>,
    /// More modules to put in /lib/modules (e.g. the runner self-test).
    pub extra_modules: Vec<PathBuf>,
    /// Workspace binaries to install in /usr/bin.
    pub bins: Vec<PathBuf>,
    /// More files: (guest path, host file), e.g. the bench's P6 floor Lua modules.
    pub files: Vec<(String, PathBuf)>,
    /// `--include` paths, copied to /mnt/host/<basename>.
    pub includes: Vec<PathBuf>,
    /// Contents of /etc/kc/job.conf (shell variable assignments).
    pub job_conf: String,
    /// The job script (/etc/kc/job.sh), if any.
    pub job: Option<String>,
}

pub const INIT: &str = include_str!("init.sh");

/// Lua C-module hook: `target/release/libkcompletion_lua*.so` files are
/// installed where each interpreter's `package.cpath` looks.
/// (file-name suffix, guest path)
pub const LUA_MODULE_HOOK: &[(&str, &str)] = &[
    ("libkcompletion_lua.so", "/usr/lib/lua/5.4/kcompletion.so"),
    ("libkcompletion_lua54.so", "/usr/lib/lua/5.4/kcompletion.so"),
    ("libkcompletion_lua51.so", "/usr/lib/lua/5.1/kcompletion.so"),
    // LuaJIT shares 5.1's cpath; the /usr/bin/luajit wrapper puts this folder first.
    ("libkcompletion_luajit.so", "/usr/lib/luajit/kcompletion.so"),
];

const LUAJIT_REAL: &str = "usr/lib/luajit/bin/luajit";
const LUAJIT_WRAPPER: &str = "#!/bin/sh\n\
# LuaJIT with its own C-module folder first (lua5.1 reads the same LUA_CPATH).\n\
LUA_CPATH=\"/usr/lib/luajit/?.so;${LUA_CPATH:-;}\" exec /usr/lib/luajit/bin/luajit \"$@\"\n";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
kcuser:x:1000:1000:kcompletion test user:/home/kcuser:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n";
const GROUP: &str = "root:x:0:\nkcuser:x:1000:\nnogroup:x:65534:\n";
const SHADOW: &str = "root::0:0:99999:7:::\nkcuser:!:0:0:99999:7:::\nnobody:!:0:0:99999:7:::\n";

fn busybox_applets() -> Result<Vec<String>> {
    let out = util::cmd_output(Command::new("/bin/busybox").arg("--list-full"))?;
    Ok(out
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Build the initramfs described by `spec` at `out`.
pub fn build(spec: &GuestSpec, out: &Path) -> Result<()> {
    let root = util::repo_root();
    let mut c = Cpio::default();
    for d in [
        "proc",
        "sys",
        "dev",
        "tmp",
        "run",
        "root",
        "mnt/host",
        "etc/kc",
        "usr/sbin",
        "sbin",
        "lib/modules",
    ] {
        c.dir(d, 0o755, 0);
    }
    c.dir("tmp", 0o1777, 0);
    c.dir("root", 0o700, 0);
    c.dir("home/kcuser", 0o755, 1000);
    c.chardev("dev/console", 5, 1, 0o600);
    c.chardev("dev/null", 1, 3, 0o666);

    // busybox and its applets
    c.host_file("bin/busybox", Path::new("/bin/busybox"))?;
    for a in busybox_applets()? {
        if a != "bin/busybox" {
            c.symlink(&a, "/bin/busybox");
        }
    }
    // Lua interpreters (with their shared libraries)
    for lua in ["lua5.4", "lua5.1", "luajit"] {
        let host = std::fs::canonicalize(format!("/usr/bin/{lua}"))
            .with_context(|| format!("/usr/bin/{lua} missing"))?;
        let guest = if lua == "luajit" {
            LUAJIT_REAL
        } else {
            &format!("usr/bin/{lua}")
        };
        c.host_binary(guest, &host)?;
    }
    // lua5.1 and LuaJIT share the default cpath and the LUA_CPATH variable;
    // a wrapper gives LuaJIT its own module folder first.
    c.file("usr/bin/luajit", LUAJIT_WRAPPER.into(), 0o755);
    c.symlink("usr/bin/lua", "/usr/bin/lua5.4");

    if let Some(m) = &spec.module {
        c.host_file("lib/modules/kcompletion.ko", m)?;
    }
    for m in &spec.extra_modules {
        let name = file_name(m, "module name")?;
        c.host_file(&format!("lib/modules/{name}"), m)?;
    }
    for b in &spec.bins {
        let name = file_name(b, "bin name")?;
        c.host_binary(&format!("usr/bin/{name}"), b)?;
    }
    // Lua C modules built by the workspace (hook; absent for now is fine)
    let rel = util::target_dir().join("release");
    for (file, guest) in LUA_MODULE_HOOK {
        let p = rel.join(file);
        if p.is_file() {
            c.host_binary(guest, &p)?;
        }
    }
    for (guest, host) in &spec.files {
        c.host_file(guest, host)?;
    }
    // The Lua modules written in Lua (`require "completion"`, `"thread"`: the kernel
    // scripts' API in userspace), where each interpreter's default path looks.
    let lua_modules = root.join("userlib/lua/lua");
    for dir in ["usr/share/lua/5.4", "usr/share/lua/5.1"] {
        c.host_tree(dir, &lua_modules)?;
    }
    if root.join("lua").is_dir() {
        c.host_tree("usr/share/kcompletion/lua", &root.join("lua"))?;
    }
    if root.join("tests/guest").is_dir() {
        c.host_tree("usr/share/kcompletion/tests", &root.join("tests/guest"))?;
    }
    for inc in &spec.includes {
        let inc =
            std::fs::canonicalize(inc).with_context(|| format!("--include {}", inc.display()))?;
        let name = inc
            .file_name()
            .context("--include needs a named file or folder")?
            .to_string_lossy()
            .into_owned();
        c.host_tree(&format!("mnt/host/{name}"), &inc)?;
    }

    c.file("etc/passwd", PASSWD.into(), 0o644);
    c.file("etc/group", GROUP.into(), 0o644);
    c.file("etc/shadow", SHADOW.into(), 0o600);
    c.file("etc/kc/job.conf", spec.job_conf.clone().into_bytes(), 0o644);
    if let Some(job) = &spec.job {
        c.file("etc/kc/job.sh", job.clone().into_bytes(), 0o755);
    }
    c.file("init", INIT.into(), 0o755);
    if !c.contains("bin/sh") {
        bail!("busybox provides no sh applet");
    }
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(out, c.to_bytes()).with_context(|| format!("write {}", out.display()))?;
    Ok(())
}

/// The last component of `path` (`what` names it in the error).
fn file_name(path: &Path, what: &'static str) -> Result<String> {
    Ok(path
        .file_name()
        .context(what)?
        .to_string_lossy()
        .into_owned())
}

/// Workspace binary targets (except xtask), from `cargo metadata`.
pub fn workspace_bins() -> Result<Vec<String>> {
    let out = util::cmd_output(
        Command::new(util::cargo())
            .current_dir(util::repo_root())
            .args(["metadata", "--format-version", "1", "--no-deps"]),
    )?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    let members: Vec<&str> = v["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .collect();
    let mut bins = Vec::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        if !members.contains(&p["id"].as_str().unwrap_or("")) || p["name"] == "xtask" {
            continue;
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            if t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|x| x == "bin"))
            {
                if let Some(n) = t["name"].as_str() {
                    bins.push(n.to_string());
                }
            }
        }
    }
    bins.sort();
    bins.dedup();
    Ok(bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let t = "\tlinux-vdso.so.1 (0x00007ffc)\n\tliblua5.4.so.0 => /lib/x86_64-linux-gnu/liblua5.4.so.0 (0x1)\n\
                 \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\t/lib64/ld-linux-x86-64.so.2 (0x3)\n";
        let l = parse_ldd(t);
        assert_eq!(
            l,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/liblua5.4.so.0"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn cpio_layout() {
        let mut c = Cpio::default();
        c.file("a/b/c.txt", b"hello".to_vec(), 0o644);
        c.symlink("bin/sh", "/bin/busybox");
        let bytes = c.to_bytes();
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(bytes.len() % 4, 0);
        let s = String::from_utf8_lossy(&bytes);
        // parents come before children, trailer last
        let (ia, iab, iabc) = (
            s.find("a\0").unwrap(),
            s.find("a/b\0").unwrap(),
            s.find("a/b/c.txt\0").unwrap(),
        );
        assert!(ia < iab && iab < iabc);
        assert!(s.contains("hello"));
        assert!(s.trim_end_matches('\0').ends_with("TRAILER!!!"));
    }
}
