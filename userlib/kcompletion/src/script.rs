//! Kernel Lua scripts: [`run`], [`stop`] and [`scripts`] (`RUN`, `STOP` and `SCRIPTS` on
//! `/dev/kcompletion`). Starting and stopping need `CAP_SYS_ADMIN`.

use crate::error::{Error, ErrorKind};
use crate::name::validate_name_for;
use crate::sys::{ioctl, Device};
use crate::Result;
use kcompletion_abi::raw;
use kcompletion_abi::*;

/// How far a script got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptState {
    /// Its kernel thread is running it.
    Running,
    /// It returned.
    Finished,
    /// It raised an error, ran out of memory or was stopped (see [`ScriptInfo::error`]).
    Failed,
}

impl ScriptState {
    /// `"running"`, `"finished"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptState::Running => "running",
            ScriptState::Finished => "finished",
            ScriptState::Failed => "failed",
        }
    }
}

/// One listed script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptInfo {
    /// The script's name (also its kernel thread's name).
    pub name: String,
    /// Running, finished or failed.
    pub state: ScriptState,
    /// Bytes its Lua state holds now (0 once it ended).
    pub memory: u64,
    /// Why it failed (cut to 256 bytes), if it did.
    pub error: Option<String>,
}

impl ScriptInfo {
    fn from_raw(raw: &KcScriptInfo) -> ScriptInfo {
        let text = |b: &[u8], n: u32| {
            String::from_utf8_lossy(&b[..(n as usize).min(b.len())]).into_owned()
        };
        ScriptInfo {
            name: text(&raw.name, raw.name_len),
            state: match raw.state {
                KC_SCRIPT_RUNNING => ScriptState::Running,
                KC_SCRIPT_FINISHED => ScriptState::Finished,
                _ => ScriptState::Failed,
            },
            memory: raw.memory,
            error: (raw.error_len > 0).then(|| text(&raw.error, raw.error_len)),
        }
    }
}

/// Compiles `source` and runs it in a new kernel thread named `name`. A source that does
/// not compile fails with [`ErrorKind::CompileError`] and the compiler's message as
/// [`Error::detail`]; a running script of the same name with [`ErrorKind::Exists`]; no
/// `CAP_SYS_ADMIN` with [`ErrorKind::PermissionDenied`]. An ended script of the same name
/// is replaced.
///
/// # Examples
///
/// ```no_run
/// kcompletion::run("hello", "print('hello from the kernel')")?;
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub fn run(name: &str, source: &str) -> Result<()> {
    const OP: &str = "run";
    let kname = validate_name_for(OP, name)?;
    if source.len() > KC_SCRIPT_SOURCE_MAX as usize {
        return Err(Error::new(OP, Some(name), ErrorKind::InvalidArgument, None)
            .with_detail(format!("the source is over {KC_SCRIPT_SOURCE_MAX} bytes")));
    }
    let dev = Device::open(OP, Some(name))?;
    let mut text = vec![0u8; 1024];
    let mut arg = RunArg::new(kname, source.as_bytes(), &mut text);
    match ioctl::<raw::Run>(dev.fd(), &mut arg) {
        Ok(_) => Ok(()),
        Err(errno) => {
            let error_len = arg.error_len;
            let e = Error::from_errno(OP, Some(name), errno);
            let n = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            if error_len > 0 && n > 0 {
                Err(e.with_detail(String::from_utf8_lossy(&text[..n]).into_owned()))
            } else {
                Err(e)
            }
        }
    }
}

/// Stops the running script `name` (a wait in it returns `nil, "interrupt"`; it stays
/// listed, failed or finished), or removes an ended one from the list.
pub fn stop(name: &str) -> Result<()> {
    crate::sys::name_request::<raw::Stop>("stop", name)
}

/// Every script, running or ended and not yet removed.
pub fn scripts() -> Result<Vec<ScriptInfo>> {
    const OP: &str = "scripts";
    let dev = Device::open(OP, None)?;
    let mut buf = vec![KcScriptInfo::default(); KC_SCRIPTS_MAX as usize];
    let mut arg = ScriptsArg::new(&mut buf);
    ioctl::<raw::Scripts>(dev.fd(), &mut arg).map_err(|e| Error::from_errno(OP, None, e))?;
    let n = (arg.count as usize).min(buf.len());
    Ok(buf[..n].iter().map(ScriptInfo::from_raw).collect())
}
