//! D-Bus for the benchmark's baseline: Debian's `dbus-daemon` (the
//! reference bus) and `bench/dbus/dbus-perf.c` built against Debian's
//! libdbus-1, with the bus configuration and every shared library the two
//! need, for the VM. Built once; a changed `dbus-perf.c` is rebuilt.
//!
//! Both programs are dynamically linked, as Debian ships them: the
//! initramfs takes only static executables as such, so they go in as plain
//! files under `/usr/libexec/ipcon-perf/` (ipcon-perf makes them and the
//! loader executable before it starts the daemon), their libraries where
//! glibc's loader looks (`/lib/x86_64-linux-gnu`), found with `ldd` on the
//! host.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host_tools;
use crate::initramfs::GuestFile;
use crate::process;
use crate::workspace::Workspace;

/// What the build and the VM need on the host.
const PACKAGES: &[&str] = &["dbus-daemon", "libdbus-1-dev", "pkg-config", "gcc"];
/// Debian's reference bus daemon.
const HOST_DAEMON: &str = "/usr/bin/dbus-daemon";
/// Where the VM's copies go (ipcon-perf's `dbus` module looks there).
const GUEST_DIR: &str = "/usr/libexec/ipcon-perf";
const GUEST_CONFIG: &str = "/etc/ipcon-perf/bench-bus.conf";
const GUEST_LIB_DIR: &str = "/lib/x86_64-linux-gnu";

/// The files the VM needs for the D-Bus baseline, or why there are none.
pub fn guest_files(workspace: &Workspace) -> Result<Vec<GuestFile>, String> {
    host_tools::ensure_packages(PACKAGES)?;
    let perf = build_perf(workspace)?;
    let daemon = PathBuf::from(HOST_DAEMON);
    let plain = |host: PathBuf, guest: String| GuestFile {
        host,
        guest,
        mode: 0o644,
    };
    let mut files = vec![
        plain(perf.clone(), format!("{GUEST_DIR}/dbus-perf")),
        plain(daemon.clone(), format!("{GUEST_DIR}/dbus-daemon")),
        plain(
            workspace.root.join("bench/dbus/bench-bus.conf"),
            GUEST_CONFIG.to_owned(),
        ),
    ];
    let mut libraries = shared_libraries(&perf)?;
    for library in shared_libraries(&daemon)? {
        if !libraries.contains(&library) {
            libraries.push(library);
        }
    }
    for (guest, host) in libraries {
        let resolved =
            std::fs::canonicalize(&host).map_err(|e| format!("{}: {e}", host.display()))?;
        files.push(plain(resolved, guest));
    }
    Ok(files)
}

/// What the C programs of the baselines share (`bench/ubus/ubus-perf.c`
/// and `bench/dbus/dbus-perf.c` include it).
pub const ROLE_HEADER: &str = "bench/perf-role.h";

/// Whether `built` is missing or older than one of its `sources`.
pub fn stale(built: &Path, sources: &[&Path]) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = modified(built) else {
        return true;
    };
    sources
        .iter()
        .any(|source| modified(source).map_or(true, |source| built < source))
}

/// `bench/dbus/dbus-perf.c` against libdbus-1, under `target/xtask/dbus/`.
fn build_perf(workspace: &Workspace) -> Result<PathBuf, String> {
    let dir = workspace.xtask_dir().join("dbus");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let perf = dir.join("dbus-perf");
    let program = workspace.root.join("bench/dbus/dbus-perf.c");
    if stale(&perf, &[&program, &workspace.root.join(ROLE_HEADER)]) {
        let flags =
            process::output(Command::new("pkg-config").args(["--cflags", "--libs", "dbus-1"]))
                .map_err(|e| format!("pkg-config dbus-1: {e}"))?;
        let mut gcc = Command::new("gcc");
        gcc.args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&perf)
            .arg(&program)
            .args(flags.split_whitespace());
        process::run(&mut gcc)?;
    }
    Ok(perf)
}

/// The shared libraries `program` loads, as (path in the VM, path on the
/// host): what `ldd` resolves, the loader under the name the program asks
/// for, every other library under its name in [`GUEST_LIB_DIR`].
fn shared_libraries(program: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let text = process::output(Command::new("ldd").arg(program))
        .map_err(|e| format!("ldd {}: {e}", program.display()))?;
    parse_ldd(&text).map_err(|e| format!("ldd {}: {e}", program.display()))
}

fn parse_ldd(text: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let mut libraries = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let entry = match line.split_once(" => ") {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
            Some((name, rest)) => {
                let host = rest.split_whitespace().next().unwrap_or_default();
                if !host.starts_with('/') {
                    return Err(format!("{name} is not found ({line})"));
                }
                (format!("{GUEST_LIB_DIR}/{name}"), PathBuf::from(host))
            }
            // "linux-vdso.so.1 (0x...)": the kernel's; "/lib64/ld-... (0x...)".
            None => {
                let path = line.split_whitespace().next().unwrap_or_default();
                if !path.starts_with('/') {
                    continue;
                }
                (path.to_owned(), PathBuf::from(path))
            }
        };
        libraries.push(entry);
    }
    if !libraries
        .iter()
        .any(|(guest, _)| guest.contains("ld-linux"))
    {
        return Err("no loader in ldd's output".into());
    }
    Ok(libraries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_lines_become_guest_paths() {
        let text = "\tlinux-vdso.so.1 (0x00007ffc)\n\
                    \tlibdbus-1.so.3 => /lib/x86_64-linux-gnu/libdbus-1.so.3 (0x00007f11)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f12)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f13)\n";
        let libraries = parse_ldd(text).unwrap();
        assert_eq!(
            libraries,
            [
                (
                    "/lib/x86_64-linux-gnu/libdbus-1.so.3".to_owned(),
                    PathBuf::from("/lib/x86_64-linux-gnu/libdbus-1.so.3")
                ),
                (
                    "/lib/x86_64-linux-gnu/libc.so.6".to_owned(),
                    PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6")
                ),
                (
                    "/lib64/ld-linux-x86-64.so.2".to_owned(),
                    PathBuf::from("/lib64/ld-linux-x86-64.so.2")
                ),
            ]
        );
    }

    #[test]
    fn a_missing_library_or_loader_is_an_error() {
        let missing = "\tlibgone.so.1 => not found\n\t/lib64/ld-linux-x86-64.so.2 (0x1)\n";
        assert!(parse_ldd(missing).unwrap_err().contains("libgone.so.1"));
        assert!(parse_ldd("\tlinux-vdso.so.1 (0x1)\n").is_err());
    }
}
