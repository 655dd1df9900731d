//! Runs the scripts that replay each recipe's build steps with Debian's
//! arm64 cross tools (meta-ipcon/scripts/yocto-build-steps.sh,
//! buildroot/scripts/buildroot-build-steps.sh) and judges what they
//! installed: every program an aarch64 static executable, the module an
//! aarch64 module whose vermagic names the kernel it was built against.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::licences::{bitbake_value, make_value};

/// Runs `script work_dir` with its output in a log file; the log's tail is
/// the error when it fails.
fn run_script(root: &Path, script: &str, work: &Path, log: &Path) -> Result<(), String> {
    fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let log_file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let status = Command::new("sh")
        .current_dir(root)
        .arg(root.join(script))
        .arg(work)
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .status()
        .map_err(|e| format!("running {script}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<_> = text.lines().rev().take(15).collect();
    let tail: Vec<_> = tail.into_iter().rev().collect();
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

/// What `file` must say about an installed program: an aarch64 executable
/// with no run-time loader (static musl, as shipped to the routers).
pub fn judge_program(description: &str) -> Result<(), String> {
    if !description.starts_with("ELF 64-bit LSB") || !description.contains("ARM aarch64") {
        return Err(format!("not an aarch64 ELF: {description}"));
    }
    if !description.contains("statically linked") && !description.contains("static-pie linked") {
        return Err(format!("not statically linked: {description}"));
    }
    Ok(())
}

/// What `modinfo -F vermagic` must say: the kernel release first, aarch64.
pub fn judge_vermagic(vermagic: &str, kernel_release: &str) -> Result<(), String> {
    let mut words = vermagic.split_whitespace();
    if words.next() != Some(kernel_release) || !vermagic.contains("aarch64") {
        return Err(format!(
            "vermagic \"{vermagic}\" is not for {kernel_release} aarch64"
        ));
    }
    Ok(())
}

fn check_programs(bin_dir: &Path, programs: &[String]) -> Result<(), String> {
    for program in programs {
        let path = bin_dir.join(program);
        if !path.exists() {
            return Err(format!("{} was not installed", path.display()));
        }
        judge_program(&describe(&path)?).map_err(|e| format!("{program}: {e}"))?;
    }
    Ok(())
}

/// Finds `ipcon.ko` below `modules_root/<release>/` and checks it.
fn check_module(modules_root: &Path) -> Result<String, String> {
    let mut found = Vec::new();
    let mut stack = vec![modules_root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
        {
            let path = entry.path();
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
    if !description.contains("relocatable") || !description.contains("ARM aarch64") {
        return Err(format!("ipcon.ko: {description}"));
    }
    let out = Command::new("modinfo")
        .args(["-F", "vermagic"])
        .arg(module)
        .output()
        .map_err(|e| format!("running modinfo: {e}"))?;
    let vermagic = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    judge_vermagic(&vermagic, &release)?;
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
    let files = words(
        bitbake_value(&recipe, "FILES:${PN}-samples"),
        "FILES:${PN}-samples",
    )?;
    let want: Vec<String> = samples.iter().map(|s| format!("${{bindir}}/{s}")).collect();
    if files != want {
        return Err(format!(
            "FILES:${{PN}}-samples {files:?} does not list IPCON_SAMPLES {want:?}"
        ));
    }
    let work = work_dir(root, "yocto");
    run_script(
        root,
        "meta-ipcon/scripts/yocto-build-steps.sh",
        &work,
        &work_dir(root, "yocto.log"),
    )?;
    let image = work.join("image");
    let programs: Vec<String> = tools.iter().chain(&samples).cloned().collect();
    check_programs(&image.join("usr/bin"), &programs)?;
    if !image.join("usr/include/ipcon/ipcon.h").exists() {
        return Err("usr/include/ipcon/ipcon.h was not installed".into());
    }
    let release = check_module(&image.join("lib/modules"))?;
    Ok(format!(
        "{} aarch64 static programs, ipcon.ko for {release}",
        programs.len()
    ))
}

/// The Buildroot packages' steps: programs in the target, header in
/// staging, the module under lib/modules of the target.
pub fn buildroot(root: &Path) -> Result<String, String> {
    let mk = fs::read_to_string(root.join("buildroot/package/ipcon/ipcon.mk"))
        .map_err(|e| format!("ipcon.mk: {e}"))?;
    let tools = words(make_value(&mk, "IPCON_TOOLS"), "IPCON_TOOLS")?;
    let samples = words(make_value(&mk, "IPCON_SAMPLES"), "IPCON_SAMPLES")?;
    let work = work_dir(root, "buildroot");
    run_script(
        root,
        "buildroot/scripts/buildroot-build-steps.sh",
        &work,
        &work_dir(root, "buildroot.log"),
    )?;
    let target = work.join("target-rootfs");
    let programs: Vec<String> = tools.iter().chain(&samples).cloned().collect();
    check_programs(&target.join("usr/bin"), &programs)?;
    if !work.join("staging/usr/include/ipcon/ipcon.h").exists() {
        return Err("staging usr/include/ipcon/ipcon.h was not installed".into());
    }
    let release = check_module(&target.join("lib/modules"))?;
    Ok(format!(
        "{} aarch64 static programs, ipcon.ko for {release}",
        programs.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_must_be_static_aarch64() {
        let good =
            "ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked, stripped";
        assert!(judge_program(good).is_ok());
        let pie = "ELF 64-bit LSB pie executable, ARM aarch64, version 1 (SYSV), static-pie linked";
        assert!(judge_program(pie).is_ok());
        let dynamic = "ELF 64-bit LSB pie executable, ARM aarch64, dynamically linked, interpreter /lib/ld-linux-aarch64.so.1";
        assert!(judge_program(dynamic).is_err());
        let host = "ELF 64-bit LSB executable, x86-64, version 1 (SYSV), statically linked";
        assert!(judge_program(host).is_err());
    }

    #[test]
    fn vermagic_must_name_the_release_and_arch() {
        let vermagic = "6.1.0-56-arm64 SMP mod_unload modversions aarch64";
        assert!(judge_vermagic(vermagic, "6.1.0-56-arm64").is_ok());
        assert!(judge_vermagic(vermagic, "6.1.0-56-amd64").is_err());
        assert!(judge_vermagic("6.1.0-56-arm64 SMP mod_unload", "6.1.0-56-arm64").is_err());
    }
}
