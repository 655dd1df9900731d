//! Runs the scripts that replay each recipe's build steps with Debian's ARM
//! cross tools (meta-ipcon/scripts/yocto-build-steps.sh,
//! buildroot/scripts/buildroot-build-steps.sh) and judges what they
//! installed: every program an executable for the machine (static where the
//! C library is musl), the module one for the machine whose vermagic names
//! the kernel it was built against.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::licences::{bitbake_value, make_value};

/// What the outputs for one machine must look like.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// The name the build-step scripts take.
    pub name: &'static str,
    /// `file`'s class and architecture words for the machine's ELF files.
    pub elf: &'static str,
    pub arch: &'static str,
    /// The architecture word of the module's vermagic.
    pub vermagic_arch: &'static str,
}

/// `ipcon_qemu_aarch64_virt_defconfig`'s machine, and Yocto's qemuarm64.
pub const AARCH64: Machine = Machine {
    name: "aarch64",
    elf: "ELF 64-bit LSB",
    arch: "ARM aarch64",
    vermagic_arch: "aarch64",
};

/// `ipcon_qemu_arm_vexpress_defconfig`'s machine.
pub const ARMV7: Machine = Machine {
    name: "armv7",
    elf: "ELF 32-bit LSB",
    arch: "ARM, EABI5",
    vermagic_arch: "ARMv7",
};

/// Runs `sh script args… work_dir` with its output in a log file; the log's
/// tail is the error when it fails.
fn run_script(
    root: &Path,
    script: &str,
    args: &[&str],
    work: &Path,
    log: &Path,
) -> Result<(), String> {
    fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let log_file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let status = Command::new("sh")
        .current_dir(root)
        .arg(root.join(script))
        .args(args)
        .arg(work)
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .status()
        .map_err(|e| format!("running {script}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<_> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(15)..];
    Err(format!(
        "{script} failed (log: {}):\n{}",
        log.display(),
        tail.join("\n")
    ))
}

fn describe(path: &Path) -> Result<String, String> {
    let out = Command::new("file")
        .arg("-b")
        .arg(path)
        .output()
        .map_err(|e| format!("running file: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// What `file` must say about an installed program: an executable for the
/// machine; with no run-time loader on musl machines (static, as shipped to
/// the routers), with the loader on glibc machines.
pub fn judge_program(machine: &Machine, description: &str) -> Result<(), String> {
    if !description.starts_with(machine.elf) || !description.contains(machine.arch) {
        return Err(format!("not an {} ELF: {description}", machine.name));
    }
    let is_static =
        description.contains("statically linked") || description.contains("static-pie linked");
    // Every machine gets static programs: musl ones by nature, armv7 glibc ones
    // because the tree's .cargo/config.toml links them with +crt-static (one
    // binary for any armhf firmware, whatever its glibc), and the recipes'
    // cargo builds run in the tree, so they inherit it.
    if !is_static {
        return Err(format!("not statically linked: {description}"));
    }
    Ok(())
}

/// What `modinfo -F vermagic` must say: the kernel release first, and the
/// machine's architecture.
pub fn judge_vermagic(machine: &Machine, vermagic: &str, release: &str) -> Result<(), String> {
    let words: Vec<_> = vermagic.split_whitespace().collect();
    if words.first() != Some(&release) || !words.contains(&machine.vermagic_arch) {
        return Err(format!(
            "vermagic \"{vermagic}\" is not for {release} {}",
            machine.name
        ));
    }
    Ok(())
}

fn check_programs(machine: &Machine, bin_dir: &Path, programs: &[String]) -> Result<(), String> {
    for program in programs {
        let path = bin_dir.join(program);
        if !path.exists() {
            return Err(format!("{} was not installed", path.display()));
        }
        judge_program(machine, &describe(&path)?).map_err(|e| format!("{program}: {e}"))?;
    }
    Ok(())
}

/// Finds the one `ipcon.ko` below `modules_root/<release>/` and checks it;
/// returns the release.
fn check_module(machine: &Machine, modules_root: &Path) -> Result<String, String> {
    let mut found = Vec::new();
    let mut stack = vec![modules_root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "ipcon.ko") {
                found.push(path);
            }
        }
    }
    let [module] = found.as_slice() else {
        return Err(format!(
            "expected one ipcon.ko under {}, found {found:?}",
            modules_root.display()
        ));
    };
    let release = module
        .strip_prefix(modules_root)
        .ok()
        .and_then(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    let description = describe(module)?;
    if !description.contains("relocatable")
        || !description.starts_with(machine.elf)
        || !description.contains(machine.arch)
    {
        return Err(format!(
            "ipcon.ko is not a {} module: {description}",
            machine.name
        ));
    }
    let out = Command::new("modinfo")
        .args(["-F", "vermagic"])
        .arg(module)
        .output()
        .map_err(|e| format!("running modinfo: {e}"))?;
    let vermagic = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    judge_vermagic(machine, &vermagic, &release)?;
    Ok(release)
}

fn words(value: Option<String>, what: &str) -> Result<Vec<String>, String> {
    let value = value.ok_or_else(|| format!("{what} not found"))?;
    Ok(value.split_whitespace().map(str::to_owned).collect())
}

fn work_dir(root: &Path, name: &str) -> PathBuf {
    root.join("target/packaging").join(name)
}

/// The Yocto recipes' steps: programs and header in the image, the module
/// under lib/modules, and the package split agreeing with the install list.
pub fn yocto(root: &Path) -> Result<String, String> {
    let recipe = fs::read_to_string(root.join("meta-ipcon/recipes-ipcon/ipcon/ipcon_git.bb"))
        .map_err(|e| format!("ipcon_git.bb: {e}"))?;
    let tools = words(bitbake_value(&recipe, "IPCON_TOOLS"), "IPCON_TOOLS")?;
    let samples = words(bitbake_value(&recipe, "IPCON_SAMPLES"), "IPCON_SAMPLES")?;
    let work = work_dir(root, "yocto");
    run_script(
        root,
        "meta-ipcon/scripts/yocto-build-steps.sh",
        &[],
        &work,
        &work_dir(root, "yocto.log"),
    )?;
    let image = work.join("image");
    let programs: Vec<String> = tools.iter().chain(&samples).cloned().collect();
    check_programs(&AARCH64, &image.join("usr/bin"), &programs)?;
    // The recipe leaves stripping to do_package (-dbg split, and no
    // already-stripped QA error): the installed programs must be unstripped.
    for program in &programs {
        let description = describe(&image.join("usr/bin").join(program))?;
        if !description.contains("not stripped") {
            return Err(format!(
                "{program} is stripped before do_package: {description}"
            ));
        }
    }
    if !image.join("usr/include/ipcon/ipcon.h").exists() {
        return Err("usr/include/ipcon/ipcon.h was not installed".into());
    }
    let release = check_module(&AARCH64, &image.join("lib/modules"))?;
    Ok(format!(
        "{} aarch64 static programs, ipcon.ko for {release}",
        programs.len()
    ))
}

/// The Buildroot packages' steps for one defconfig's machine: programs in
/// the target, header in staging, the module under lib/modules.
fn buildroot(root: &Path, machine: &Machine) -> Result<String, String> {
    let mk = fs::read_to_string(root.join("buildroot/package/ipcon/ipcon.mk"))
        .map_err(|e| format!("ipcon.mk: {e}"))?;
    let tools = words(make_value(&mk, "IPCON_TOOLS"), "IPCON_TOOLS")?;
    let samples = words(make_value(&mk, "IPCON_SAMPLES"), "IPCON_SAMPLES")?;
    let work = work_dir(root, &format!("buildroot-{}", machine.name));
    run_script(
        root,
        "buildroot/scripts/buildroot-build-steps.sh",
        &[machine.name],
        &work,
        &work_dir(root, &format!("buildroot-{}.log", machine.name)),
    )?;
    let target = work.join("target-rootfs");
    let programs: Vec<String> = tools.iter().chain(&samples).cloned().collect();
    check_programs(machine, &target.join("usr/bin"), &programs)?;
    if !work.join("staging/usr/include/ipcon/ipcon.h").exists() {
        return Err("staging usr/include/ipcon/ipcon.h was not installed".into());
    }
    let release = check_module(machine, &target.join("lib/modules"))?;
    Ok(format!(
        "{} {} static programs, ipcon.ko for {release}",
        programs.len(),
        machine.name
    ))
}

/// `ipcon_qemu_aarch64_virt_defconfig`'s machine (musl).
pub fn buildroot_aarch64(root: &Path) -> Result<String, String> {
    buildroot(root, &AARCH64)
}

/// `ipcon_qemu_arm_vexpress_defconfig`'s machine (glibc, 32-bit).
pub fn buildroot_armv7(root: &Path) -> Result<String, String> {
    buildroot(root, &ARMV7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musl_programs_must_be_static_for_the_machine() {
        let good =
            "ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked, stripped";
        assert!(judge_program(&AARCH64, good).is_ok());
        let pie = "ELF 64-bit LSB pie executable, ARM aarch64, version 1 (SYSV), static-pie linked";
        assert!(judge_program(&AARCH64, pie).is_ok());
        let dynamic = "ELF 64-bit LSB pie executable, ARM aarch64, dynamically linked, interpreter /lib/ld-linux-aarch64.so.1";
        assert!(judge_program(&AARCH64, dynamic).is_err());
        let host = "ELF 64-bit LSB executable, x86-64, version 1 (SYSV), statically linked";
        assert!(judge_program(&AARCH64, host).is_err());
    }

    #[test]
    fn armv7_programs_must_be_static_for_the_machine() {
        let good = "ELF 32-bit LSB executable, ARM, EABI5 version 1 (SYSV), statically linked, for GNU/Linux 3.2.0, stripped";
        assert!(judge_program(&ARMV7, good).is_ok());
        let dynamic = "ELF 32-bit LSB pie executable, ARM, EABI5 version 1 (SYSV), dynamically linked, interpreter /lib/ld-linux-armhf.so.3, for GNU/Linux 3.2.0";
        assert!(judge_program(&ARMV7, dynamic).is_err());
        let aarch64 = "ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked";
        assert!(judge_program(&ARMV7, aarch64).is_err());
    }

    #[test]
    fn vermagic_must_name_the_release_and_arch() {
        let arm64 = "6.1.0-56-arm64 SMP mod_unload modversions aarch64";
        assert!(judge_vermagic(&AARCH64, arm64, "6.1.0-56-arm64").is_ok());
        assert!(judge_vermagic(&AARCH64, arm64, "6.1.0-56-amd64").is_err());
        assert!(judge_vermagic(&ARMV7, arm64, "6.1.0-56-arm64").is_err());
        let armv7 = "6.1.0-50-armmp SMP mod_unload modversions ARMv7 p2v8";
        assert!(judge_vermagic(&ARMV7, armv7, "6.1.0-50-armmp").is_ok());
        assert!(judge_vermagic(&AARCH64, "6.1.0-56-arm64 SMP", "6.1.0-56-arm64").is_err());
    }
}
