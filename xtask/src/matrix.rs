//! The kernel matrix: Debian kernels other than the host's (older and newer
//! LTS series for x86_64, and arm64), fetched as packages into the target
//! directory, so the same end-to-end suite runs on each. Every kernel comes
//! with its headers and the amd64 kbuild tools of the same version, so the
//! module is built against exactly the kernel that boots (vermagic matches).
use std::path::{Path, PathBuf};

use crate::cross;
use crate::debian::{self, Part, PrivateApt};
use crate::host_tools;
use crate::kernel::{self, Arch, Kernel};
use crate::suite::{self, StepResult};
use crate::workspace::{self, Workspace};

/// A Debian kernel of the matrix: where its packages come from.
#[derive(Clone, Copy, Debug)]
pub struct MatrixKernel {
    /// Summary-line suffix and cache name: `vm-x86_64-5.10`, `vm-aarch64`.
    pub label: &'static str,
    pub arch: Arch,
    /// Suites whose meta-packages pick the version (several for updates).
    pub suites: &'static [&'static str],
    /// Multiplies the e2e tests' deadlines (`IPCON_E2E_TIMEOUT_SCALE`).
    pub timeout_scale: u32,
}

/// Debian 11's 5.10, the oldest LTS series BSPs still carry.
pub const BULLSEYE_5_10: MatrixKernel = MatrixKernel {
    label: "x86_64-5.10",
    arch: Arch::X86_64,
    suites: &["bullseye", "bullseye-updates", "bullseye-security"],
    timeout_scale: 1,
};

/// bookworm-backports' 6.12, the newest LTS series.
pub const BACKPORTS_6_12: MatrixKernel = MatrixKernel {
    label: "x86_64-6.12",
    arch: Arch::X86_64,
    suites: &["bookworm-backports"],
    timeout_scale: 1,
};

/// Debian 12's arm64 kernel (the host's series, other architecture).
pub const BOOKWORM_ARM64: MatrixKernel = MatrixKernel {
    label: "aarch64",
    arch: Arch::Aarch64,
    suites: &["bookworm", "bookworm-updates", "bookworm-security"],
    // Emulating another CPU under TCG: the 100k-message fuzz test takes
    // about twice as long as on x86_64 (measured ~110 s vs > 150 s).
    timeout_scale: 3,
};

/// Every matrix kernel, in the order `cargo xtask test` runs them.
pub const ALL: &[MatrixKernel] = &[BOOKWORM_ARM64, BULLSEYE_5_10, BACKPORTS_6_12];

/// What the matrix divides the stress tests' iteration counts by
/// (`IPCON_E2E_STRESS_DIVISOR`).
const STRESS_DIVISOR: u32 = 5;

/// Host-side limit for one matrix run (arm64 under TCG is the slowest).
const SUITE_TIMEOUT_SECS: u64 = 900;

/// Fetches `kernel` and runs the end-to-end suite on it; the summary line is
/// `vm-<label>: N passed, N failed`.
pub fn vm_suite(workspace: &Workspace, kernel: &MatrixKernel) -> StepResult {
    let prepared = prepare(workspace, kernel)?;
    prepared.run(workspace)
}

/// The whole matrix as one step: kernels fetched and binaries built one
/// after the other (that is CPU work), then the VMs booted side by side.
/// The suite mostly waits (sleeps, deadlines, the other side of a socket),
/// so three VMs at once take little longer than the slowest one alone.
pub fn step(workspace: &Workspace) -> StepResult {
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    let mut ready = Vec::new();
    for kernel in ALL {
        match prepare(workspace, kernel) {
            Ok(prepared) => ready.push(prepared),
            Err((lines, reason)) => {
                summaries.extend(lines);
                failures.push(format!("vm-{}: {reason}", kernel.label));
            }
        }
    }
    let results: Vec<(String, StepResult)> = std::thread::scope(|scope| {
        let runs: Vec<_> = ready
            .iter()
            .map(|prepared| {
                (
                    prepared.label.clone(),
                    scope.spawn(|| prepared.run(workspace)),
                )
            })
            .collect();
        runs.into_iter()
            .map(|(label, run)| {
                let result = run.join().unwrap_or_else(|_| {
                    Err((
                        vec![format!("{label}: 0 passed, 1 failed")],
                        "the VM runner panicked".into(),
                    ))
                });
                (label, result)
            })
            .collect()
    });
    for (label, result) in results {
        match result {
            Ok(lines) => summaries.extend(lines),
            Err((lines, reason)) => {
                summaries.extend(lines);
                failures.push(format!("{label}: {reason}"));
            }
        }
    }
    if failures.is_empty() {
        Ok(summaries)
    } else {
        Err((summaries, failures.join("; ")))
    }
}

/// A matrix kernel ready to boot: fetched, with its binaries built.
#[derive(Debug)]
struct Prepared {
    label: String,
    fetched: Fetched,
    binaries: Vec<PathBuf>,
    command: String,
}

fn prepare(
    workspace: &Workspace,
    kernel: &MatrixKernel,
) -> Result<Prepared, (Vec<String>, String)> {
    let label = format!("vm-{}", kernel.label);
    let not_run = |reason: String| (vec![format!("{label}: 0 passed, 1 failed")], reason);
    prepare_host(workspace, kernel.arch).map_err(not_run)?;
    let fetched = kernel.fetch(workspace).map_err(not_run)?;
    // arm64 runs the shipped (min-size) binaries the cross step built; the
    // x86_64 kernels share the main VM step's build.
    let binaries = match kernel.arch {
        Arch::X86_64 => {
            workspace::build_static_binaries(workspace, kernel.arch, workspace::VM_PACKAGES)
        }
        _ => cross::build_programs(workspace, kernel.arch.musl_triple()),
    }
    .map_err(not_run)?;
    // Built here, one after the other, not in the VMs' threads.
    crate::libipcon::guest_files(workspace, kernel.arch).map_err(not_run)?;
    // Every test runs on every kernel; the stress tests' counts (10,000
    // port races, 100,000 fuzzed messages, 1,500 leak-probe rounds, 10,000
    // calls in flight) run in
    // full in the main VM step and divided here, where three guests share
    // the host's CPUs.
    let command = format!(
        "IPCON_E2E_TIMEOUT_SCALE={} IPCON_E2E_STRESS_DIVISOR={STRESS_DIVISOR} /bin/ipcon-e2e",
        kernel.timeout_scale
    );
    Ok(Prepared {
        label,
        fetched,
        binaries,
        command,
    })
}

impl Prepared {
    fn run(&self, workspace: &Workspace) -> StepResult {
        suite::vm_suite_on(
            workspace,
            &self.fetched.kernel,
            &self.fetched.busybox,
            &self.binaries,
            &self.label,
            &self.command,
            std::time::Duration::from_secs(SUITE_TIMEOUT_SECS),
        )
    }
}

/// QEMU for the architecture and the Rust target of its user space.
fn prepare_host(workspace: &Workspace, arch: Arch) -> Result<(), String> {
    let mut packages = host_tools::VM_PACKAGES.to_vec();
    packages.extend_from_slice(host_tools::CROSS_PACKAGES);
    if arch == Arch::Aarch64 {
        packages.push("qemu-system-arm");
    }
    host_tools::ensure_packages(&packages)?;
    host_tools::ensure_static_busybox(&workspace.xtask_dir())?;
    host_tools::ensure_rust_target(arch.musl_triple())
}

/// `cargo xtask matrix [LABEL...]`.
pub fn command(workspace: &Workspace, labels: &[String]) -> Result<(), String> {
    if labels.is_empty() {
        let (lines, result) = match step(workspace) {
            Ok(lines) => (lines, Ok(())),
            Err((lines, reason)) => (lines, Err(reason)),
        };
        for line in lines {
            println!("{line}");
        }
        return result;
    }
    // Named kernels run one after the other (their console output stays
    // readable); all of them run side by side, as in `cargo xtask test`.
    let chosen: Vec<&MatrixKernel> = labels
        .iter()
        .map(|label| {
            ALL.iter().find(|k| k.label == label).ok_or_else(|| {
                let known: Vec<&str> = ALL.iter().map(|k| k.label).collect();
                format!("unknown matrix kernel {label:?} (known: {known:?})")
            })
        })
        .collect::<Result<_, _>>()?;
    let mut failed = Vec::new();
    for kernel in chosen {
        let (lines, result) = match vm_suite(workspace, kernel) {
            Ok(lines) => (lines, Ok(())),
            Err((lines, reason)) => (lines, Err(reason)),
        };
        for line in lines {
            println!("{line}");
        }
        if let Err(reason) = result {
            println!("vm-{}: {reason}", kernel.label);
            failed.push(kernel.label);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("the suite failed on {failed:?}"))
    }
}

/// A fetched kernel, with the guest busybox for its architecture.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub kernel: Kernel,
    pub busybox: PathBuf,
}

impl MatrixKernel {
    fn apt(&self, workspace: &Workspace) -> PrivateApt {
        let mut architectures = vec!["amd64"];
        if self.arch.debian_arch() != "amd64" {
            architectures.push(self.arch.debian_arch());
        }
        PrivateApt::new(
            workspace.xtask_dir().join("debian").join(self.label),
            &architectures,
            self.suites,
        )
    }

    /// Fetches (or reuses) kernel image, headers and kbuild tools, and for a
    /// foreign architecture its static busybox.
    pub fn fetch(&self, workspace: &Workspace) -> Result<Fetched, String> {
        let apt = self.apt(workspace);
        apt.update()?;
        let flavour = self.arch.debian_flavour();
        let arch = self.arch.debian_arch();
        let meta = format!("linux-image-{flavour}:{arch}");
        let depends = apt.depends(&meta)?;
        let release = kernel::release_from_depends(&depends, "linux-image-", flavour)
            .ok_or_else(|| format!("cannot tell the kernel release from {meta}: {depends:?}"))?;
        let image_package = format!("linux-image-{release}:{arch}");
        let headers_package = format!("linux-headers-{release}:{arch}");
        let version = apt.version(&headers_package)?;

        // The headers need their `-common` tree and kbuild's host tools;
        // the tools are taken for amd64, as they run on this host.
        // Of the image only the kernel: the guest loads no module of the
        // distribution, and its modules are three quarters of the package.
        let mut packages = vec![
            Part::only(image_package, &["./boot"]),
            Part::whole(headers_package.clone()),
        ];
        for name in debian::dependency_names(&apt.depends(&headers_package)?) {
            if name.starts_with("linux-headers-") {
                packages.push(Part::whole(name));
            } else if name.starts_with("linux-kbuild-") {
                packages.push(Part::whole(format!("{name}:amd64")));
            }
        }
        let tree = workspace
            .xtask_dir()
            .join("debian")
            .join(self.label)
            .join(format!("tree-{release}-{version}"));
        let build_dir = tree.join(format!("usr/src/linux-headers-{release}"));
        if apt.unpack(&packages, &tree)? {
            relocate_build_tree(&tree, &build_dir)?;
            PrivateApt::finish(&tree)?;
        }
        let image = tree.join(format!("boot/vmlinuz-{release}"));
        if !image.is_file() {
            return Err(format!("{} is missing", image.display()));
        }
        let mut make_vars: Vec<String> = self
            .arch
            .kbuild_vars()
            .iter()
            .map(|v| (*v).into())
            .collect();
        if let Some(cc) = missing_compiler(&build_dir, self.arch) {
            make_vars.push(cc);
        }
        println!("xtask: kernel {release} ({version}) in {}", tree.display());

        let busybox = match self.arch {
            Arch::X86_64 => crate::initramfs::host_busybox(),
            _ => {
                let package = format!("busybox-static:{arch}");
                let version = apt.version(&package)?.replace(':', "%3a");
                let tree = tree.with_file_name(format!("busybox-static_{version}_{arch}"));
                if apt.unpack(&[Part::whole(package)], &tree)? {
                    PrivateApt::finish(&tree)?;
                }
                tree.join("bin/busybox")
            }
        };
        Ok(Fetched {
            kernel: Kernel {
                arch: self.arch,
                release,
                image,
                build_dir,
                make_vars,
            },
            busybox,
        })
    }
}

/// The headers name their `-common` tree and kbuild's tools by installed,
/// absolute paths (`include /usr/src/...`, symlinks into `/usr/lib/...`);
/// points them into `tree`.
fn relocate_build_tree(tree: &Path, build_dir: &Path) -> Result<(), String> {
    let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    let makefile = build_dir.join("Makefile");
    let text = std::fs::read_to_string(&makefile).map_err(|e| io(&makefile, e))?;
    let relocated = relocate_makefile(&text, tree);
    if relocated != text {
        std::fs::write(&makefile, relocated).map_err(|e| io(&makefile, e))?;
    }
    let src = tree.join("usr/src");
    for entry in std::fs::read_dir(&src).map_err(|e| io(&src, e))?.flatten() {
        for name in ["scripts", "tools"] {
            let link = entry.path().join(name);
            let Ok(target) = std::fs::read_link(&link) else {
                continue;
            };
            if let Ok(inside) = target.strip_prefix("/") {
                std::fs::remove_file(&link).map_err(|e| io(&link, e))?;
                std::os::unix::fs::symlink(tree.join(inside), &link).map_err(|e| io(&link, e))?;
            }
        }
    }
    Ok(())
}

fn relocate_makefile(text: &str, tree: &Path) -> String {
    text.replace(" /usr/src/", &format!(" {}/usr/src/", tree.display()))
}

/// `CC=<prefix>gcc` when the headers ask for a versioned compiler this host
/// lacks (5.10's headers want gcc-10; bookworm has gcc-12).
fn missing_compiler(build_dir: &Path, arch: Arch) -> Option<String> {
    let variables = std::fs::read_to_string(build_dir.join(".kernelvariables")).ok()?;
    let wanted = requested_gcc(&variables)?;
    let prefix = match arch {
        Arch::X86_64 => "",
        Arch::Aarch64 => "aarch64-linux-gnu-",
    };
    let compiler = format!("{prefix}{wanted}");
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(&compiler).is_file()));
    (!found).then(|| format!("CC={prefix}gcc"))
}

/// `gcc-10` from `.kernelvariables`' `CC = ... gcc-10`.
fn requested_gcc(variables: &str) -> Option<String> {
    let line = variables
        .lines()
        .find(|line| line.trim_start().starts_with("CC ") || line.starts_with("CC="))?;
    let word = line.split_whitespace().last()?;
    let name = word.rsplit(')').next()?;
    name.starts_with("gcc-").then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makefile_include_points_into_the_tree() {
        let text = "include /usr/src/linux-headers-5.10.0-35-common/Makefile\n";
        assert_eq!(
            relocate_makefile(text, Path::new("/t/tree")),
            "include /t/tree/usr/src/linux-headers-5.10.0-35-common/Makefile\n"
        );
    }

    #[test]
    fn requested_compiler_is_found() {
        let variables = "CCACHE = ccache\n\
            CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-10\n";
        assert_eq!(requested_gcc(variables).as_deref(), Some("gcc-10"));
        assert_eq!(requested_gcc("ARCH = x86\n"), None);
    }
}
