//! `cargo xtask demo`: the tutorial's scenario, live, inside the VM.
use std::time::Duration;

use crate::initramfs::GuestFile;
use crate::kernel::Arch;
use crate::vm::{self, Echo, VmRun};
use crate::workspace::{self, Workspace};
use crate::{kmod, prepare_vm_host};

const DEMO_SCRIPT: &str = include_str!("../vm/demo.sh");

pub fn run(workspace: &Workspace) -> Result<(), String> {
    let arch = Arch::X86_64;
    let kernel = prepare_vm_host(arch)?;
    let module = kmod::build_ipcon(workspace, &kernel)?;
    let binaries = workspace::build_static_binaries(workspace, arch, &["ipcon-samples"])?;
    let mut run = VmRun::new("demo", kernel, DEMO_SCRIPT);
    run.module = Some(module);
    run.files = binaries.iter().map(|b| GuestFile::binary(b)).collect();
    run.timeout = Duration::from_secs(240);
    run.echo = Echo::Live;
    let outcome = vm::run(&run, &workspace.target_dir)?;
    if outcome.passed() {
        println!("demo: passed in {:.1}s", outcome.elapsed.as_secs_f64());
        Ok(())
    } else {
        outcome.report_failure();
        Err("demo failed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's shell functions (everything before its first program
    /// check), followed by `scenario`, run by `shell`.
    fn run_functions(shell: &[&str], scenario: &str) -> String {
        let functions = DEMO_SCRIPT
            .split("\nfor program in ")
            .next()
            .expect("demo.sh defines its functions first");
        let output = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(format!("{functions}\n{scenario}"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run the shell");
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        text
    }

    /// Every line of a program is prefixed with its role, including how it
    /// ended: no bare `Killed` or `Terminated` from the shell.
    #[test]
    fn killed_programs_keep_the_role_prefix() {
        let tag = std::process::id();
        let scenario = format!(
            "spawn victim{tag} sleep 30\n\
             spawn talker{tag} sh -c 'echo one; echo two >&2; exit 3'\n\
             spawn term{tag} sleep 30\n\
             stop victim{tag} -KILL\n\
             stop term{tag} -TERM\n\
             wait\n\
             rm -f /tmp/victim{tag}.* /tmp/talker{tag}.* /tmp/term{tag}.*\n"
        );
        let mut shells = vec![vec!["sh"]];
        if std::path::Path::new(crate::initramfs::HOST_BUSYBOX).is_file() {
            // The VM's shell.
            shells.push(vec![crate::initramfs::HOST_BUSYBOX, "sh"]);
        }
        for shell in shells {
            let output = run_functions(&shell, &scenario);
            for line in output.lines() {
                assert!(
                    line.starts_with("  ["),
                    "{shell:?}: bare line {line:?} in\n{output}"
                );
            }
            for expected in [
                format!("  [victim{tag}] (program killed by SIGKILL)"),
                format!("  [talker{tag}] one"),
                format!("  [talker{tag}] two"),
                format!("  [talker{tag}] (program exited with status 3)"),
                format!("  [term{tag}] (program stopped by SIGTERM)"),
            ] {
                assert!(
                    output.lines().any(|line| line == expected),
                    "{shell:?}: no {expected:?} in\n{output}"
                );
            }
        }
    }
}
