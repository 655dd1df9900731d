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
    // The C peers: libipcon's samples.
    run.files
        .extend(crate::libipcon::guest_files(workspace, arch)?);
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
