//! Shared pieces of the guest test programs of the driver: raw ioctl helpers, a seedable
//! random stream, KTAP output and flag parsing.

pub mod args;
pub mod cpus;
pub mod ktap;
pub mod progress;
pub mod rng;
pub mod spawn;
pub mod sys;
