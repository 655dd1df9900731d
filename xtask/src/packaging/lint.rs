//! Linters run over the packaging: oelint-adv on every recipe (installed
//! from PyPI into a venv under target/ when missing) and shellcheck on every
//! shell script of the repository.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Findings accepted, each only for the files it is about and for a reason
/// a reviewer can weigh (none hides a defect): `(rule, files, reason)`, the
/// files relative to meta-ipcon/ (empty: any file). The same rule anywhere
/// else fails, so no rule is switched off as a whole.
const OELINT_ACCEPTED: &[(&str, &[&str], &str)] = &[
    (
        "oelint.vars.inconspaces",
        &[CRATES_INC],
        "ipcon-crates.inc keeps the exact layout oe-core's update_crates writes (`SRC_URI += \" \\`), \
         which the checks compare it with byte for byte",
    ),
    (
        "oelint.vars.notneededspace",
        &[CRATES_INC],
        "same generated ipcon-crates.inc layout",
    ),
    (
        "oelint.vars.homepageping",
        &[],
        "the rule fetches HOMEPAGE, and CI reaches nothing but the package registries",
    ),
    (
        "oelint.var.bbclassextend",
        &[
            "recipes-ipcon/ipcon/ipcon_git.bb",
            "recipes-kernel/ipcon-kmod/ipcon-kmod_git.bb",
            "recipes-ipcon/ipcon-c-samples/ipcon-c-samples_git.bb",
        ],
        "ipcon, ipcon-kmod and ipcon-c-samples are target-only: the programs talk to the target \
         kernel's module",
    ),
];

/// ipcon-crates.inc relative to meta-ipcon/.
const CRATES_INC: &str = "recipes-ipcon/ipcon/ipcon-crates.inc";

/// Whether an oelint-adv finding (`file:line:severity:rule:message`, the
/// file relative to meta-ipcon/) is one of [`OELINT_ACCEPTED`].
fn accepted(finding: &str) -> bool {
    let mut fields = finding.splitn(5, ':');
    let (Some(file), Some(_line), Some(_severity), Some(rule)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    OELINT_ACCEPTED
        .iter()
        .any(|(name, files, _)| *name == rule && (files.is_empty() || files.contains(&file)))
}

/// Every recipe of the layer, sorted.
fn recipes(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| e == "bb" || e == "bbappend")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join("meta-ipcon"), &mut out);
    out.sort();
    out
}

/// The releases the layer declares in LAYERSERIES_COMPAT, linted each.
const RELEASES: &[&str] = &["scarthgap", "whinlatter", "wrynose"];

fn oelint_binary(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target/packaging/oelint-venv");
    let binary = venv.join("bin/oelint-adv");
    if binary.exists() {
        return Ok(binary);
    }
    println!(
        "packaging: installing oelint-adv from PyPI into {}",
        venv.display()
    );
    let status = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !status.success() {
        return Err("python3 -m venv failed (is python3-venv installed?)".into());
    }
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--no-cache-dir", "oelint-adv"])
        .status()
        .map_err(|e| format!("pip install oelint-adv: {e}"))?;
    if !status.success() || !binary.exists() {
        return Err("pip install oelint-adv failed".into());
    }
    Ok(binary)
}

/// oelint-adv, `--mode all`, on every recipe and the layer configuration
/// for every supported release; any finding fails.
pub fn oelint(root: &Path) -> Result<String, String> {
    let binary = oelint_binary(root)?;
    let layer = root.join("meta-ipcon");
    let recipe_count = recipes(root).len();
    if recipe_count == 0 {
        return Err("no recipes under meta-ipcon/".into());
    }
    // The layer configuration has its own rules (what a layer.conf may set),
    // and so has the opt-in configuration for building the checkout.
    let mut files = recipes(root);
    files.push(layer.join("conf/layer.conf"));
    files.push(layer.join("conf/include/ipcon-from-checkout.inc"));
    let mut findings = String::new();
    let mut accepted_count = 0;
    for release in RELEASES {
        let out = Command::new(&binary)
            .current_dir(&layer)
            .args([
                "--quiet",
                "--mode",
                "all",
                "--relpaths",
                "--release",
                release,
            ])
            .arg("--constantmods=+scripts/oelint-constants.json")
            .args(&files)
            .output()
            .map_err(|e| format!("running oelint-adv: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut accepted_here = 0;
        let mut remaining = String::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if accepted(line) {
                accepted_here += 1;
            } else {
                remaining.push_str(line);
                remaining.push('\n');
            }
        }
        accepted_count = accepted_count.max(accepted_here);
        // oelint-adv exits 1 when it reports anything, accepted findings
        // too; a failure without a single finding is its own (a crash).
        let crashed = !out.status.success() && accepted_here == 0;
        if crashed || !remaining.is_empty() {
            findings.push_str(&format!("[{release}] ({})\n{remaining}", out.status));
        }
    }
    if findings.is_empty() {
        Ok(format!(
            "{recipe_count} recipes, layer.conf and the checkout include x {} releases clean \
             but for {accepted_count} accepted findings ({} rules, each for named files)",
            RELEASES.len(),
            OELINT_ACCEPTED.len()
        ))
    } else {
        Err(findings)
    }
}

/// Whether a file's first line names a POSIX-family shell interpreter.
pub fn is_shell_shebang(first_line: &str) -> bool {
    let Some(command) = first_line.strip_prefix("#!") else {
        return false;
    };
    let mut words = command.split_whitespace();
    let mut program = words.next().unwrap_or_default();
    // `env [-S] sh` and `busybox sh` name the shell in the next word.
    if program.ends_with("/env") || program.ends_with("/busybox") {
        program = words.find(|w| !w.starts_with('-')).unwrap_or_default();
    }
    let name = program.rsplit('/').next().unwrap_or_default();
    matches!(name, "sh" | "bash" | "dash" | "ksh" | "mksh" | "ash")
}

/// Every shell script of the repository (tracked or new, not ignored),
/// found by its shebang or a `.sh` name.
pub fn shell_scripts(root: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    if !out.status.success() {
        return Err("git ls-files failed".into());
    }
    let mut scripts = Vec::new();
    for name in out.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let path = root.join(String::from_utf8_lossy(name).as_ref());
        let Ok(bytes) = fs::read(&path) else {
            continue; // deleted in the work tree
        };
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let by_name = path.extension().is_some_and(|e| e == "sh");
        if by_name || is_shell_shebang(&String::from_utf8_lossy(first)) {
            scripts.push(path);
        }
    }
    scripts.sort();
    scripts.dedup();
    Ok(scripts)
}

/// Whether the shebang runs busybox's shell (ash).
fn is_busybox_shell(first_line: &str) -> bool {
    let mut words = first_line.trim_start_matches("#!").split_whitespace();
    words.next().is_some_and(|p| p.ends_with("/busybox")) && words.next() == Some("sh")
}

/// shellcheck over every shell script; any finding fails. shellcheck has no
/// busybox ash dialect and checks such scripts as dash with a notice
/// (SC2187) saying so; naming dash for them does the same check without
/// the notice.
pub fn shellcheck(root: &Path) -> Result<String, String> {
    let scripts = shell_scripts(root)?;
    if scripts.is_empty() {
        return Err("no shell scripts found; the packaging scripts at least should be".into());
    }
    let first_line = |path: &PathBuf| {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (busybox, plain): (Vec<_>, Vec<_>) = scripts
        .iter()
        .partition(|p| is_busybox_shell(&first_line(p)));
    let mut findings = String::new();
    for (group, dialect) in [(plain, None), (busybox, Some("dash"))] {
        if group.is_empty() {
            continue;
        }
        let mut command = Command::new("shellcheck");
        command.current_dir(root);
        if let Some(dialect) = dialect {
            command.arg(format!("--shell={dialect}"));
        }
        let out = command
            .args(&group)
            .output()
            .map_err(|e| format!("running shellcheck (apt-get install shellcheck): {e}"))?;
        if !out.status.success() {
            findings.push_str(&String::from_utf8_lossy(&out.stdout));
        }
    }
    if findings.is_empty() {
        Ok(format!("{} scripts clean", scripts.len()))
    } else {
        Err(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oelint_findings_are_accepted_only_where_their_reason_holds() {
        let line = |file: &str, rule: &str| format!("{file}:4:error:{rule}:a message: with colons");
        assert!(accepted(&line(CRATES_INC, "oelint.vars.inconspaces")));
        assert!(!accepted(&line(
            "recipes-ipcon/ipcon/ipcon_git.bb",
            "oelint.vars.inconspaces"
        )));
        assert!(accepted(&line("any/file.bb", "oelint.vars.homepageping")));
        assert!(!accepted(&line(
            "recipes-core/packagegroups/packagegroup-ipcon.bb",
            "oelint.var.bbclassextend"
        )));
        assert!(!accepted(&line(CRATES_INC, "oelint.vars.srcurichecksum")));
        assert!(!accepted("Traceback (most recent call last):"));
    }

    #[test]
    fn recognises_shell_shebangs_only() {
        assert!(is_shell_shebang("#!/bin/sh"));
        assert!(is_shell_shebang("#!/usr/bin/env bash"));
        assert!(is_shell_shebang("#!/usr/bin/env -S bash -eu"));
        assert!(is_shell_shebang("#! /bin/bash -e"));
        assert!(is_shell_shebang("#!/bin/busybox sh"));
        assert!(!is_shell_shebang("#!/bin/busybox awk"));
        assert!(!is_shell_shebang("#!/usr/bin/env python3"));
        assert!(!is_shell_shebang("#!/usr/bin/perl"));
        assert!(!is_shell_shebang("# just a comment"));
        assert!(is_busybox_shell("#!/bin/busybox sh"));
        assert!(!is_busybox_shell("#!/bin/sh"));
    }
}
