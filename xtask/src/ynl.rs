//! `cargo xtask ynl` and the `ynl` step of `cargo xtask test`: the kernel's own netlink
//! tooling (YNL, `tools/net/ynl/` and the schemas of `Documentation/netlink/`) on
//! `kmod/ipcon.yaml`, as a kernel developer would use it:
//!
//! 1. the spec validates against YNL's schema (`cli.py --validate`);
//! 2. `ynl_gen_c.py` generates the uapi header, the kernel code and the user code;
//! 3. its uapi header equals ours (`kmod/uapi/ipcon.h`) line for line, banners aside;
//! 4. the user code it generates, with YNL's C library, builds against our uapi header,
//!    into a static client that calls every request (do and dump) and receives every
//!    notification against the module in the VM (the VM has no Python, so YNL's Python
//!    client cannot run there; the host cannot load modules).
//!
//! YNL comes from a pinned Debian `linux-source-<version>` package, fetched through a
//! private apt configuration (see `debian.rs`; the host's apt sources are untouched) and
//! unpacked once under `target/xtask/ynl/`. Python runs as Debian's `/usr/bin/python3` with
//! Debian's `python3-yaml` and `python3-jsonschema`.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::codegen;
use crate::debian::PrivateApt;
use crate::host_tools;
use crate::initramfs::GuestFile;
use crate::kernel::{Arch, Kernel};
use crate::kmod;
use crate::process;
use crate::suite::StepResult;
use crate::vm::{self, VmRun};
use crate::workspace::Workspace;

/// The Debian package YNL comes from, and its version. When the archive no longer holds
/// this version (backports move on), the newest of the same series is used and the step
/// says so: update the pin then.
const SOURCE_PACKAGE: &str = "linux-source-7.3";
const SOURCE_VERSION: &str = "7.3.4-1~bpo13+1";
const SUITE: &str = "trixie-backports";
const PYTHON: &str = "/usr/bin/python3";
const PACKAGES: &[&str] = &[
    "python3",
    "python3-yaml",
    "python3-jsonschema",
    "gcc",
    "xz-utils",
];
/// The C client of `tests/ynl/`, built from YNL's generated user code.
const CLIENT_SOURCE: &str = "tests/ynl/ipcon-ynl-client.c";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

/// An unpacked YNL: `root` holds `tools/net/ynl/` and `Documentation/netlink/`.
#[derive(Debug)]
struct Ynl {
    root: PathBuf,
    version: String,
    pinned: bool,
}

impl Ynl {
    fn pyynl(&self, script: &str) -> PathBuf {
        self.root.join("tools/net/ynl/pyynl").join(script)
    }
}

/// Fetches (or reuses) YNL from the pinned Debian source package.
fn fetch(workspace: &Workspace) -> Result<Ynl, String> {
    let base = workspace.xtask_dir().join("ynl");
    let apt = PrivateApt::new(base.join("apt"), &["amd64"], &[SUITE]);
    apt.update()?;
    let versions = apt.versions(SOURCE_PACKAGE)?;
    let pinned = versions.iter().any(|v| v == SOURCE_VERSION);
    let version = if pinned {
        SOURCE_VERSION.to_owned()
    } else {
        versions.first().cloned().ok_or_else(|| {
            format!("{SUITE} holds no {SOURCE_PACKAGE}: update the pin in xtask/src/ynl.rs")
        })?
    };
    let root = base.join(format!("{SOURCE_PACKAGE}_{version}"));
    let stamp = root.join(".complete");
    if !stamp.is_file() {
        let deb = apt.download_version(SOURCE_PACKAGE, &version)?;
        let unpacked = base.join("deb");
        if unpacked.exists() {
            std::fs::remove_dir_all(&unpacked)
                .map_err(|e| format!("{}: {e}", unpacked.display()))?;
        }
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        }
        process::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
        let tarball = std::fs::read_dir(unpacked.join("usr/src"))
            .map_err(|e| format!("{}: {e}", unpacked.display()))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".tar.xz"))
            .ok_or_else(|| format!("{} holds no source tarball", deb.display()))?;
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        println!("xtask: extracting YNL from {} (once)", tarball.display());
        process::run(
            Command::new("tar")
                .arg("-xJf")
                .arg(&tarball)
                .arg("-C")
                .arg(&root)
                .args(["--strip-components=1", "--wildcards"])
                .args(["*/tools/net/ynl/*", "*/Documentation/netlink/*"]),
        )?;
        std::fs::remove_dir_all(&unpacked).map_err(|e| format!("{}: {e}", unpacked.display()))?;
        // The stamped tree is all a later run reads (the .deb is 150 MB).
        std::fs::remove_file(&deb).map_err(|e| format!("{}: {e}", deb.display()))?;
        std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    Ok(Ynl {
        root,
        version,
        pinned,
    })
}

/// A scratch kernel-like tree for the spec: YNL finds the schema next to `specs/`
/// (`Documentation/netlink/<protocol>.yaml`) and the tree's root by its MAINTAINERS.
fn scratch_tree(workspace: &Workspace, ynl: &Ynl) -> Result<PathBuf, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let tree = workspace.xtask_dir().join("ynl/check");
    if tree.exists() {
        std::fs::remove_dir_all(&tree).map_err(|e| io(&tree, e))?;
    }
    let netlink = tree.join("Documentation/netlink");
    std::fs::create_dir_all(netlink.join("specs")).map_err(|e| io(&netlink, e))?;
    std::fs::write(tree.join("MAINTAINERS"), b"").map_err(|e| io(&tree, e))?;
    let schemas = ynl.root.join("Documentation/netlink");
    for entry in std::fs::read_dir(&schemas)
        .map_err(|e| io(&schemas, e))?
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&path, netlink.join(entry.file_name())).map_err(|e| io(&path, e))?;
        }
    }
    let spec = netlink.join("specs/ipcon.yaml");
    std::fs::copy(workspace.root.join(codegen::SPEC_PATH), &spec).map_err(|e| io(&spec, e))?;
    std::fs::create_dir_all(tree.join("out")).map_err(|e| io(&tree, e))?;
    Ok(tree)
}

/// Runs a YNL script; its output lines (YNL prints nothing on success).
fn python(ynl: &Ynl, script: &str, args: &[&str], tree: &Path) -> Result<Vec<String>, String> {
    let mut command = Command::new(PYTHON);
    command
        .arg(ynl.pyynl(script))
        .args(args)
        .current_dir(tree)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = process::capture(&mut command, false)?;
    if output.success {
        Ok(output.lines)
    } else {
        for line in output.tail(30) {
            println!("  | {line}");
        }
        Err(format!(
            "{script} {} failed ({})",
            args.join(" "),
            output.status
        ))
    }
}

/// The header without its leading comment banner (after the SPDX line, up to the first
/// blank line): what YNL and `cargo xtask codegen` write differently on purpose.
fn without_banner(header: &str) -> String {
    let mut lines = header.lines();
    let spdx = lines.next().unwrap_or_default();
    let rest: Vec<&str> = lines.skip_while(|l| !l.trim().is_empty()).collect();
    format!("{spdx}\n{}\n", rest.join("\n"))
}

/// What the tools did, one summary line each.
struct Report {
    lines: Vec<String>,
}

impl Report {
    fn line(&mut self, text: String) {
        println!("{text}");
        self.lines.push(text);
    }
}

/// Schema validation, code generation and the uapi comparison; returns the tree and
/// the generated files' directory.
fn generate(workspace: &Workspace, ynl: &Ynl, report: &mut Report) -> Result<PathBuf, String> {
    let tree = scratch_tree(workspace, ynl)?;
    let spec = "Documentation/netlink/specs/ipcon.yaml";
    let printed = python(ynl, "cli.py", &["--spec", spec, "--validate"], &tree)?;
    report.line(format!(
        "ynl: cli.py --validate: the spec is valid ({}; output: {})",
        "genetlink-legacy schema",
        shown(&printed)
    ));
    let out = tree.join("out");
    let mut outputs = Vec::new();
    for (mode, kind, file) in [
        ("uapi", "--header", "ipcon.h"),
        ("kernel", "--header", "ipcon-nl-gen.h"),
        ("kernel", "--source", "ipcon-nl-gen.c"),
        ("user", "--header", "ipcon-user.h"),
        ("user", "--source", "ipcon-user.c"),
    ] {
        let target = out.join(file);
        let target_text = target.to_string_lossy().into_owned();
        let printed = python(
            ynl,
            "ynl_gen_c.py",
            &["--mode", mode, kind, "--spec", spec, "-o", &target_text],
            &tree,
        )?;
        let lines = std::fs::read_to_string(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?
            .lines()
            .count();
        outputs.push(format!(
            "{mode} {kind}: {file} {lines} lines{}",
            if printed.is_empty() {
                String::new()
            } else {
                format!(" ({})", shown(&printed))
            }
        ));
    }
    report.line(format!("ynl: ynl_gen_c.py: {}", outputs.join("; ")));
    let theirs = std::fs::read_to_string(out.join("ipcon.h")).map_err(|e| e.to_string())?;
    let ours_path = workspace.root.join("kmod/uapi/ipcon.h");
    let ours =
        std::fs::read_to_string(&ours_path).map_err(|e| format!("{}: {e}", ours_path.display()))?;
    if without_banner(&theirs) != without_banner(&ours) {
        let first = without_banner(&theirs)
            .lines()
            .zip(without_banner(&ours).lines())
            .position(|(a, b)| a != b)
            .map_or("at the end".into(), |i| format!("at line {}", i + 1));
        return Err(format!(
            "YNL's uapi header differs from kmod/uapi/ipcon.h {first} (compare {})",
            out.join("ipcon.h").display()
        ));
    }
    report.line(format!(
        "ynl: YNL's uapi header equals kmod/uapi/ipcon.h ({} lines, banners aside)",
        theirs.lines().count()
    ));
    Ok(tree)
}

fn shown(printed: &[String]) -> String {
    if printed.is_empty() {
        "none".into()
    } else {
        printed.join(" / ")
    }
}

/// Builds the static client from YNL's user code and library against our uapi header.
fn build_client(workspace: &Workspace, ynl: &Ynl, tree: &Path) -> Result<PathBuf, String> {
    let out = tree.join("out");
    let include = tree.join("include/linux");
    std::fs::create_dir_all(&include).map_err(|e| format!("{}: {e}", include.display()))?;
    std::fs::copy(
        workspace.root.join("kmod/uapi/ipcon.h"),
        include.join("ipcon.h"),
    )
    .map_err(|e| format!("copy the uapi header: {e}"))?;
    let lib = ynl.root.join("tools/net/ynl/lib");
    let client = out.join("ipcon-ynl-client");
    let mut gcc = Command::new("gcc");
    gcc.args([
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-static",
    ])
    .arg("-I")
    .arg(tree.join("include"))
    .arg("-I")
    .arg(&out)
    .arg("-I")
    .arg(&lib)
    .arg("-o")
    .arg(&client)
    .arg(workspace.root.join(CLIENT_SOURCE))
    .arg(out.join("ipcon-user.c"))
    .arg(lib.join("ynl.c"));
    let output = process::capture(&mut gcc, false)?;
    let warnings: Vec<&String> = output
        .lines
        .iter()
        .filter(|l| l.contains("warning:"))
        .collect();
    if !output.success || !warnings.is_empty() {
        for line in output.tail(40) {
            println!("  | {line}");
        }
        return Err(format!(
            "building the YNL client failed ({}, {} warnings)",
            output.status,
            warnings.len()
        ));
    }
    Ok(client)
}

/// Runs the client in the VM with the module; `Ok` holds its summary.
fn run_client(workspace: &Workspace, kernel: &Kernel, client: &Path) -> Result<String, String> {
    let module = kmod::build_ipcon(workspace, kernel)?;
    let mut run = VmRun::new("ynl-client", kernel.clone(), "/bin/ipcon-ynl-client");
    run.module = Some(module);
    run.files = vec![GuestFile::binary(client)];
    run.timeout = CLIENT_TIMEOUT;
    let outcome = vm::run(&run, &workspace.target_dir)?;
    let lines = outcome.run_lines();
    for line in lines
        .iter()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL "))
    {
        println!("  | {line}");
    }
    let summary = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("ynl-client: "))
        .cloned();
    match summary {
        Some(summary) if outcome.passed() && summary.ends_with(" 0 failed") => Ok(summary),
        other => {
            outcome.report_failure();
            Err(other.unwrap_or_else(|| "ynl-client: no summary line".into()))
        }
    }
}

fn check(workspace: &Workspace, kernel: &Kernel) -> Result<Vec<String>, (Vec<String>, String)> {
    let mut report = Report { lines: Vec::new() };
    let fail = |report: Report, reason: String| (report.lines, reason);
    if let Err(e) = host_tools::ensure_packages(PACKAGES) {
        return Err(fail(report, e));
    }
    let ynl = match fetch(workspace) {
        Ok(ynl) => ynl,
        Err(e) => return Err(fail(report, e)),
    };
    report.line(format!(
        "ynl: YNL of {SOURCE_PACKAGE} {}{}",
        ynl.version,
        if ynl.pinned {
            " (pinned)".to_owned()
        } else {
            format!(", the pinned {SOURCE_VERSION} is gone from {SUITE}: update the pin")
        }
    ));
    let tree = match generate(workspace, &ynl, &mut report) {
        Ok(tree) => tree,
        Err(e) => return Err(fail(report, e)),
    };
    let client = match build_client(workspace, &ynl, &tree) {
        Ok(client) => client,
        Err(e) => return Err(fail(report, e)),
    };
    report.line("ynl: YNL's user code and C library built against kmod/uapi/ipcon.h".into());
    match run_client(workspace, kernel, &client) {
        Ok(summary) => {
            report.line(format!("{summary} (YNL-generated C client in the VM)"));
            Ok(report.lines)
        }
        Err(summary) => {
            report.line(summary.clone());
            Err(fail(report, summary))
        }
    }
}

/// The `ynl` step.
pub fn step(workspace: &Workspace, kernel: &Kernel) -> StepResult {
    check(workspace, kernel)
}

/// `cargo xtask ynl`.
pub fn command(workspace: &Workspace) -> Result<(), String> {
    let kernel = crate::prepare_vm_host(Arch::X86_64)?;
    check(workspace, &kernel)
        .map(drop)
        .map_err(|(_, reason)| reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_are_compared_away() {
        let ynl = "/* SPDX: x */\n/* Do not edit */\n/* YNL-GEN */\n\n#ifndef A\n";
        let ours = "/* SPDX: x */\n/* Generated from kmod/ipcon.yaml */\n\n#ifndef A\n";
        assert_eq!(without_banner(ynl), without_banner(ours));
        assert_ne!(
            without_banner(ynl),
            without_banner("/* SPDX: x */\n\n#ifndef B\n")
        );
    }
}
