//! Where things are (repository root, cargo's target directory) and building
//! the static user-space binaries that go into the VM.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::elf;
use crate::kernel::Arch;
use crate::process;

/// Packages whose binaries the VM runs.
pub const VM_PACKAGES: &[&str] = &["ipcon-samples", "ipcon-e2e"];

#[derive(Clone, Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// Cargo's target directory (honours `CARGO_TARGET_DIR`).
    pub target_dir: PathBuf,
}

impl Workspace {
    pub fn locate() -> Self {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = manifest_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(manifest_dir);
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
            Some(dir) => root.join(dir),
            None => root.join("target"),
        };
        Workspace { root, target_dir }
    }

    /// Scratch space of the xtask itself.
    pub fn xtask_dir(&self) -> PathBuf {
        self.target_dir.join("xtask")
    }

    /// `cargo` run in the repository root.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new("cargo");
        command.current_dir(&self.root);
        command
    }
}

/// The paths of the executables a `cargo build --message-format=json` produced
/// in `out_dir` or its `examples/` (build scripts and host tools live
/// elsewhere and are skipped).
fn executables_in(json_lines: &[String], out_dir: &Path) -> Vec<PathBuf> {
    let examples = out_dir.join("examples");
    let mut found = Vec::new();
    for line in json_lines {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let Some(start) = line.find("\"executable\":\"") else {
            continue;
        };
        let rest = &line[start + "\"executable\":\"".len()..];
        let Some(end) = rest.find('"') else { continue };
        let path = PathBuf::from(rest[..end].replace("\\\\", "\\"));
        let parent = path.parent();
        if (parent == Some(out_dir) || parent == Some(examples.as_path())) && !found.contains(&path)
        {
            found.push(path);
        }
    }
    found
}

/// Builds `packages` for the VM (release, static musl), their examples
/// included (the README's quick start is one), and returns the binaries.
pub fn build_static_binaries(
    workspace: &Workspace,
    arch: Arch,
    packages: &[&str],
) -> Result<Vec<PathBuf>, String> {
    build_static(workspace, arch.musl_triple(), "release", packages)
}

/// Cargo configuration files that go with a profile: flags stable cargo
/// cannot put in `[profile.*]` (the link flags of `min-size`, see the file).
const PROFILE_CONFIG: &[(&str, &str)] = &[("min-size", ".cargo/min-size.toml")];

/// Builds `packages` for `triple` in cargo profile `profile`, their
/// programs and examples (in `examples/`), checks every one is static and
/// returns them (the ARM builds use `min-size`).
pub fn build_static(
    workspace: &Workspace,
    triple: &str,
    profile: &str,
    packages: &[&str],
) -> Result<Vec<PathBuf>, String> {
    let mut cargo = workspace.cargo();
    cargo.args([
        "build",
        "--profile",
        profile,
        "--message-format=json-render-diagnostics",
    ]);
    for (name, config) in PROFILE_CONFIG {
        if *name == profile {
            cargo.arg("--config").arg(workspace.root.join(config));
        }
    }
    cargo.args(["--target", triple]);
    for package in packages {
        cargo.args(["--package", package]);
    }
    cargo.args(["--bins", "--examples"]);
    // RUSTFLAGS would replace the target's +crt-static from .cargo/config.toml.
    for variable in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if std::env::var_os(variable).is_some() {
            println!("xtask: ignoring {variable} for the static VM build");
            cargo.env_remove(variable);
        }
    }
    let captured = process::capture_as(&format!("cargo build for {triple}"), &mut cargo, false)?;
    // Diagnostics come as rendered text on stderr; show them on failure.
    if !captured.success {
        for line in captured.lines.iter().filter(|line| !line.starts_with('{')) {
            println!("{line}");
        }
        return Err(format!(
            "cargo build for {triple} failed ({})",
            captured.status
        ));
    }
    let out_dir = workspace.target_dir.join(triple).join(profile);
    let binaries = executables_in(&captured.lines, &out_dir);
    for binary in &binaries {
        elf::require_static(binary)?;
    }
    Ok(binaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_target_executables_are_taken() {
        let lines = [
            r#"{"reason":"compiler-artifact","target":{"kind":["custom-build"]},"executable":null}"#,
            r#"{"reason":"compiler-artifact","executable":"/t/release/build/x-1/build-script-build"}"#,
            r#"{"reason":"compiler-artifact","executable":"/t/x86_64-unknown-linux-musl/release/ipcon-e2e","fresh":true}"#,
            r#"{"reason":"compiler-artifact","executable":"/t/x86_64-unknown-linux-musl/release/examples/quickstart"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .map(str::to_owned);
        assert_eq!(
            executables_in(&lines, Path::new("/t/x86_64-unknown-linux-musl/release")),
            [
                PathBuf::from("/t/x86_64-unknown-linux-musl/release/ipcon-e2e"),
                PathBuf::from("/t/x86_64-unknown-linux-musl/release/examples/quickstart"),
            ]
        );
    }
}
