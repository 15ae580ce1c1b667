//! A signal that interrupts: a handler that does nothing, installed without `SA_RESTART`, so
//! that a thread blocked in an ioctl (or poll) returns `EINTR` when the signal arrives.

extern "C" fn nothing(_: libc::c_int) {}

/// Installs the no-op handler for `sig` (for example `libc::SIGUSR1`).
pub fn interrupt_on(sig: libc::c_int) {
    // SAFETY: A sigaction with an empty mask, no flags and a handler that touches nothing.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = nothing as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}
