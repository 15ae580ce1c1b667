//! Nothing to compile: this crate only pins `lua-src`, whose pristine Lua 5.4 C sources
//! `driver/lua/prepare-sources.sh` copies (via `cargo metadata`) into `driver/lua/core/`
//! for the kernel module build.
