//! Host checks of the built `driver/kcompletion.ko` (see `tests/no_float.rs`). They need the
//! module built first (`cargo xtask test` builds it before running the host tests) and fail,
//! rather than skip, when it is missing or the tools to inspect it are.
