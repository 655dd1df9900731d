//! OpenWrt's ubus for the benchmark's baseline: libubox, libubus and ubusd
//! built from the vendored upstream snapshots (`../shared/vendor/`, see its
//! README) under `target/xtask/ubus/`, and `bench/ubus/ubus-perf.c` linked
//! statically against them. Built once; a changed `ubus-perf.c` is rebuilt.
//!
//! Static with glibc, not musl: libubox needs json-c, which Debian ships as
//! a glibc static library (`libjson-c-dev`). ubusd looks clients up with
//! getpwuid()/getgrgid(), which static glibc answers from /etc/passwd and
//! /etc/group (ipcon-perf writes them in the VM).
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host_tools;
use crate::process;
use crate::workspace::Workspace;

/// What the build needs on the host.
const PACKAGES: &[&str] = &["cmake", "pkg-config", "libjson-c-dev", "gcc", "xz-utils"];
const LIBUBOX: &str = "openwrt-libubox.tar.xz";
const UBUS: &str = "openwrt-ubus.tar.xz";

/// The two programs the VM runs: (ubusd, ubus-perf).
pub struct UbusBinaries {
    pub ubusd: PathBuf,
    pub perf: PathBuf,
}

/// Where the vendored snapshots are: `IPCON_VENDOR_DIR`, or
/// `../shared/vendor` seen from the repository's root.
fn vendor_dir(workspace: &Workspace) -> PathBuf {
    std::env::var_os("IPCON_VENDOR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.root.join("../shared/vendor"))
}

fn unpack(tarball: &Path, into: &Path) -> Result<(), String> {
    std::fs::create_dir_all(into).map_err(|e| format!("{}: {e}", into.display()))?;
    process::run(
        Command::new("tar")
            .arg("-xJf")
            .arg(tarball)
            .arg("-C")
            .arg(into),
    )?;
    Ok(())
}

fn cmake_build(
    source: &Path,
    build: &Path,
    defines: &[String],
    targets: &[&str],
) -> Result<(), String> {
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(source)
        .arg("-B")
        .arg(build)
        .args([
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBUILD_LUA=OFF",
            "-DBUILD_EXAMPLES=OFF",
        ])
        .args(defines);
    process::run(&mut configure)?;
    let mut make = Command::new("make");
    make.arg("-C").arg(build).arg("-j2").args(targets);
    process::run(&mut make)?;
    Ok(())
}

/// Builds what is missing and returns the two programs.
pub fn build(workspace: &Workspace) -> Result<UbusBinaries, String> {
    let vendor = vendor_dir(workspace);
    let (libubox_tar, ubus_tar) = (vendor.join(LIBUBOX), vendor.join(UBUS));
    for tarball in [&libubox_tar, &ubus_tar] {
        if !tarball.exists() {
            return Err(format!("{} is missing", tarball.display()));
        }
    }
    host_tools::ensure_packages(PACKAGES)?;
    let dir = workspace.xtask_dir().join("ubus");
    let ubusd = dir.join("build-ubus/ubusd");
    let (libubox_a, blobmsg_a) = (
        dir.join("build-libubox/libubox.a"),
        dir.join("build-libubox/libblobmsg_json.a"),
    );
    let libubus_a = dir.join("build-ubus/libubus.a");
    let json_a = PathBuf::from("/usr/lib/x86_64-linux-gnu/libjson-c.a");
    let include = dir.join("include");
    if !ubusd.exists() || !libubus_a.exists() {
        println!("xtask: building OpenWrt's libubox, libubus and ubusd (once)");
        let source = dir.join("src");
        let _ = std::fs::remove_dir_all(&dir);
        unpack(&libubox_tar, &source)?;
        unpack(&ubus_tar, &source)?;
        cmake_build(
            &source.join("libubox"),
            &dir.join("build-libubox"),
            &[],
            &["ubox-static", "blobmsg_json-static"],
        )?;
        // libubus includes <libubox/...>: the headers as installed.
        let headers = include.join("libubox");
        std::fs::create_dir_all(&headers).map_err(|e| format!("{}: {e}", headers.display()))?;
        for entry in std::fs::read_dir(source.join("libubox")).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|ext| ext == "h") {
                let name = path.file_name().expect("a file");
                std::fs::copy(&path, headers.join(name)).map_err(|e| e.to_string())?;
            }
        }
        cmake_build(
            &source.join("ubus"),
            &dir.join("build-ubus"),
            &[
                "-DBUILD_STATIC=ON".into(),
                format!("-DCMAKE_C_FLAGS=-I{}", include.display()),
                "-DCMAKE_EXE_LINKER_FLAGS=-static".into(),
                format!("-Dubox_include_dir={}", include.display()),
                format!("-Dubox_library={}", libubox_a.display()),
                format!("-Dblob_library={}", blobmsg_a.display()),
                format!("-Djson={}", json_a.display()),
            ],
            &["ubus", "ubusd"],
        )?;
    }
    let perf = dir.join("ubus-perf");
    let program = workspace.root.join("bench/ubus/ubus-perf.c");
    if crate::dbus::stale(
        &perf,
        &[&program, &workspace.root.join(crate::dbus::ROLE_HEADER)],
    ) {
        let mut gcc = Command::new("gcc");
        gcc.args(["-O2", "-Wall", "-Wextra", "-Werror", "-static", "-o"])
            .arg(&perf)
            .arg("-I")
            .arg(&include)
            .arg("-I")
            .arg(dir.join("src/ubus"))
            .arg(&program)
            .arg(&libubus_a)
            .arg(&libubox_a);
        process::run(&mut gcc)?;
    }
    Ok(UbusBinaries { ubusd, perf })
}
