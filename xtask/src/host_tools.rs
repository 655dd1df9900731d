//! Installing what the runs need on a fresh Debian machine: Debian packages
//! through apt-get, Rust targets, components and toolchains through rustup.
//! Everything is checked first; only what is missing is installed, and it is
//! printed before it happens, removals above all.
//!
//! Another package manager may hold apt's locks (on a fresh machine
//! unattended-upgrades often does for many minutes): apt-get is then run
//! once the locks are free, waiting at most [`APT_LOCK_WAIT`] with a notice
//! saying who holds them, instead of failing at once.
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process;
use crate::progress::{self, Progress};

/// Debian packages the VM runs and the module checks need (the VM's static
/// busybox comes from [`ensure_static_busybox`]).
pub const VM_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "linux-image-amd64",
    "linux-headers-amd64",
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

/// The locks apt and dpkg take: the frontend lock (held by apt-get, apt,
/// unattended-upgrades for a whole run), dpkg's own, the package lists'
/// (`apt-get update`) and the download cache's.
pub const APT_LOCKS: &[&str] = &[
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/lock",
    "/var/lib/apt/lists/lock",
    "/var/cache/apt/archives/lock",
];
/// How long to wait for another package manager to finish.
pub const APT_LOCK_WAIT: Duration = Duration::from_secs(20 * 60);

/// `dpkg-query -W -f=FORMAT package`, quietly (dpkg-query complains on
/// stderr about every package it does not know); `None` if unknown.
fn dpkg_query(package: &str, format: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", &format!("-f={format}"), package])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn is_installed(package: &str) -> bool {
    dpkg_query(package, "${Status}").as_deref() == Some("install ok installed")
}

fn installed_version(package: &str) -> Option<String> {
    dpkg_query(package, "${Version}")
}

fn candidate_version(package: &str) -> Option<String> {
    let policy = process::output(Command::new("apt-cache").args(["policy", package])).ok()?;
    policy
        .lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))
        .map(|version| version.trim().to_owned())
        .filter(|version| version != "(none)")
}

fn is_root() -> bool {
    process::output(Command::new("id").arg("-u"))
        .map(|uid| uid.trim() == "0")
        .unwrap_or(false)
}

/// `apt-get` as root, through sudo when not root.
fn apt_get() -> Command {
    let mut command = if is_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "apt-get"]);
        sudo
    };
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// A process holding one of the locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub lock: PathBuf,
    /// `None` when the kernel does not say (an open-file-description lock,
    /// or a process of another pid namespace).
    pub pid: Option<u32>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is held by ", self.lock.display())?;
        let Some(pid) = self.pid else {
            return f.write_str("another process");
        };
        match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            Ok(name) => write!(f, "process {pid} ({})", name.trim()),
            Err(_) => write!(f, "process {pid}"),
        }
    }
}

/// The `major:minor:inode` under which `/proc/locks` names the file at `path`.
fn lock_key(path: &Path) -> Option<(u64, u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let dev = meta.dev();
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    Some((major, minor, meta.ino()))
}

/// The holders that `/proc/locks` (text `locks`) lists for the files `keys`
/// (paths with their `lock_key`). Every kind counts: apt and dpkg take
/// `fcntl` (POSIX) locks, other tools `flock` or open-file-description ones.
/// Waiters (`->` lines) hold nothing.
fn holders_in(locks: &str, keys: &[(PathBuf, (u64, u64, u64))]) -> Vec<LockHolder> {
    let mut holders = Vec::new();
    for line in locks.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(1) == Some(&"->") || words.len() < 6 {
            continue;
        }
        let mut id = words[5].split(':');
        let (Some(major), Some(minor), Some(inode)) = (id.next(), id.next(), id.next()) else {
            continue;
        };
        let (Ok(major), Ok(minor), Ok(inode)) = (
            u64::from_str_radix(major, 16),
            u64::from_str_radix(minor, 16),
            inode.parse::<u64>(),
        ) else {
            continue;
        };
        for (path, key) in keys {
            if *key == (major, minor, inode) {
                let pid = words[4].parse().ok().filter(|pid| *pid > 0);
                let holder = LockHolder {
                    lock: path.clone(),
                    pid,
                };
                if !holders.contains(&holder) {
                    holders.push(holder);
                }
            }
        }
    }
    holders
}

/// Who holds any of the `locks` right now (asked of the kernel, without
/// taking them: taking one even briefly could fail a starting apt run).
pub fn lock_holders(locks: &[&Path]) -> Vec<LockHolder> {
    let keys: Vec<(PathBuf, (u64, u64, u64))> = locks
        .iter()
        .filter_map(|path| Some((path.to_path_buf(), lock_key(path)?)))
        .collect();
    if keys.is_empty() {
        return Vec::new();
    }
    let text = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    holders_in(&text, &keys)
}

/// Waits until none of `locks` is held, at most `limit`, saying so when it
/// has to wait and reporting progress while it does. Returns how long it
/// waited; `Err` names the holder when the limit passed.
pub fn wait_for_locks(locks: &[&Path], limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut holders = lock_holders(locks);
    if holders.is_empty() {
        return Ok(Duration::ZERO);
    }
    println!(
        "xtask: another package manager is busy: {}; waiting for it to finish (at most {})",
        holders[0],
        progress::format_elapsed(limit)
    );
    let mut progress = Progress::start("waiting for the package manager's lock");
    while !holders.is_empty() {
        if started.elapsed() >= limit {
            return Err(format!(
                "gave up after {}: {}. Let it finish (or find out what it is \
                 doing), then run this again",
                progress::format_elapsed(limit),
                holders[0]
            ));
        }
        progress.set_detail(holders[0].to_string());
        progress.tick();
        std::thread::sleep(Duration::from_millis(500));
        holders = lock_holders(locks);
    }
    drop(progress);
    let waited = started.elapsed();
    println!(
        "xtask: the package manager's lock is free after {}",
        progress::format_elapsed(waited)
    );
    Ok(waited)
}

/// Runs `apt-get ARGS` as root once apt's locks are free, within
/// [`APT_LOCK_WAIT`] in all. apt's own `DPkg::Lock::Timeout` covers a lock
/// taken between the check and apt-get's start (it does not cover the
/// lists' lock of `apt-get update`, hence the retry).
fn apt_get_locked(args: &[&str]) -> Result<(), String> {
    let locks: Vec<&Path> = APT_LOCKS.iter().map(Path::new).collect();
    let started = Instant::now();
    loop {
        wait_for_locks(&locks, APT_LOCK_WAIT.saturating_sub(started.elapsed()))?;
        let remaining = APT_LOCK_WAIT.saturating_sub(started.elapsed()).as_secs();
        let mut command = apt_get();
        command
            .arg("-o")
            .arg(format!("DPkg::Lock::Timeout={remaining}"))
            .args(args);
        let output = process::capture(&mut command, true)?;
        if output.success {
            return Ok(());
        }
        let lock_taken = output
            .lines
            .iter()
            .any(|line| line.contains("Could not get lock") || line.contains("Unable to lock"));
        if !lock_taken || started.elapsed() >= APT_LOCK_WAIT {
            return Err(format!(
                "apt-get {} failed ({})",
                args.join(" "),
                output.status
            ));
        }
        println!("xtask: another package manager took the lock first; waiting again");
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The packages that installing `packages` would remove (from `apt-get
/// --simulate`'s `Remv NAME [VERSION]` lines).
fn planned_removals(simulation: &str) -> Vec<String> {
    simulation
        .lines()
        .filter_map(|line| line.strip_prefix("Remv "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The `apt-get` arguments that simulate the install `install` (its
/// arguments, the `install` command first).
fn simulation_args(install: &[String]) -> Vec<String> {
    let mut args = vec!["--simulate".to_owned()];
    args.extend_from_slice(install);
    args
}

/// Installs the missing ones of `packages`. If apt must remove a package
/// to do it, that is printed before anything happens.
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
    apt_get_locked(&["update", "-q"])?;
    // The archives are not kept in apt's cache once installed: the packages
    // a run installs are about a gigabyte of .debs (the kernel's source
    // alone is 150 MB), on the disk the run needs for its own work.
    let mut install: Vec<String> = [
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        "APT::Keep-Downloaded-Packages=false",
    ]
    .map(String::from)
    .to_vec();
    // On some images qemu-utils comes from backports at a newer version than
    // qemu-system-x86 accepts; pin it to the version qemu-system-x86 will get.
    if missing.contains(&"qemu-system-x86") {
        if let (Some(qemu), Some(utils)) = (
            candidate_version("qemu-system-x86"),
            installed_version("qemu-utils"),
        ) {
            if qemu != utils {
                println!("xtask: qemu-utils {utils} blocks qemu-system-x86 {qemu}; pinning it");
                install.push("--allow-downgrades".into());
                install.push(format!("qemu-utils={qemu}"));
            }
        }
    }
    install.extend(missing.iter().map(|package| (*package).to_owned()));
    let mut simulate = Command::new("apt-get");
    simulate.args(simulation_args(&install));
    let removals = planned_removals(&process::output(&mut simulate).unwrap_or_default());
    if !removals.is_empty() {
        println!(
            "xtask: NOTE: to install {}, apt-get will REMOVE these packages: {}",
            missing.join(" "),
            removals.join(" ")
        );
    }
    let install: Vec<&str> = install.iter().map(String::as_str).collect();
    apt_get_locked(&install)
}

/// The static busybox the x86_64 VM's user space is made of; recorded for
/// `initramfs::host_busybox`. The host's own when it is static; when the
/// host has Debian's dynamic `busybox`, installing `busybox-static` would
/// remove it, so the package is unpacked into `xtask_dir` instead.
pub fn ensure_static_busybox(xtask_dir: &Path) -> Result<PathBuf, String> {
    let host = Path::new(crate::initramfs::HOST_BUSYBOX);
    let path = if is_static_file(host) {
        host.to_owned()
    } else if is_installed("busybox") && !is_installed("busybox-static") {
        unpacked_busybox_static(&xtask_dir.join("busybox-static"))?
    } else {
        ensure_packages(&["busybox-static"])?;
        host.to_owned()
    };
    crate::initramfs::use_host_busybox(&path);
    Ok(path)
}

fn is_static_file(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .is_some_and(|bytes| crate::elf::is_static(&bytes) == Ok(true))
}

/// `busybox-static` downloaded and unpacked into `dir` (once), leaving the
/// installed `busybox` alone.
fn unpacked_busybox_static(dir: &Path) -> Result<PathBuf, String> {
    let busybox = dir.join("root/bin/busybox");
    if is_static_file(&busybox) {
        return Ok(busybox);
    }
    println!(
        "xtask: the installed busybox is not static, and installing busybox-static \
         would remove it; unpacking busybox-static into {} instead",
        dir.display()
    );
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let download = || {
        let mut command = Command::new("apt-get");
        // As root, apt downloads as the unprivileged _apt user, which
        // cannot write into the target directory.
        command
            .args([
                "-q",
                "-o",
                "APT::Sandbox::User=root",
                "download",
                "busybox-static",
            ])
            .current_dir(dir);
        process::capture(&mut command, false).map(|output| output.success)
    };
    if !download()? {
        // The host's package lists may be missing or stale.
        apt_get_locked(&["update", "-q"])?;
        if !download()? {
            return Err("apt-get download busybox-static failed".into());
        }
    }
    let deb = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("busybox-static_") && name.ends_with(".deb")
        })
        .ok_or("apt-get download busybox-static left no .deb")?;
    process::run(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(dir.join("root")),
    )?;
    if !is_static_file(&busybox) {
        return Err(format!("{} is not a static busybox", busybox.display()));
    }
    Ok(busybox)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Child;

    /// A fresh directory for fake lock files.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Waits until `child` (which takes the lock first thing) holds `lock`.
    fn until_held(lock: &Path, child: &mut Child) {
        let started = Instant::now();
        while lock_holders(&[lock]).is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the lock holder exited"
            );
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "lock never taken"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn proc_locks_lines_name_the_holders() {
        let lock = PathBuf::from("/var/lib/dpkg/lock-frontend");
        let keys = [(lock.clone(), (0xfe, 0, 5546685))];
        let text = "1: POSIX  ADVISORY  WRITE 4242 fe:00:5546685 0 EOF\n\
                    1: -> POSIX  ADVISORY  WRITE 4343 fe:00:5546685 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 77 fe:00:10011153 0 EOF\n\
                    3: OFDLCK ADVISORY  WRITE -1 fe:00:5546685 0 EOF\n";
        assert_eq!(
            holders_in(text, &keys),
            [
                LockHolder {
                    lock: lock.clone(),
                    pid: Some(4242)
                },
                LockHolder { lock, pid: None },
            ]
        );
    }

    /// A fake lock file in a fresh directory, held by `flock` (util-linux)
    /// for `seconds`.
    fn held_flock(name: &str, seconds: &str) -> (PathBuf, PathBuf, Child) {
        let dir = scratch(name);
        let lock = dir.join("lock-frontend");
        std::fs::write(&lock, b"").unwrap();
        assert_eq!(
            wait_for_locks(&[&lock], Duration::from_secs(1)),
            Ok(Duration::ZERO),
            "a free lock needs no wait"
        );
        let mut holder = Command::new("flock")
            .arg(&lock)
            .args(["sleep", seconds])
            .spawn()
            .expect("flock (util-linux)");
        until_held(&lock, &mut holder);
        (dir, lock, holder)
    }

    #[test]
    fn waiting_ends_when_a_held_flock_is_released() {
        let (dir, lock, mut holder) = held_flock("flock-wait", "2");
        let holders = lock_holders(&[&lock]);
        assert_eq!(holders[0].pid, Some(holder.id()));
        assert!(holders[0].to_string().contains("(flock)"), "{}", holders[0]);
        let waited = wait_for_locks(&[&lock], Duration::from_secs(30)).unwrap();
        assert!(waited >= Duration::from_millis(500), "waited {waited:?}");
        holder.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn waiting_is_bounded_and_names_the_holder() {
        let (dir, lock, mut holder) = held_flock("flock-bound", "3");
        let started = Instant::now();
        let error = wait_for_locks(&[&lock], Duration::from_secs(1)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(
            error.starts_with("gave up after 1s: ")
                && error.contains(&format!(
                    "{} is held by process {}",
                    lock.display(),
                    holder.id()
                )),
            "{error}"
        );
        holder.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_fcntl_lock_like_apts_is_seen() {
        // apt and dpkg lock with fcntl(F_SETLK), not flock: hold one the
        // same way (perl is Essential in Debian; struct flock of x86_64).
        let dir = scratch("fcntl");
        let lock = dir.join("lock");
        std::fs::write(&lock, b"").unwrap();
        let mut holder = Command::new("perl")
            .args([
                "-MFcntl",
                "-e",
                "open(my $f, '+<', $ARGV[0]) or die; \
                 my $l = pack('s s x4 q q i x4', F_WRLCK, 0, 0, 0, 0); \
                 fcntl($f, F_SETLK, $l) or die \"fcntl: $!\"; \
                 sleep 2",
            ])
            .arg(&lock)
            .spawn()
            .expect("perl");
        until_held(&lock, &mut holder);
        assert_eq!(lock_holders(&[&lock])[0].pid, Some(holder.id()));
        holder.wait().unwrap();
        assert!(lock_holders(&[&lock]).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn removals_are_read_from_the_simulation() {
        let simulation = "NOTE: This is only a simulation!\n\
                          Remv busybox [1:1.35.0-4+b3]\n\
                          Inst busybox-static (1:1.35.0-4+b3 Debian:12/stable [amd64])\n\
                          Conf busybox-static (1:1.35.0-4+b3 Debian:12/stable [amd64])\n";
        assert_eq!(planned_removals(simulation), ["busybox"]);
        // The simulation keeps the install command: without it apt-get
        // refuses `--simulate` and nothing is simulated.
        let install = ["install", "-y", "cpio"].map(String::from);
        assert_eq!(
            simulation_args(&install),
            ["--simulate", "install", "-y", "cpio"]
        );
        assert!(planned_removals("Inst cpio (2.13)\n").is_empty());
    }
}
