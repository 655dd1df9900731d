//! What the real tools need from the host before they run: the Debian
//! packages of oe-core's and Buildroot's host requirements, an unprivileged
//! user for bitbake (it refuses root), an `en_US.UTF-8` locale (bitbake
//! checks for it) and a GNU tar Buildroot accepts (it wants >= 1.35; Debian
//! 12 has 1.34, and Buildroot's own host-tar source is not reachable).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::debian::{Part, PrivateApt};
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

/// Debian trixie's GNU tar and C library, run together: trixie's tar binary
/// needs glibc >= 2.38 (Debian 12 has 2.36), so it is started through
/// trixie's own dynamic loader with trixie's libraries first. The host's
/// other libraries (libacl, libselinux, older than trixie's glibc) work
/// with it.
const TRIXIE_TAR: &[&str] = &["tar", "libc6"];
/// Where an amd64 libc6 puts its libraries and loader.
const MULTIARCH_LIB: &str = "usr/lib/x86_64-linux-gnu";
const LOADER: &str = "ld-linux-x86-64.so.2";

/// The `tar` wrapper: trixie's tar through trixie's loader (`tree` is where
/// the packages are unpacked).
fn tar_wrapper(tree: &Path) -> String {
    let lib = tree.join(MULTIARCH_LIB);
    format!(
        "#!/bin/sh\n\
         # GNU tar of Debian trixie with its own C library (xtask packaging).\n\
         exec {loader} --library-path {lib}:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu \
         {tar} \"$@\"\n",
        loader = lib.join(LOADER).display(),
        lib = lib.display(),
        tar = tree.join("usr/bin/tar").display(),
    )
}

/// A directory to put first in PATH so that Buildroot finds a GNU tar it
/// accepts, or `None` when the host's already is. Otherwise Debian trixie's
/// tar and C library are fetched (through a private apt configuration) and
/// unpacked into `dir`, with a `tar` wrapper that runs the one with the
/// other (seconds, where building tar from source took minutes).
pub fn ensure_tar(dir: &Path) -> Result<Option<PathBuf>, String> {
    if acceptable_tar(Path::new("tar")) {
        return Ok(None);
    }
    let bin = dir.join("bin");
    if acceptable_tar(&bin.join("tar")) {
        return Ok(Some(bin));
    }
    if std::env::consts::ARCH != "x86_64" {
        return Err(format!(
            "the host's GNU tar is older than {}.{}, which Buildroot requires; install a newer one \
             (xtask fetches Debian trixie's only on x86_64)",
            TAR_MINIMUM.0, TAR_MINIMUM.1
        ));
    }
    println!(
        "packaging: the host's GNU tar is older than {}.{}, which Buildroot requires; \
         using Debian trixie's with its C library",
        TAR_MINIMUM.0, TAR_MINIMUM.1
    );
    let apt = PrivateApt::new(dir.join("apt"), &["amd64"], &["trixie"]);
    apt.update()?;
    let packages: Vec<Part> = TRIXIE_TAR.iter().map(|p| Part::whole(*p)).collect();
    let tree = dir.join("trixie");
    apt.unpack(&packages, &tree)?;
    PrivateApt::finish(&tree)?;
    fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let wrapper = bin.join("tar");
    fs::write(&wrapper, tar_wrapper(&tree)).map_err(|e| format!("{}: {e}", wrapper.display()))?;
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", wrapper.display()))?;
    if !acceptable_tar(&wrapper) {
        return Err(format!(
            "{} (Debian trixie's tar) does not run as GNU tar >= {}.{}",
            wrapper.display(),
            TAR_MINIMUM.0,
            TAR_MINIMUM.1
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

    #[test]
    fn the_tar_wrapper_runs_trixies_tar_with_its_loader() {
        let text = tar_wrapper(Path::new("/t"));
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.contains(
            "exec /t/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path \
             /t/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu \
             /t/usr/bin/tar \"$@\"\n"
        ));
    }
}
