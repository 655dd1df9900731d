//! Building out-of-tree kernel modules against the VM kernel's headers, and
//! the module quality checks (W=1, sparse, checkpatch --strict).
//!
//! Sources are mirrored into the target directory and built there, so kbuild
//! output never lands in the source tree and a build run by the harness never
//! races one the kernel engineer runs by hand in `kmod/`.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kernel::Kernel;
use crate::process;
use crate::workspace::Workspace;

/// Whether `dir` holds a kbuild module (a `Kbuild` or a `Makefile`).
pub fn has_module(dir: &Path) -> bool {
    dir.join("Kbuild").is_file() || dir.join("Makefile").is_file()
}

fn is_build_product(name: &str) -> bool {
    name.starts_with('.')
        || [".o", ".ko", ".mod", ".mod.c", ".symvers", ".order", ".a"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Copies the sources of `from` into `to`, rewriting only files whose content
/// changed, so kbuild's timestamps keep the build incremental.
pub fn mirror_sources(from: &Path, to: &Path) -> Result<(), String> {
    let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io(from, e))? {
        let entry = entry.map_err(|e| io(from, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_build_product(&name) {
            continue;
        }
        let source = entry.path();
        let destination = to.join(&name);
        if source.is_dir() {
            mirror_sources(&source, &destination)?;
        } else if source.is_file() {
            let data = std::fs::read(&source).map_err(|e| io(&source, e))?;
            if std::fs::read(&destination).ok().as_deref() != Some(&data[..]) {
                std::fs::write(&destination, &data).map_err(|e| io(&destination, e))?;
            }
        }
    }
    Ok(())
}

/// A module build: the directory it happened in and kbuild's output.
#[derive(Debug)]
pub struct ModuleBuild {
    pub dir: PathBuf,
    pub output: process::Captured,
}

impl ModuleBuild {
    /// The built `<name>.ko`.
    pub fn module(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.ko"))
    }

    /// Compiler and sparse diagnostics in the output.
    pub fn diagnostics(&self) -> Vec<&str> {
        self.output
            .lines
            .iter()
            .map(String::as_str)
            .filter(|line| line.contains("warning:") || line.contains("error:"))
            .collect()
    }
}

/// Builds the module in `source` (mirrored to `<target>/xtask/kmod/<label>`)
/// against `kernel`; `extra` adds make variables such as `W=1`.
pub fn build(
    workspace: &Workspace,
    kernel: &Kernel,
    source: &Path,
    label: &str,
    extra: &[&str],
) -> Result<ModuleBuild, String> {
    let dir = workspace.xtask_dir().join("kmod").join(label);
    mirror_sources(source, &dir)?;
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(&kernel.build_dir)
        .arg(format!("M={}", dir.display()))
        .arg("-j2")
        .args(&kernel.make_vars)
        // No BTF for the module: Debian's 6.12 headers ship a vmlinux, so
        // kbuild would run pahole (package dwarves, not otherwise needed)
        // to add type information that only BPF tracing of the module uses.
        .arg("CONFIG_DEBUG_INFO_BTF_MODULES=")
        .args(extra)
        .arg("modules");
    let output = process::capture(&mut make, false)?;
    if !output.success {
        for line in output.tail(60) {
            println!("  | {line}");
        }
        return Err(format!(
            "building the module in {} failed ({})",
            source.display(),
            output.status
        ));
    }
    Ok(ModuleBuild { dir, output })
}

/// Builds `kmod/` for the VM and returns `ipcon.ko`.
pub fn build_ipcon(workspace: &Workspace, kernel: &Kernel) -> Result<PathBuf, String> {
    build_one(workspace, kernel, &workspace.root.join("kmod"), "ipcon")
}

/// Builds the benchmark's generic netlink floor (`bench/floor`, not part of
/// ipcon); returns its `ipcon_floor.ko`.
pub fn build_floor(workspace: &Workspace, kernel: &Kernel) -> Result<PathBuf, String> {
    build_one(
        workspace,
        kernel,
        &workspace.root.join("bench").join("floor"),
        "ipcon_floor",
    )
}

/// Builds the module `name` of `source` against `kernel`, in a directory of
/// its own per kernel (the matrix builds for several); returns `<name>.ko`.
fn build_one(
    workspace: &Workspace,
    kernel: &Kernel,
    source: &Path,
    name: &str,
) -> Result<PathBuf, String> {
    let label = format!("{name}-{}", kernel.release);
    let module = build(workspace, kernel, source, &label, &[])?.module(name);
    if !module.is_file() {
        return Err(format!("kbuild did not produce {}", module.display()));
    }
    Ok(module)
}

/// Builds `kmod/` with the next protocol version in its uapi header, for the
/// e2e test that user space refuses a module of another version; returns that
/// `ipcon.ko` (named `ipcon` inside, like the real one).
pub fn build_ipcon_version_skew(workspace: &Workspace, kernel: &Kernel) -> Result<PathBuf, String> {
    const DEFINE: &str = "#define IPCON_FAMILY_VERSION\t";
    // One source copy per kernel: the matrix builds for several kernels in
    // parallel threads, and a shared copy had one thread mirror the original
    // header over the skewed one while another's kbuild read it.
    let source = workspace
        .xtask_dir()
        .join("kmod-skew-source")
        .join(&kernel.release);
    mirror_sources(&workspace.root.join("kmod"), &source)?;
    let header = source.join("uapi/ipcon.h");
    let text =
        std::fs::read_to_string(&header).map_err(|e| format!("{}: {e}", header.display()))?;
    let skewed = bump_family_version(&text)
        .ok_or_else(|| format!("{}: no `{}N` line", header.display(), DEFINE.trim_end()))?;
    if skewed != text {
        std::fs::write(&header, skewed).map_err(|e| format!("{}: {e}", header.display()))?;
    }
    let label = format!("ipcon-skew-{}", kernel.release);
    let module = build(workspace, kernel, &source, &label, &[])?.module("ipcon");
    if !module.is_file() {
        return Err(format!("kbuild did not produce {}", module.display()));
    }
    Ok(module)
}

/// Where the e2e suite finds the module of the next version.
pub fn version_skew_guest_file(module: PathBuf) -> crate::initramfs::GuestFile {
    crate::initramfs::GuestFile {
        host: module,
        guest: "/lib/modules/ipcon-skew.ko".into(),
        mode: 0o644,
    }
}

/// The uapi header with `IPCON_FAMILY_VERSION` one higher; `None` without it.
fn bump_family_version(header: &str) -> Option<String> {
    let mut found = false;
    let lines: Vec<String> = header
        .lines()
        .map(|line| {
            let Some(rest) = line.strip_prefix("#define IPCON_FAMILY_VERSION") else {
                return line.to_owned();
            };
            match rest.trim().parse::<u32>() {
                Ok(version) => {
                    found = true;
                    line.replace(rest.trim(), &(version + 1).to_string())
                }
                Err(_) => line.to_owned(),
            }
        })
        .collect();
    found.then(|| lines.join("\n") + "\n")
}

/// What a from-scratch `W=1` build with sparse on every file (`C=2`) reported.
#[derive(Debug)]
pub struct WarningScan {
    /// Files sparse looked at.
    pub checked: usize,
    /// Compiler and sparse diagnostics.
    pub diagnostics: Vec<String>,
}

/// Builds `source` from scratch with `W=1 C=2` in `<target>/xtask/kmod/<label>`.
pub fn scan_warnings(
    workspace: &Workspace,
    kernel: &Kernel,
    source: &Path,
    label: &str,
) -> Result<WarningScan, String> {
    // From scratch: an up-to-date object would not be recompiled and its
    // compiler warnings would go unseen.
    let dir = workspace.xtask_dir().join("kmod").join(label);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let build = build(workspace, kernel, source, label, &["W=1", "C=2"])?;
    // kbuild prints "  CHECK   <file>" for each file sparse looked at.
    let checked = build
        .output
        .lines
        .iter()
        .filter(|line| line.trim_start().starts_with("CHECK "))
        .count();
    let diagnostics = build.diagnostics().into_iter().map(str::to_owned).collect();
    Ok(WarningScan {
        checked,
        diagnostics,
    })
}

/// `W=1` + sparse over `kmod/`: any diagnostic fails. Returns the summary line.
pub fn check_warnings(workspace: &Workspace, kernel: &Kernel) -> Result<String, String> {
    let source = workspace.root.join("kmod");
    let scan = scan_warnings(workspace, kernel, &source, "ipcon-w1")?;
    for line in &scan.diagnostics {
        println!("  | {line}");
    }
    // None checked means sparse silently did not run; "clean" would be a lie.
    if scan.checked == 0 {
        return Err("kmod W=1 + sparse: sparse checked no file".into());
    }
    let summary = format!(
        "kmod W=1 + sparse: {} files checked, {} diagnostics",
        scan.checked,
        scan.diagnostics.len()
    );
    if scan.diagnostics.is_empty() {
        Ok(summary)
    } else {
        Err(summary)
    }
}

/// checkpatch.pl and its data files, taken from the kernel source tarball once.
fn checkpatch(workspace: &Workspace, kernel: &Kernel) -> Result<PathBuf, String> {
    let tarball = kernel.source_tarball();
    const MEMBERS: &[&str] = &[
        "scripts/checkpatch.pl",
        "scripts/spelling.txt",
        "scripts/const_structs.checkpatch",
    ];
    let dir = workspace.xtask_dir().join("checkpatch");
    let script = dir.join("scripts/checkpatch.pl");
    if script.is_file() {
        return Ok(script);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    println!(
        "xtask: extracting checkpatch.pl from {} (once)",
        tarball.display()
    );
    let mut tar = Command::new("tar");
    tar.arg("-xJf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg("--strip-components=1")
        .arg("--wildcards");
    for member in MEMBERS {
        tar.arg(format!("*/{member}"));
    }
    process::run(&mut tar)?;
    if !script.is_file() {
        return Err(format!("{} holds no checkpatch.pl", tarball.display()));
    }
    Ok(script)
}

/// The C files and headers of `dir` itself (not of its subdirectories).
fn c_sources(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.to_string_lossy();
        if path.is_file()
            && (name.ends_with(".c") || name.ends_with(".h"))
            && !name.ends_with(".mod.c")
        {
            found.push(path);
        }
    }
    Ok(())
}

/// `checkpatch.pl --strict` over the module's C files and headers (`kmod/`
/// and `kmod/uapi/`; user-space C elsewhere follows other rules, e.g. there
/// is no ARRAY_SIZE outside the kernel).
pub fn check_style(workspace: &Workspace, kernel: &Kernel) -> Result<String, String> {
    let script = checkpatch(workspace, kernel)?;
    let mut sources = Vec::new();
    let kmod = workspace.root.join("kmod");
    c_sources(&kmod, &mut sources)?;
    if kmod.join("uapi").is_dir() {
        c_sources(&kmod.join("uapi"), &mut sources)?;
    }
    sources.sort();
    let mut perl = Command::new("perl");
    perl.arg(&script)
        .args(["--strict", "--no-tree", "--terse", "--show-types", "-f"])
        .args(&sources)
        .current_dir(&workspace.root);
    let output = process::capture(&mut perl, false)?;
    let findings: Vec<&String> = output
        .lines
        .iter()
        .filter(|line| {
            line.contains(": ERROR:") || line.contains(": WARNING:") || line.contains(": CHECK:")
        })
        .collect();
    for line in &findings {
        println!("  | {line}");
    }
    let summary = format!(
        "checkpatch --strict: {} files, {} findings",
        sources.len(),
        findings.len()
    );
    if findings.is_empty() && output.success {
        Ok(summary)
    } else {
        if findings.is_empty() {
            for line in output.tail(20) {
                println!("  | {line}");
            }
        }
        Err(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skewed_header_has_the_next_version() {
        let header = "#define IPCON_FAMILY_NAME\t\"ipcon\"\n#define IPCON_FAMILY_VERSION\t2\n";
        assert_eq!(
            bump_family_version(header).unwrap(),
            "#define IPCON_FAMILY_NAME\t\"ipcon\"\n#define IPCON_FAMILY_VERSION\t3\n"
        );
        assert_eq!(bump_family_version("#define X 1\n"), None);
    }

    #[test]
    fn build_products_are_not_mirrored() {
        for name in [
            "ipcon.o",
            "ipcon.ko",
            "ipcon.mod.c",
            ".ipcon.o.cmd",
            "modules.order",
        ] {
            assert!(is_build_product(name), "{name}");
        }
        for name in ["ipcon.c", "peers.h", "Kbuild", "Makefile"] {
            assert!(!is_build_product(name), "{name}");
        }
    }

    #[test]
    fn mirroring_keeps_unchanged_files_untouched() {
        let base = std::env::temp_dir().join(format!("xtask-mirror-{}", std::process::id()));
        let (from, to) = (base.join("from"), base.join("to"));
        std::fs::create_dir_all(from.join("uapi")).unwrap();
        std::fs::write(from.join("a.c"), "int a;").unwrap();
        std::fs::write(from.join("a.o"), "object").unwrap();
        std::fs::write(from.join("uapi/x.h"), "#define X").unwrap();
        mirror_sources(&from, &to).unwrap();
        let before = std::fs::metadata(to.join("a.c"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        mirror_sources(&from, &to).unwrap();
        let after = std::fs::metadata(to.join("a.c"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
        assert!(!to.join("a.o").exists());
        assert_eq!(
            std::fs::read_to_string(to.join("uapi/x.h")).unwrap(),
            "#define X"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
