//! Raw ioctl helpers shared by the guest test programs of the driver.

pub mod sys;
