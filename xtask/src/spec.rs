//! Placeholder: owned by the helper writing this check; `main.rs` calls `run`.
use std::path::Path;

/// Runs this check from the repository root; prints its own summary line.
pub fn run(_root: &Path) -> Result<(), String> {
    Err("spec: not written yet".into())
}
