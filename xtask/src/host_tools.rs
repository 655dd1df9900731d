//! Installing what the runs need on a fresh Debian machine: Debian packages
//! through apt-get, Rust targets, components and toolchains through rustup.
//! Everything is checked first; only what is missing is installed, and it is
//! printed before it happens.
use std::process::Command;

use crate::process;

/// Debian packages the VM runs and the module checks need.
pub const VM_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "linux-image-amd64",
    "linux-headers-amd64",
    "busybox-static",
    "cpio",
    "gzip",
    "make",
    "gcc",
    "perl",
    "file",
];
/// Extra packages for the kernel module quality checks (plus the kernel's
/// `linux-source-X.Y`, see `kernel::Kernel::source_package`).
pub const CHECK_PACKAGES: &[&str] = &["sparse", "xz-utils"];
/// Cross compilers for the ARM builds, and the armhf C library the static
/// armv7 gnueabihf programs link (only a recommendation of the compiler, so
/// `--no-install-recommends` leaves it out; the musl targets bring their own).
pub const CROSS_PACKAGES: &[&str] = &[
    "gcc-aarch64-linux-gnu",
    "gcc-arm-linux-gnueabihf",
    "libc6-dev-armhf-cross",
];

fn is_installed(package: &str) -> bool {
    // Quiet: dpkg-query complains on stderr about every package it does not know.
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim_end() == "install ok installed")
        .unwrap_or(false)
}

fn candidate_version(package: &str) -> Option<String> {
    let policy = process::output(Command::new("apt-cache").args(["policy", package])).ok()?;
    policy
        .lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))
        .map(|version| version.trim().to_owned())
        .filter(|version| version != "(none)")
}

fn installed_version(package: &str) -> Option<String> {
    process::output(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]))
        .ok()
        .map(|version| version.trim().to_owned())
        .filter(|version| !version.is_empty())
}

/// `apt-get` as root, through sudo when not root.
fn apt_get() -> Command {
    let root = process::output(Command::new("id").arg("-u"))
        .map(|uid| uid.trim() == "0")
        .unwrap_or(false);
    let mut command = if root {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "apt-get"]);
        sudo
    };
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// Installs the missing ones of `packages`.
pub fn ensure_packages(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !is_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("xtask: installing Debian packages: {}", missing.join(" "));
    process::run(apt_get().args(["update", "-q"]))?;
    let mut install = apt_get();
    install.args(["install", "-y", "-q", "--no-install-recommends"]);
    // On some images qemu-utils comes from backports at a newer version than
    // qemu-system-x86 accepts; pin it to the version qemu-system-x86 will get.
    if missing.contains(&"qemu-system-x86") {
        if let (Some(qemu), Some(utils)) = (
            candidate_version("qemu-system-x86"),
            installed_version("qemu-utils"),
        ) {
            if qemu != utils {
                println!("xtask: qemu-utils {utils} blocks qemu-system-x86 {qemu}; pinning it");
                install.arg("--allow-downgrades");
                install.arg(format!("qemu-utils={qemu}"));
            }
        }
    }
    install.args(&missing);
    process::run(&mut install)?;
    Ok(())
}

fn rustup_list(args: &[&str]) -> Result<Vec<String>, String> {
    let text = process::output(Command::new("rustup").args(args))?;
    Ok(text.lines().map(|line| line.trim().to_owned()).collect())
}

/// Installs the rustup target for `triple` on the default toolchain if missing.
pub fn ensure_rust_target(triple: &str) -> Result<(), String> {
    if rustup_list(&["target", "list", "--installed"])?
        .iter()
        .any(|t| t == triple)
    {
        return Ok(());
    }
    println!("xtask: installing Rust target {triple}");
    process::run(Command::new("rustup").args(["target", "add", triple]))?;
    Ok(())
}

/// Installs a rustup component (clippy, rustfmt) on the default toolchain if missing.
pub fn ensure_rust_component(component: &str) -> Result<(), String> {
    let installed = rustup_list(&["component", "list", "--installed"])?;
    if installed
        .iter()
        .any(|c| c == component || c.starts_with(&format!("{component}-")))
    {
        return Ok(());
    }
    println!("xtask: installing Rust component {component}");
    process::run(Command::new("rustup").args(["component", "add", component]))?;
    Ok(())
}

/// Installs a toolchain such as "1.75" (minimal profile) if missing.
pub fn ensure_rust_toolchain(version: &str) -> Result<(), String> {
    let installed = rustup_list(&["toolchain", "list"])?;
    if installed
        .iter()
        .any(|t| t.starts_with(&format!("{version}-")) || t == version)
    {
        return Ok(());
    }
    println!("xtask: installing Rust toolchain {version}");
    process::run(Command::new("rustup").args([
        "toolchain",
        "install",
        version,
        "--profile",
        "minimal",
    ]))?;
    Ok(())
}
