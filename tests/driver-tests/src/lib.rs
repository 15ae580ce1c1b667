//! Shared pieces of the guest test programs of the driver: raw ioctl helpers, process and
//! memory system calls, a seedable random stream, CPU placement, progress lines and flag
//! parsing. The KTAP printer is `kcompletion_test_harness::ktap`.

pub mod args;
pub mod cpus;
pub mod os;
pub mod progress;
pub mod rng;
pub mod spawn;
pub mod sys;
