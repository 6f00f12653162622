//! Where things are in the repository.

use std::path::PathBuf;

/// The workspace root (the folder above `xtask/`).
pub(crate) fn root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map_or(manifest_dir.clone(), PathBuf::from)
}

/// Cargo's target folder.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Trunk's output folder (`dist` in Trunk.toml).
pub(crate) fn dist_dir() -> PathBuf {
    root().join("dist")
}

/// The project-local folder for tools that come from npm (wasm-opt).
pub(crate) fn local_tools_dir() -> PathBuf {
    root().join(".tools")
}
