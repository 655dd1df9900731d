//! One VM run: pack the initramfs, boot QEMU (TCG), stream the serial console,
//! enforce the host-side timeout, and judge the result.
//!
//! QEMU exits 0 even after a kernel panic, so a run passes only when the init
//! script printed its final marker with status "ok" and the console holds no
//! kernel problem (oops, WARN, BUG, unknown symbol, hung task, ...).
//!
//! One exception is retried, once: the guest kernel crashing before init
//! started. Nothing of ours has run then (init loads the module and starts
//! the command), and TCG does this now and then: the 2026-12-04 CI run of
//! the 6.12 kernel hit an int3 oops in `sched_clock_cpu` during
//! `sched_init_debug`, untainted, with no module linked in, from a
//! cross-vCPU code patch the emulator did not see in time. The run boots
//! again and says so; a second crash before init fails it as usual.
//!
//! Reuse (e.g. a `bench` command):
//! ```text
//! let kernel = prepare_vm_host(Arch::X86_64)?;            // installs, picks the kernel
//! let module = kmod::build_ipcon(&workspace, &kernel)?;
//! let binaries = workspace::build_static_binaries(&workspace, kernel.arch, &["ipcon-samples"])?;
//! let mut run = VmRun::new("bench", kernel, "/bin/ipcon-bench --json");
//! run.module = Some(module);
//! run.files = binaries.iter().map(|b| GuestFile::binary(b)).collect();
//! run.vcpus = 2;
//! run.timeout = Duration::from_secs(600);
//! run.slab_debug = false;                                  // measure without allocator debugging
//! let outcome = vm::run(&run, &workspace.target_dir)?;     // outcome.run_lines(): what the command printed
//! ```
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::console::{self, KernelProblem};
use crate::initramfs::{self, GuestFile, InitConfig};
use crate::kernel::Kernel;
use crate::process;
use crate::progress::Progress;

/// How much of the console the user sees while the VM runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    /// Nothing live; an excerpt is printed on failure by the caller.
    Silent,
    /// Everything from the moment init starts (boot chatter is hidden).
    Live,
}

/// Everything one VM run needs; `bench` and the self-test reuse this.
#[derive(Clone, Debug)]
pub struct VmRun {
    /// Names the work directory under `<target>/xtask/vm/`.
    pub name: String,
    pub kernel: Kernel,
    /// Module loaded before the command and unloaded after it.
    pub module: Option<PathBuf>,
    pub module_params: String,
    pub files: Vec<GuestFile>,
    /// Shell script run (by busybox `sh`) once the module is loaded.
    pub command: String,
    /// Host-side limit for the whole run, boot included.
    pub timeout: Duration,
    pub vcpus: u32,
    pub memory_mib: u32,
    /// The guest's `hung_task_timeout_secs` (a hung task panics the kernel).
    pub hung_task_secs: u32,
    /// Allocator debugging (slub_debug, page poisoning): on for tests, off
    /// for measurements.
    pub slab_debug: bool,
    /// The same addresses every boot and every process (`nokaslr`,
    /// `norandmaps`): for measurements. Under TCG the emulated TLB and the
    /// translated-code caches are indexed by address, so a randomized layout
    /// makes the same code faster or slower from one boot (or process) to
    /// the next; tests keep randomization on.
    pub fixed_layout: bool,
    /// The guest's clock counts instructions (QEMU `-icount`, one
    /// instruction one nanosecond, no sleeping ahead of the host): what a
    /// measurement times is then the instructions executed, user and
    /// kernel, the same on every host and in every run. Memory latency,
    /// cache misses and the emulator's own translation costs count for
    /// nothing, so it complements the host-time figures, not replaces them.
    pub icount: bool,
    pub echo: Echo,
    /// Static busybox of the guest's architecture.
    pub busybox: PathBuf,
}

impl VmRun {
    /// Defaults for running `command` in a 2-vCPU, 1 GiB VM.
    pub fn new(name: &str, kernel: Kernel, command: &str) -> Self {
        VmRun {
            name: name.to_owned(),
            kernel,
            module: None,
            module_params: String::new(),
            files: Vec::new(),
            command: command.to_owned(),
            timeout: Duration::from_secs(300),
            vcpus: 2,
            memory_mib: 1024,
            hung_task_secs: 30,
            slab_debug: true,
            fixed_layout: false,
            icount: false,
            echo: Echo::Silent,
            busybox: initramfs::host_busybox(),
        }
    }
}

/// What happened in a VM run.
#[derive(Debug)]
pub struct VmOutcome {
    pub name: String,
    /// Serial console lines (and QEMU's own stderr, prefixed "qemu: ").
    pub lines: Vec<String>,
    nonce: String,
    expects_module: bool,
    pub timed_out: Option<Duration>,
    pub elapsed: Duration,
}

impl VmOutcome {
    /// The guest kernel's first problem, when it crashed before init
    /// started: nothing of ours ran (no init marker, no insmod), and the
    /// VM stopped by itself rather than by the host's timeout.
    pub fn crashed_before_init(&self) -> Option<String> {
        if self.marker("boot").is_some()
            || self.marker("insmod").is_some()
            || self.timed_out.is_some()
        {
            return None;
        }
        let problem = self.kernel_problems().into_iter().next()?;
        Some(format!("kernel {}: {}", problem.kind, problem.text))
    }

    fn marker(&self, event: &str) -> Option<&str> {
        self.lines
            .iter()
            .filter_map(|line| console::marker(line, &self.nonce))
            .find(|(name, _)| *name == event)
            .map(|(_, args)| args)
    }

    /// Console lines printed after init started (what the command printed,
    /// plus kernel messages); everything when init never started.
    pub fn run_lines(&self) -> &[String] {
        let boot = self
            .lines
            .iter()
            .position(|line| console::marker(line, &self.nonce).is_some_and(|m| m.0 == "boot"));
        &self.lines[boot.map_or(0, |index| index + 1)..]
    }

    pub fn kernel_problems(&self) -> Vec<KernelProblem> {
        console::kernel_problems(&self.lines)
    }

    /// Why the run failed; empty when it passed.
    pub fn failures(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        let end = self.marker("end");
        if let Some(limit) = self.timed_out.filter(|_| end.is_none()) {
            reasons.push(format!(
                "hang: no result within the {}s host timeout",
                limit.as_secs()
            ));
        }
        let mut kinds_seen = Vec::new();
        for problem in self.kernel_problems() {
            if !kinds_seen.contains(&problem.kind) {
                kinds_seen.push(problem.kind);
                reasons.push(format!("kernel {}: {}", problem.kind, problem.text));
            }
        }
        if self.marker("boot").is_none() {
            reasons.push("the VM's init never started".into());
        }
        if let Some(args) = self.marker("insmod").filter(|args| *args != "ok") {
            reasons.push(format!("insmod {args}"));
        } else if self.expects_module && self.marker("insmod").is_none() {
            reasons.push("insmod never returned".into());
        }
        if let Some(code) = self.marker("command-exit").filter(|code| *code != "0") {
            reasons.push(format!("the command exited with status {code}"));
        }
        if let Some(args) = self.marker("rmmod").filter(|args| *args != "ok") {
            reasons.push(format!("rmmod {args}"));
        }
        if end.is_none() && self.timed_out.is_none() {
            reasons.push("the VM stopped before init finished (kernel panic?)".into());
        }
        if let Some(status) = end.filter(|status| *status != "ok") {
            if reasons.is_empty() {
                reasons.push(format!("init finished with status {status}"));
            }
        }
        reasons
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The part of the console worth showing on failure: around the first
    /// kernel problem, else the last lines.
    pub fn excerpt(&self) -> &[String] {
        const BEFORE: usize = 15;
        const AFTER: usize = 60;
        match self.kernel_problems().first() {
            Some(problem) => {
                let start = problem.line.saturating_sub(BEFORE);
                let end = (problem.line + AFTER).min(self.lines.len());
                &self.lines[start..end]
            }
            None => &self.lines[self.lines.len().saturating_sub(AFTER)..],
        }
    }

    /// Prints the failure reasons and the console excerpt.
    pub fn report_failure(&self) {
        println!("---- {}: console excerpt ----", self.name);
        for line in self.excerpt() {
            println!("  | {line}");
        }
        println!("---- {}: failed ----", self.name);
        for reason in self.failures() {
            println!("  - {reason}");
        }
    }
}

fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}", nanos ^ (u128::from(std::process::id()) << 64))
}

/// The kernel parameters of [`VmRun::fixed_layout`]: no KASLR for the
/// kernel, no ASLR for processes.
pub const FIXED_LAYOUT_PARAMS: [&str; 2] = ["nokaslr", "norandmaps"];

/// QEMU's `-icount` setting of [`VmRun::icount`]: 2^0 ns per instruction,
/// the guest's clock not aligned to the host's, and idle time skipped
/// rather than slept.
pub const ICOUNT: &str = "shift=0,align=off,sleep=off";

fn kernel_command_line(run: &VmRun) -> String {
    let console = format!("console={},115200", run.kernel.arch.console());
    let mut words = vec![
        console.as_str(),
        "rdinit=/init",
        // Any oops, lockup or hung task panics; a panic stops the VM at once
        // (-no-reboot turns the reboot into QEMU exiting).
        "oops=panic",
        "panic=-1",
        "softlockup_panic=1",
        "hung_task_panic=1",
        // Quiet boot; init raises the console level to everything.
        "loglevel=4",
        "printk.time=1",
        "random.trust_cpu=on",
        "mitigations=off",
        "8250.nr_uarts=1",
    ];
    if run.slab_debug {
        // The distribution kernel has no KASAN; SLUB's own checks (sanity,
        // red zones, poisoning, owner tracking) still catch double frees,
        // overflows and many use-after-frees of the module's allocations.
        words.extend(["slub_debug=FZPU", "page_poison=1"]);
    }
    if run.fixed_layout {
        words.extend(FIXED_LAYOUT_PARAMS);
    }
    words.join(" ")
}

/// Packs the initramfs for `run` into `work_dir`.
fn pack(run: &VmRun, nonce: &str, work_dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(work_dir).map_err(|e| format!("{}: {e}", work_dir.display()))?;
    let config = InitConfig {
        nonce: nonce.to_owned(),
        module: run.module.clone(),
        module_params: run.module_params.clone(),
        command: run.command.clone(),
        hung_task_secs: run.hung_task_secs,
        busybox: run.busybox.clone(),
    };
    let archive = initramfs::assemble(&config, &run.files)?;
    let path = work_dir.join("initramfs.cpio.gz");
    initramfs::write_gzip(&archive, &path)?;
    Ok(path)
}

/// Boots the VM and waits for it to finish, crash or time out; boots once
/// more if the guest kernel crashed before init started (see the module's
/// documentation). `Err` only for host-side problems (QEMU missing, files
/// unreadable).
pub fn run(run: &VmRun, target_dir: &Path) -> Result<VmOutcome, String> {
    let work_dir = target_dir.join("xtask").join("vm").join(&run.name);
    let first = boot(run, &work_dir)?;
    let Some(crash) = first.crashed_before_init() else {
        return Ok(first);
    };
    let kept = work_dir.join("console-first-boot.log");
    std::fs::copy(work_dir.join("console.log"), &kept)
        .map_err(|e| format!("{}: {e}", kept.display()))?;
    println!(
        "xtask: {}: the guest kernel crashed before init started, with no module \
         loaded ({crash}; console in {}); booting once more",
        run.name,
        kept.display()
    );
    boot(run, &work_dir)
}

/// One boot of [`run`].
fn boot(run: &VmRun, work_dir: &Path) -> Result<VmOutcome, String> {
    let nonce = nonce();
    let initrd = pack(run, &nonce, work_dir)?;

    let mut qemu = Command::new(run.kernel.arch.qemu_binary());
    qemu.args(["-accel", "tcg"])
        .args(run.kernel.arch.qemu_machine())
        .args(["-smp", &run.vcpus.to_string()])
        .args(["-m", &run.memory_mib.to_string()])
        .arg("-kernel")
        .arg(&run.kernel.image)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", &kernel_command_line(run)])
        .args(["-nodefaults", "-display", "none", "-no-reboot"])
        .args(["-serial", "stdio"]);
    if run.icount {
        qemu.args(["-icount", ICOUNT]);
    }
    println!(
        "xtask: booting {} ({}, kernel {}, {} vCPUs, {} MiB, timeout {}s)",
        run.name,
        run.kernel.arch.name(),
        run.kernel.release,
        run.vcpus,
        run.memory_mib,
        run.timeout.as_secs()
    );
    let started = Instant::now();
    let mut child = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", process::display(&qemu)))?;

    let (sender, receiver) = mpsc::channel();
    let stdout_reader = process::spawn_line_reader(child.stdout.take(), sender.clone());
    let (err_sender, err_receiver) = mpsc::channel();
    let stderr_reader = process::spawn_line_reader(child.stderr.take(), err_sender);
    drop(sender);

    let mut lines = Vec::new();
    let mut deadline = started + run.timeout;
    let mut timed_out = None;
    let mut echoing = false;
    let mut progress = Progress::start(format!(
        "{} in the VM ({})",
        run.name,
        run.kernel.arch.name()
    ));
    progress.set_detail(format!("booting kernel {}", run.kernel.release));
    let mut tests = (0u32, 0u32);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(remaining.min(Duration::from_secs(1))) {
            Ok(line) => {
                let marker = console::marker(&line, &nonce).map(|(event, _)| event);
                if run.echo == Echo::Live && echoing && marker.is_none() {
                    progress.saw_output();
                    println!("{line}");
                }
                match marker {
                    Some("boot") => {
                        echoing = true;
                        progress.set_detail("running the command");
                    }
                    Some("end") => {
                        // Init is done; give the reboot a moment before killing QEMU.
                        deadline = deadline.min(Instant::now() + Duration::from_secs(10));
                        progress.set_detail("shutting down");
                        // What follows is the kernel's shutdown chatter.
                        echoing = false;
                    }
                    _ => {}
                }
                if echoing && marker.is_none() {
                    tests.0 += u32::from(line.starts_with("PASS "));
                    tests.1 += u32::from(line.starts_with("FAIL "));
                    if tests != (0, 0) {
                        progress
                            .set_detail(format!("{} passed, {} failed so far", tests.0, tests.1));
                    }
                }
                lines.push(line);
            }
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(RecvTimeoutError::Timeout) => {
                let finished = lines
                    .iter()
                    .any(|line| console::marker(line, &nonce).is_some_and(|m| m.0 == "end"));
                if !finished {
                    timed_out = Some(run.timeout);
                }
                let _ = child.kill();
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        progress.tick();
    }
    drop(progress);
    let _ = child.wait();
    let _ = stdout_reader.join();
    let _ = stderr_reader.join();
    lines.extend(err_receiver.try_iter().map(|line| format!("qemu: {line}")));

    let outcome = VmOutcome {
        name: run.name.clone(),
        lines,
        nonce,
        expects_module: run.module.is_some(),
        timed_out,
        elapsed: started.elapsed(),
    };
    std::fs::write(
        work_dir.join("console.log"),
        outcome.lines.join("\n") + "\n",
    )
    .map_err(|e| format!("{}: {e}", work_dir.display()))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(text: &str, timed_out: bool) -> VmOutcome {
        VmOutcome {
            name: "t".into(),
            lines: text.lines().map(str::to_owned).collect(),
            nonce: "n1".into(),
            expects_module: true,
            timed_out: timed_out.then(|| Duration::from_secs(9)),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn only_a_crash_before_init_boots_again() {
        let early = outcome(
            "[    4.999133] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n\
             [    5.010528] Kernel panic - not syncing: Fatal exception in interrupt",
            false,
        );
        let crash = early.crashed_before_init().expect("a crash before init");
        assert!(crash.contains("int3"), "{crash}");
        // Still a failure of that boot: only the second boot's outcome counts.
        assert!(!early.passed());
        // Once init ran, the module or the command may be the cause.
        let after_init = outcome(
            "@@xtask n1 boot\n[    4.9] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI",
            false,
        );
        assert_eq!(after_init.crashed_before_init(), None);
        let in_insmod = outcome(
            "@@xtask n1 insmod failed\n[    4.9] BUG: kernel NULL pointer dereference",
            false,
        );
        assert_eq!(in_insmod.crashed_before_init(), None);
        // A hang, or a boot that stopped without a kernel problem: no retry.
        let hung = outcome("[    4.9] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI", true);
        assert_eq!(hung.crashed_before_init(), None);
        assert_eq!(
            outcome("[    0.1] booting", false).crashed_before_init(),
            None
        );
    }

    #[test]
    fn clean_run_passes() {
        let run = outcome(
            "[    0.100000] boot noise\n@@xtask n1 boot\n@@xtask n1 insmod ok\nhello\n\
             @@xtask n1 command-exit 0\n@@xtask n1 rmmod ok\n@@xtask n1 end ok",
            false,
        );
        assert_eq!(run.failures(), Vec::<String>::new());
        assert_eq!(run.run_lines()[1], "hello");
    }

    #[test]
    fn panic_without_end_fails_with_the_reason() {
        let run = outcome(
            "@@xtask n1 boot\n@@xtask n1 insmod ok\n\
             [    3.000000] BUG: kernel NULL pointer dereference, address: 0\n\
             [    3.000100] Kernel panic - not syncing: Fatal exception",
            false,
        );
        let failures = run.failures();
        assert!(failures[0].starts_with("kernel NULL pointer dereference"));
        assert!(failures.iter().any(|f| f.contains("kernel panic")));
        assert!(failures.iter().any(|f| f.contains("stopped before init")));
        assert!(run.excerpt().iter().any(|l| l.contains("Kernel panic")));
    }

    #[test]
    fn hang_and_rmmod_failure_are_named() {
        let hang = outcome("@@xtask n1 boot\n@@xtask n1 insmod ok", true);
        assert!(hang.failures()[0].starts_with("hang:"));
        let leak = outcome(
            "@@xtask n1 boot\n@@xtask n1 insmod ok\n@@xtask n1 command-exit 0\n\
             rmmod: can't unload module 'x': Resource temporarily unavailable\n\
             @@xtask n1 rmmod failed (exit 1): rmmod: busy\n@@xtask n1 end fail",
            false,
        );
        assert_eq!(leak.failures(), ["rmmod failed (exit 1): rmmod: busy"]);
    }

    #[test]
    fn only_measurements_fix_the_address_layout() {
        let kernel = Kernel {
            arch: crate::kernel::Arch::X86_64,
            release: "6.1.0-1-amd64".into(),
            image: PathBuf::new(),
            build_dir: PathBuf::new(),
            make_vars: Vec::new(),
        };
        let mut run = VmRun::new("t", kernel, "true");
        let words = |run: &VmRun| {
            kernel_command_line(run)
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert!(!words(&run)
            .iter()
            .any(|w| w == "nokaslr" || w == "norandmaps"));
        run.fixed_layout = true;
        let fixed = words(&run);
        assert!(fixed.iter().any(|w| w == "nokaslr"));
        assert!(fixed.iter().any(|w| w == "norandmaps"));
    }

    #[test]
    fn forged_markers_do_not_count() {
        let run = outcome(
            "@@xtask n1 boot\n@@xtask n1 insmod ok\n@@xtask other end ok",
            false,
        );
        assert!(!run.passed());
    }
}
