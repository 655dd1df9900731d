//! `cargo xtask`: ipcon's build, VM and test runner. See `cargo xtask help`.
mod bench;
mod codegen;
mod console;
mod cpio;
mod cross;
mod dbus;
mod debian;
mod demo;
mod disk;
mod elf;
mod fuzz;
mod host_tools;
mod initramfs;
mod kernel;
mod kmod;
mod libipcon;
mod matrix;
mod packaging;
mod plot;
mod process;
mod profile;
mod progress;
mod selftest;
mod suite;
mod ubus;
mod vm;
mod workspace;
mod ynl;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use initramfs::GuestFile;
use kernel::Arch;
use workspace::Workspace;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  demo                 build the module and the samples, boot a VM and play the
                       tutorial's scenario live (the README's quick start, a
                       server, subscribers, a sender, kernel events)
  test                 run every check and print one summary line per step;
                       what CI runs (the steps are listed below)
  codegen [--check]    generate the uapi header, the kernel's policies and ops
                       table and ipcon-core's spec and messages from
                       kmod/ipcon.yaml; --check only compares (fails on drift)
  ynl                  the kernel's YNL tools on kmod/ipcon.yaml (pinned Debian
                       linux-source): schema validation, ynl_gen_c.py in uapi,
                       kernel and user modes, the uapi header compared with ours,
                       and a C client built from YNL's user code run against the
                       module in the VM
  vm [options]         boot the VM with kmod/ipcon.ko and the static binaries,
                       run a command, judge the run (exit 0 only if it passed)
      --run CMD        shell command to run inside the VM (default: /bin/ipcon-e2e)
      --timeout SECS   host-side limit for the whole run (default 900)
      --vcpus N        virtual CPUs (default 2)
      --memory MIB     guest memory (default 1024)
      --params P       module parameters for insmod, e.g. 'max_peers=4'
      --module PATH    load this .ko instead of building kmod/
      --no-module      do not load any module
      --no-slab-debug  boot without slub_debug/page_poison (for measurements)
      --fixed-layout   boot with nokaslr norandmaps, as `bench` does: under
                       emulation ipcon's figures move by a third with the
                       address layout (for measurements)
      --icount         the guest's clock counts instructions (see bench --icount)
      --file HOST[:GUEST]  also copy a host file into the VM (default /bin/NAME);
                       programs must be static, as the VM has no dynamic
                       loader: build Rust ones with --target x86_64-unknown-linux-musl
  matrix [LABEL...]    the VM suite on the kernel matrix (aarch64, x86_64-5.10,
                       x86_64-6.12; default all, side by side), the kernels
                       fetched into target/ through private apt lists
  cross                ARM cross builds (static) and their size report, with
                       libipcon's (libipcon.so and a static C server for arm64)
  libipcon             build and install libipcon (ipcon-c/install.sh) and the C
                       programs against it (static musl, dynamic glibc); checks
  fuzz                 the fuzz targets of ipcon-core/fuzz (a nightly toolchain
                       and cargo-fuzz are installed if missing)
  packaging            the real bitbake and Buildroot on meta-ipcon/ and buildroot/
                       (snapshots from ../shared/vendor/; `test` runs it in the
                       background from setup on)
  bench [options]      benchmarks (not part of `test`): ipcon-core micro-benchmarks
                       on the host, then ipcon against Unix sockets, pipes and a
                       raw netlink loop in one VM boot (1 vCPU, no slub_debug);
                       prints the median table and ratios, writes
                       target/bench/results.json and results.md
      --runs N         runs of every measurement (default 3; median reported)
      --quick          one short run (smoke test)
      --only SHAPE     only unicast, rtt or fanout
      --impl NAMES     only these implementations (e.g. ipcon-post,raw-post,genl-floor)
      --no-micro       skip the host micro-benchmarks
      --random-layout  keep address randomization (KASLR, ASLR) on in the guest;
                       by default it is off, so that boots and processes measure
                       the same layout (TCG's caches are indexed by address)
      --icount         the guest's clock counts instructions (QEMU -icount, 1 ns
                       each): figures in executed instructions, the same on any
                       host and in every run; memory and cache costs count nothing
      --timeout SECS   host-side limit for the VM run (default 300 + 480 per run)
  profile [options]    where the kernel's time goes: one short benchmark run under
                       ftrace's function_graph in the VM, folded into CPU time per
                       call path below each netlink/Unix-socket send and receive;
                       writes target/bench/profile.md
      --only SHAPE     unicast, rtt (default) or fanout
      --impl NAMES     implementations (default ipcon-post,uds-seqpacket)
      --size BYTES     unicast payload size only
      --subscribers N  fan-out subscriber count only
      --depth N        call depth traced below a root (default 10)
      --show N         call depth listed (default 4)
      --icount         the guest's clock counts instructions: paths in thousands
                       of instructions
  selftest             only the harness self-test (deliberately broken modules)
  help                 this text
";

const ENVIRONMENT: &str = "\
Environment:
  XTASK_SKIP=a,b       skip `test` steps by name (reported as skipped)
  IPCON_FUZZ_SECONDS   seconds per fuzz target (default 10)

Examples:
  cargo xtask demo
  XTASK_SKIP=vm-matrix,fuzz cargo xtask test
  cargo xtask vm --run '/bin/ipcon-e2e cli'
  cargo xtask vm --run 'ipcon --help'
";

/// The whole help: the commands, `test`'s steps, the environment.
fn help_text() -> String {
    let mut text = String::from(HELP);
    text.push_str("\nSteps of `test`, in order (names for XTASK_SKIP):\n");
    for (name, what) in suite::STEPS {
        text.push_str(&format!("  {name:<20} {what}\n"));
    }
    text.push('\n');
    text.push_str(ENVIRONMENT);
    text
}

/// What a command runs, given the workspace and the arguments after its name.
type Command = fn(&Workspace, &[String]) -> Result<(), String>;

/// Fails when a command that takes no arguments got some.
fn no_arguments(name: &str, args: &[String]) -> Result<(), String> {
    match args.first() {
        None => Ok(()),
        Some(extra) => Err(format!(
            "{name} takes no arguments (got {extra:?}); try `cargo xtask help`"
        )),
    }
}

/// The command named `name`.
fn command(name: &str) -> Option<Command> {
    Some(match name {
        "vm" => vm_command,
        "test" => |w, args| no_arguments("test", args).and_then(|()| suite::run(w)),
        "demo" => |w, args| no_arguments("demo", args).and_then(|()| demo::run(w)),
        "selftest" => |w, args| no_arguments("selftest", args).and_then(|()| selftest_command(w)),
        "matrix" => matrix::command,
        "cross" => |w, args| no_arguments("cross", args).and_then(|()| cross::command(w)),
        "libipcon" => {
            |w, args| no_arguments("libipcon", args).and_then(|()| print_step(libipcon::step(w)))
        }
        "fuzz" => |w, args| no_arguments("fuzz", args).and_then(|()| fuzz::run(&w.root)),
        "packaging" => |w, args| {
            no_arguments("packaging", args).and_then(|()| {
                if let Some(reason) = packaging::unavailable(&w.root) {
                    println!("packaging: skipped: {reason}");
                    return Ok(());
                }
                packaging::run(&w.root)
            })
        },
        "codegen" => |w, args| codegen::command(&w.root, args),
        "ynl" => |w, args| no_arguments("ynl", args).and_then(|()| ynl::command(w)),
        "bench" => bench::command,
        "profile" => profile::command,
        "help" | "--help" | "-h" => |_, _| {
            print!("{}", help_text());
            Ok(())
        },
        _ => return None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workspace = Workspace::locate();
    let name = args.first().map_or("help", String::as_str);
    let result = match command(name) {
        Some(run) => run(&workspace, args.get(1..).unwrap_or_default()),
        None => Err(format!("unknown command {name:?}; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a step's summary lines; `Err` with its reason if it failed.
fn print_step(result: suite::StepResult) -> Result<(), String> {
    let (lines, result) = match result {
        Ok(lines) => (lines, Ok(())),
        Err((lines, reason)) => (lines, Err(reason)),
    };
    for line in lines {
        println!("{line}");
    }
    result
}

fn selftest_command(workspace: &Workspace) -> Result<(), String> {
    let kernel = prepare_vm_host(Arch::X86_64)?;
    let summary = selftest::run(workspace, &kernel)?;
    println!("{summary}");
    Ok(())
}

/// Installs the host tools a VM run needs and returns the kernel to boot.
pub fn prepare_vm_host(arch: Arch) -> Result<kernel::Kernel, String> {
    host_tools::ensure_packages(host_tools::VM_PACKAGES)?;
    host_tools::ensure_static_busybox(&Workspace::locate().xtask_dir())?;
    host_tools::ensure_rust_target(arch.musl_triple())?;
    kernel::debian_kernel(arch)
}

fn option_value<'a>(args: &'a [String], index: &mut usize, name: &str) -> Result<&'a str, String> {
    *index += 1;
    args.get(*index)
        .map(String::as_str)
        .ok_or_else(|| format!("{name} needs a value"))
}

fn parse_number(text: &str, name: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{name}: {text:?} is not a number"))
}

fn vm_command(workspace: &Workspace, args: &[String]) -> Result<(), String> {
    let arch = Arch::X86_64;
    let mut command: Option<String> = None;
    let mut timeout = 900;
    let mut vcpus = 2;
    let mut memory = 1024;
    let mut params = String::new();
    let mut module_choice: Option<Option<PathBuf>> = None;
    let mut extra_files = Vec::new();
    let mut slab_debug = true;
    let mut fixed_layout = false;
    let mut icount = false;
    let mut index = 0;
    while index < args.len() {
        let name = args[index].as_str();
        match name {
            "--run" => command = Some(option_value(args, &mut index, name)?.to_owned()),
            "--timeout" => timeout = parse_number(option_value(args, &mut index, name)?, name)?,
            "--vcpus" => vcpus = parse_number(option_value(args, &mut index, name)?, name)?,
            "--memory" => memory = parse_number(option_value(args, &mut index, name)?, name)?,
            "--params" => params = option_value(args, &mut index, name)?.to_owned(),
            "--module" => {
                module_choice = Some(Some(PathBuf::from(option_value(args, &mut index, name)?)))
            }
            "--no-module" => module_choice = Some(None),
            "--no-slab-debug" => slab_debug = false,
            "--fixed-layout" => fixed_layout = true,
            "--icount" => icount = true,
            "--file" => {
                let spec = option_value(args, &mut index, name)?;
                let (host, guest) = match spec.split_once(':') {
                    Some((host, guest)) => (PathBuf::from(host), Some(guest.to_owned())),
                    None => (PathBuf::from(spec), None),
                };
                let mut file = GuestFile::binary(&host);
                if let Some(guest) = guest {
                    file.guest = guest;
                }
                extra_files.push(file);
            }
            other => return Err(format!("vm: unknown option {other:?}")),
        }
        index += 1;
    }

    // Before building and booting anything: a dynamic program cannot run
    // in the VM.
    for file in &extra_files {
        let is_elf = std::fs::read(&file.host)
            .map_err(|e| format!("--file {}: {e}", file.host.display()))?
            .starts_with(b"\x7fELF");
        if is_elf {
            elf::require_static(&file.host).map_err(|e| format!("--file {e}"))?;
        }
    }
    let kernel = prepare_vm_host(arch)?;
    let module = match module_choice {
        Some(choice) => choice,
        None if kmod::has_module(&workspace.root.join("kmod")) => {
            Some(kmod::build_ipcon(workspace, &kernel)?)
        }
        None => {
            println!("xtask: kmod/ has no Kbuild or Makefile yet; booting without a module");
            None
        }
    };
    let binaries = workspace::build_static_binaries(workspace, arch, workspace::VM_PACKAGES)?;
    let e2e = command.is_none();
    // The e2e suite's version test loads a module of the next protocol version.
    let skew = match &module {
        Some(_) => Some(kmod::build_ipcon_version_skew(workspace, &kernel)?),
        None => None,
    };
    let command = command.unwrap_or_else(|| "/bin/ipcon-e2e".to_owned());
    let mut run = vm::VmRun::new("command", kernel, &command);
    run.module = module;
    run.module_params = params;
    run.files = binaries.iter().map(|b| GuestFile::binary(b)).collect();
    run.files.extend(skew.map(kmod::version_skew_guest_file));
    run.files.extend(libipcon::guest_files(workspace, arch)?);
    run.files.extend(extra_files);
    run.timeout = Duration::from_secs(timeout.into());
    run.vcpus = vcpus;
    run.memory_mib = memory;
    run.slab_debug = slab_debug;
    run.fixed_layout = fixed_layout;
    run.icount = icount;
    run.echo = vm::Echo::Live;
    let outcome = vm::run(&run, &workspace.target_dir)?;
    let label = format!("vm-{}", arch.name());
    if e2e {
        // The suite's own verdict: counts, and "no results" is a failure.
        let (summary, failures) = suite::judge_e2e(&outcome, &label);
        println!("{summary}");
        return if failures.is_empty() {
            Ok(())
        } else {
            Err(format!("{label}: e2e suite failed"))
        };
    }
    if outcome.passed() {
        println!(
            "vm-{}: run passed in {:.1}s",
            arch.name(),
            outcome.elapsed.as_secs_f64()
        );
        Ok(())
    } else {
        outcome.report_failure();
        Err(format!("vm-{}: run failed", arch.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the repository (not build output), for text checks.
    fn repository_files(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "corpus" | "artifacts") {
                    repository_files(&path, found);
                }
            } else {
                found.push(path);
            }
        }
    }

    /// The `cargo xtask NAME` commands a text names.
    fn named_commands(text: &str) -> Vec<String> {
        text.match_indices("cargo xtask ")
            .map(|(at, prefix)| {
                text[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty())
            .collect()
    }

    #[test]
    fn every_command_the_repository_names_exists() {
        let root = Workspace::locate().root;
        let mut files = Vec::new();
        repository_files(&root, &mut files);
        assert!(files.len() > 50, "found only {} files", files.len());
        let mut missing = Vec::new();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for name in named_commands(&text) {
                if command(&name).is_none() {
                    missing.push(format!("{}: cargo xtask {name}", file.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "commands that do not exist: {missing:#?}"
        );
    }

    #[test]
    fn help_lists_every_command_and_step() {
        let help = help_text();
        let listed: Vec<&str> = help
            .lines()
            .skip_while(|line| *line != "Commands:")
            .skip(1)
            .take_while(|line| !line.is_empty())
            .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        for name in &listed {
            assert!(
                command(name).is_some(),
                "help lists {name:?}, which does not run"
            );
        }
        for name in [
            "demo", "test", "codegen", "ynl", "vm", "matrix", "cross", "fuzz", "bench", "selftest",
        ] {
            assert!(listed.contains(&name), "help does not list {name:?}");
        }
        for (step, _) in suite::STEPS {
            assert!(
                help.contains(&format!("\n  {step} ")),
                "help lacks step {step}"
            );
        }
        assert_eq!(
            named_commands("`cargo xtask vm --run x`, cargo xtask <cmd>"),
            ["vm"]
        );
    }
}
