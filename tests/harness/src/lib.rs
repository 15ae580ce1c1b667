//! The pieces every guest test program shares (kc-driver-tests, the kc-* programs and
//! kcompletion-userlib-tests): the one KTAP printer, and the no-op signal handler that makes a
//! blocked call return `EINTR`.

pub mod ktap;
pub mod signal;
