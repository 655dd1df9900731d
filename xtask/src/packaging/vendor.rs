//! The upstream snapshots the packaging checks run: bitbake, openembedded-core
//! and Buildroot, as unmodified `git archive` tarballs in `../shared/vendor/`
//! (seen from the repository root; see its README). Each is unpacked once
//! under `target/packaging/vendor/`, keyed by the archive's checksum.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process;

/// Where the snapshots are, relative to the repository root.
pub const VENDOR_DIR: &str = "../shared/vendor";

/// The archives the checks need (without `.tar.xz`).
pub const ARCHIVES: &[&str] = &[
    "bitbake-2.8",
    "bitbake-2.18",
    "openembedded-core-scarthgap",
    "openembedded-core-wrynose",
    "buildroot-2025.02.x",
    "buildroot-2026.05.x",
];

/// Why the checks cannot run here, with how to make them run; `None` when
/// every archive is present.
pub fn unavailable(root: &Path) -> Option<String> {
    let dir = root.join(VENDOR_DIR);
    let missing: Vec<String> = ARCHIVES
        .iter()
        .map(|name| format!("{name}.tar.xz"))
        .filter(|file| !dir.join(file).is_file())
        .collect();
    if missing.is_empty() && dir.join("SHA256SUMS").is_file() {
        return None;
    }
    Some(format!(
        "the upstream snapshots are not in {} (missing: {}). The packaging checks run the \
         real bitbake and Buildroot from unmodified `git archive` snapshots placed there, \
         next to this checkout, with a SHA256SUMS file: `git archive --prefix=NAME/ -o \
         NAME.tar.xz REF` of bitbake (2.8 as bitbake-2.8, 2.18 as bitbake-2.18), \
         openembedded-core (scarthgap, wrynose as openembedded-core-<branch>) and buildroot \
         (2025.02.x, 2026.05.x as buildroot-<branch>)",
        dir.display(),
        if missing.is_empty() {
            "SHA256SUMS".to_owned()
        } else {
            missing.join(", ")
        }
    ))
}

/// The `SHA256SUMS` checksum of `file`.
fn listed_checksum(dir: &Path, file: &str) -> Result<String, String> {
    let sums = dir.join("SHA256SUMS");
    let text = fs::read_to_string(&sums).map_err(|e| format!("{}: {e}", sums.display()))?;
    text.lines()
        .find_map(|line| {
            let (sum, name) = line.split_once(char::is_whitespace)?;
            (name.trim() == file).then(|| sum.to_owned())
        })
        .ok_or_else(|| format!("{} does not list {file}", sums.display()))
}

/// Unpacks `name` (one of [`ARCHIVES`]) under `target/packaging/vendor/`
/// unless the same archive already is; returns the source tree (the
/// archive's top directory). The archive is checked against SHA256SUMS.
pub fn unpack(root: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = root.join(VENDOR_DIR);
    let file = format!("{name}.tar.xz");
    let archive = dir.join(&file);
    let want = listed_checksum(&dir, &file)?;
    let unpacked = root.join("target/packaging/vendor").join(name);
    let stamp = unpacked.join(".unpacked-sha256");
    let tree = unpacked.join(name);
    if fs::read_to_string(&stamp).is_ok_and(|sum| sum.trim() == want) && tree.is_dir() {
        return Ok(tree);
    }
    let have = process::output(Command::new("sha256sum").arg(&archive))
        .map_err(|e| format!("sha256sum {}: {e}", archive.display()))?;
    if have.split_whitespace().next() != Some(want.as_str()) {
        return Err(format!(
            "{} does not match its SHA256SUMS entry",
            archive.display()
        ));
    }
    if unpacked.exists() {
        fs::remove_dir_all(&unpacked).map_err(|e| format!("{}: {e}", unpacked.display()))?;
    }
    fs::create_dir_all(&unpacked).map_err(|e| format!("{}: {e}", unpacked.display()))?;
    process::output(
        Command::new("tar")
            .arg("-xJf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked),
    )
    .map_err(|e| format!("unpacking {}: {e}", archive.display()))?;
    if !tree.is_dir() {
        return Err(format!(
            "{} has no top directory {name}/",
            archive.display()
        ));
    }
    fs::write(&stamp, &want).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_without_the_snapshots_is_told_how_to_provide_them() {
        let root = std::env::temp_dir().join(format!("ipcon-vendor-{}", std::process::id()));
        let vendor = root.join("repo").join(VENDOR_DIR);
        fs::create_dir_all(&vendor).unwrap();
        let reason = unavailable(&root.join("repo")).unwrap();
        assert!(reason.contains("bitbake-2.8.tar.xz") && reason.contains("git archive"));
        for name in ARCHIVES {
            fs::write(vendor.join(format!("{name}.tar.xz")), b"").unwrap();
        }
        assert!(unavailable(&root.join("repo"))
            .unwrap()
            .contains("SHA256SUMS"));
        fs::write(vendor.join("SHA256SUMS"), b"").unwrap();
        assert_eq!(unavailable(&root.join("repo")), None);
        assert!(listed_checksum(&vendor, "bitbake-2.8.tar.xz")
            .unwrap_err()
            .contains("does not list"));
        fs::remove_dir_all(&root).unwrap();
    }
}
