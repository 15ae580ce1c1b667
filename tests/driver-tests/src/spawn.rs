//! Processes that share the caller's memory: `clone(CLONE_VM | SIGCHLD)`, as vfork does but
//! with the parent running on. Each has its own pid, signal handling and file table, so it
//! can be killed alone, yet costs a fraction of a fork under KASAN (no page tables to copy).
//! The child runs a plain function on a stack the caller provides and must only make raw
//! system calls (no allocation, no locks, no thread-local state other than errno), and end
//! with `_exit` or be killed.

use std::ffi::c_void;

/// A child's stack; it must stay alive, untouched, until the child has been reaped.
pub struct ChildStack(Vec<u8>);

impl ChildStack {
    pub fn new() -> Self {
        ChildStack(vec![0u8; 64 * 1024])
    }
}

impl Default for ChildStack {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts `child(arg)` in a new process on `stack`, with `arg` copied to the top of the stack.
/// Returns the pid (reap it with `waitpid`).
pub fn spawn<A>(stack: &mut ChildStack, child: extern "C" fn(*mut c_void) -> i32, arg: A) -> i32 {
    let top = stack.0.as_mut_ptr() as usize + stack.0.len();
    let arg_at = (top - std::mem::size_of::<A>()) & !63;
    // SAFETY: `arg_at` is inside the stack buffer, aligned for A, used by nobody else.
    unsafe { std::ptr::write(arg_at as *mut A, arg) };
    let stack_top = (arg_at - 64) & !15;
    // SAFETY: The new process runs `child` on the caller's stack buffer, which the caller keeps
    // until it reaped the child; SIGCHLD makes it waitable like a forked child.
    let pid = unsafe {
        libc::clone(
            child,
            stack_top as *mut c_void,
            libc::CLONE_VM | libc::SIGCHLD,
            arg_at as *mut c_void,
        )
    };
    assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
    pid
}
