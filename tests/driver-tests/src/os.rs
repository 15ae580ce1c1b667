//! Process and memory system calls of the guest programs: anonymous mappings, SIGKILL to a
//! child and reaping it.

use std::ffi::c_void;

/// `len` bytes of new anonymous memory, readable and writable, where the kernel chooses;
/// `flags` is `MAP_PRIVATE` or `MAP_SHARED` (a shared mapping survives into forked children).
/// Panics if the kernel refuses.
pub fn map_anon(len: usize, flags: libc::c_int) -> *mut c_void {
    // SAFETY: A fresh mapping at an address of the kernel's choosing: nothing else is there.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p
}

/// SIGKILL to `pid`, one of our children.
pub fn kill(pid: libc::pid_t) {
    // SAFETY: Signalling our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Waits for the child `pid` (-1: any child) to end: `(what waitpid returned, status)`.
pub fn reap(pid: libc::pid_t) -> (libc::pid_t, libc::c_int) {
    let mut status = 0;
    // SAFETY: Waiting for our own children.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    (r, status)
}

/// True if `status` (from [`reap`]) says SIGKILL ended the child.
pub fn killed(status: libc::c_int) -> bool {
    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL
}

/// True if `status` (from [`reap`]) says the child exited with status 0.
pub fn exited_ok(status: libc::c_int) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}
