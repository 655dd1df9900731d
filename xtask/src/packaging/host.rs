//! What the real tools need from the host before they run: the Debian
//! packages of oe-core's and Buildroot's host requirements, an unprivileged
//! user for bitbake (it refuses root), an `en_US.UTF-8` locale (bitbake
//! checks for it) and a GNU tar Buildroot accepts (it wants >= 1.35; Debian
//! 12 has 1.34, and Buildroot's own host-tar source is not reachable).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::run_captured;
use crate::debian::PrivateApt;
use crate::host_tools;
use crate::process;

/// Debian packages: oe-core's HOSTTOOLS that a minimal Debian lacks,
/// Buildroot's host dependencies (support/dependencies), check-package's
/// Python modules, shellcheck, the venv for oelint-adv and what builds GNU
/// tar.
pub const PACKAGES: &[&str] = &[
    // bitbake / oe-core
    "python3",
    "locales",
    "chrpath",
    "diffstat",
    "gawk",
    "lz4",
    "zstd",
    "rpcsvc-proto",
    "cpio",
    "file",
    "wget",
    "patch",
    "g++",
    "bzip2",
    "xz-utils",
    "git",
    // Buildroot
    "make",
    "rsync",
    "bc",
    "unzip",
    "perl",
    "python3-magic",
    "python3-flake8",
    // linters
    "shellcheck",
    "python3-venv",
];

/// The user bitbake runs as when the checks run as root.
pub const BITBAKE_USER: &str = "ipcon-bitbake";

/// Debian's Python (the one the packages above add modules to): a
/// `python3` earlier in PATH (pyenv, a venv) would miss them.
pub const PYTHON: &str = "/usr/bin/python3";

/// Whether this process runs as root.
pub fn is_root() -> bool {
    process::output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

/// Creates [`BITBAKE_USER`] (a system user without a home or shell) when
/// running as root and it does not exist.
pub fn ensure_bitbake_user() -> Result<(), String> {
    if !is_root() {
        return Ok(());
    }
    if Command::new("id")
        .arg("-u")
        .arg(BITBAKE_USER)
        .output()
        .is_ok_and(|out| out.status.success())
    {
        return Ok(());
    }
    println!("packaging: creating the unprivileged user {BITBAKE_USER} (bitbake refuses root)");
    process::run(Command::new("useradd").args([
        "--system",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        BITBAKE_USER,
    ]))
    .map_err(|e| format!("useradd {BITBAKE_USER}: {e}"))
}

/// Compiles the `en_US.UTF-8` locale into `dir` (used through LOCPATH, so
/// the host's locale settings are left alone); returns `dir`.
pub fn ensure_locale(dir: &Path) -> Result<PathBuf, String> {
    let locale = dir.join("en_US.UTF-8");
    if locale.join("LC_CTYPE").is_file() {
        return Ok(dir.to_path_buf());
    }
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    process::output(
        Command::new("localedef")
            .args(["-i", "en_US", "-f", "UTF-8"])
            .arg(&locale),
    )
    .map_err(|e| format!("localedef en_US.UTF-8 (package locales): {e}"))?;
    Ok(dir.to_path_buf())
}

/// `(major, minor)` of a `tar --version` first line.
pub fn tar_version(text: &str) -> Option<(u32, u32)> {
    let version = text.lines().next()?.split_whitespace().last()?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}

/// The oldest GNU tar Buildroot accepts on the host (check-host-tar.sh).
const TAR_MINIMUM: (u32, u32) = (1, 35);

fn acceptable_tar(tar: &Path) -> bool {
    Command::new(tar)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| tar_version(&String::from_utf8_lossy(&out.stdout)))
        .is_some_and(|version| version >= TAR_MINIMUM)
}

/// A directory to put first in PATH so that Buildroot finds a GNU tar it
/// accepts, or `None` when the host's already is. Otherwise GNU tar is built
/// once from Debian trixie's source package (fetched through a private apt
/// configuration) into `dir`.
pub fn ensure_tar(dir: &Path) -> Result<Option<PathBuf>, String> {
    if acceptable_tar(Path::new("tar")) {
        return Ok(None);
    }
    let bin = dir.join("install/bin");
    if acceptable_tar(&bin.join("tar")) {
        return Ok(Some(bin));
    }
    println!(
        "packaging: the host's GNU tar is older than {}.{}, which Buildroot requires; \
         building it from Debian's source package",
        TAR_MINIMUM.0, TAR_MINIMUM.1
    );
    let apt = PrivateApt::new(dir.join("apt"), &["amd64"], &["trixie"]).with_source_packages();
    apt.update()?;
    let tarball = apt.source("tar", &dir.join("source"))?;
    let build = dir.join("build");
    if build.exists() {
        fs::remove_dir_all(&build).map_err(|e| format!("{}: {e}", build.display()))?;
    }
    fs::create_dir_all(&build).map_err(|e| format!("{}: {e}", build.display()))?;
    process::output(
        Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&build)
            .arg("--strip-components=1"),
    )
    .map_err(|e| format!("unpacking {}: {e}", tarball.display()))?;
    let install = dir.join("install");
    let run = |args: &[&str]| -> Result<String, String> {
        run_captured(
            Command::new(args[0])
                .args(&args[1..])
                .current_dir(&build)
                // tar's configure refuses to run as root otherwise.
                .env("FORCE_UNSAFE_CONFIGURE", "1"),
            &format!("building GNU tar: {}", args.join(" ")),
            20,
        )
    };
    let prefix = format!("--prefix={}", install.display());
    run(&["./configure", "--quiet", "--disable-nls", &prefix])?;
    run(&["make", "-j2"])?;
    run(&["make", "install"])?;
    if !acceptable_tar(&bin.join("tar")) {
        return Err(format!(
            "{} is not GNU tar >= 1.35",
            bin.join("tar").display()
        ));
    }
    Ok(Some(bin))
}

/// Installs the Debian packages, the bitbake user and the locale; returns
/// the locale directory (the tar is [`ensure_tar`]'s, which takes longer).
pub fn prepare(packaging_dir: &Path) -> Result<PathBuf, String> {
    host_tools::ensure_packages(PACKAGES)?;
    ensure_bitbake_user()?;
    ensure_locale(&packaging_dir.join("locale"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_versions_are_read_from_the_first_line() {
        assert_eq!(tar_version("tar (GNU tar) 1.34\nCopyright"), Some((1, 34)));
        assert_eq!(tar_version("tar (GNU tar) 1.35\n"), Some((1, 35)));
        assert_eq!(tar_version("tar (GNU tar) 1.35.90"), Some((1, 35)));
        assert!(tar_version("tar (GNU tar) 1.34").unwrap() < TAR_MINIMUM);
        assert_eq!(tar_version("bsdtar"), None);
    }
}
