//! libipcon, the C library (crate `ipcon-c`), built and installed the way a
//! distribution does: `cargo build -p ipcon-c`, then `ipcon-c/install.sh`
//! into a staging root. Then the C programs (`samples/c`, `tests/c`) are
//! built against the installed header and library through `pkg-config`,
//! with `-std=c99 -Wall -Wextra -Werror -pedantic`:
//!
//! - static, against musl, with `zig cc` (PyPI's `ziglang`, in a venv under
//!   `target/`): one toolchain with musl's headers and C library for every
//!   target. Debian's `musl-tools` is x86_64 only, and the musl that rustup's
//!   musl targets ship has no headers.
//! - dynamic, against glibc, with the system's gcc (cross gcc for arm64):
//!   what a Debian or Yocto user does.
//! - x86_64 only, the dynamic build again with gcc's AddressSanitizer (and
//!   its LeakSanitizer), for the VM suite's leak and memory-error check
//!   ([`build_sanitized`]).
//!
//! The `libipcon` step checks the result: nm (no Rust std, no unwinder, the
//! exported symbols exactly the map's, all versioned), the header as C99
//! and C++, and the programs building both ways. The VM suite runs them
//! ([`guest_files`]); `cargo xtask cross` reports their sizes.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::host_tools;
use crate::initramfs::GuestFile;
use crate::kernel::Arch;
use crate::process;
use crate::suite::StepResult;
use crate::workspace::Workspace;

/// Debian packages the C builds need (venv for zig; pkg-config; nm).
pub const C_PACKAGES: &[&str] = &[
    "pkg-config",
    "python3-venv",
    "binutils",
    "g++",
    "libc6-dev-arm64-cross",
];
/// The `ziglang` release whose `zig cc` builds the static C programs.
const ZIG_VERSION: &str = "0.17.0";
/// The link flag of arm64 libraries for 4 KiB-page kernels.
const PAGES_4K: &str = "-Wl,-z,max-page-size=4096";
/// What every C program is built with: the bar for the header.
const C_FLAGS: &[&str] = &[
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-Os",
];

/// How the C side links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linking {
    /// musl, zig cc, `libipcon.a`.
    Static,
    /// glibc, gcc, `libipcon.so.0`.
    Dynamic,
}

/// A C build for one architecture and linking.
#[derive(Debug, Clone, Copy)]
pub struct Flavour {
    pub arch: Arch,
    pub linking: Linking,
}

impl Flavour {
    fn triple(self) -> &'static str {
        match (self.arch, self.linking) {
            (arch, Linking::Static) => arch.musl_triple(),
            (Arch::X86_64, Linking::Dynamic) => "x86_64-unknown-linux-gnu",
            (_, Linking::Dynamic) => "aarch64-unknown-linux-gnu",
        }
    }

    /// The cargo profile: arm64 ships the small-binary one.
    fn profile(self) -> &'static str {
        match self.arch {
            Arch::X86_64 => "release",
            _ => crate::cross::PROFILE,
        }
    }

    fn label(self) -> String {
        let linking = match self.linking {
            Linking::Static => "static",
            Linking::Dynamic => "dynamic",
        };
        format!("{}-{linking}", self.arch.name())
    }

    /// The C compiler, as words.
    fn cc(self, workspace: &Workspace) -> Result<Vec<String>, String> {
        Ok(match (self.arch, self.linking) {
            (arch, Linking::Static) => {
                let mut cc = zig(workspace)?;
                let target = match arch {
                    Arch::X86_64 => "x86_64-linux-musl",
                    _ => "aarch64-linux-musl",
                };
                cc.extend(["cc".into(), "-target".into(), target.into()]);
                cc
            }
            (Arch::X86_64, Linking::Dynamic) => vec!["gcc".into()],
            (_, Linking::Dynamic) => vec!["aarch64-linux-gnu-gcc".into()],
        })
    }

    /// Extra link flags of the shared library. arm64: 4 KiB pages (Debian's
    /// and most routers' arm64 kernels). The linker's default, 64 KiB
    /// segment alignment (for 64 KiB-page kernels too), pads the RELRO
    /// segment to a 64 KiB boundary: 37 KiB of zeros in a 95 KiB library.
    /// `cargo xtask cross` reports both.
    fn ldflags(self) -> &'static str {
        match (self.arch, self.linking) {
            (Arch::Aarch64, Linking::Dynamic) => PAGES_4K,
            _ => "",
        }
    }

    fn strip(self) -> &'static str {
        match self.arch {
            Arch::X86_64 => "strip",
            _ => "aarch64-linux-gnu-strip",
        }
    }
}

/// What a C build produced.
#[derive(Debug, Clone)]
pub struct CBuild {
    pub flavour: Flavour,
    /// The staging root install.sh filled (`usr/lib`, `usr/include`).
    pub sysroot: PathBuf,
    /// The programs, by their source's stem (`ipcon_server`, ...).
    pub programs: Vec<PathBuf>,
}

impl CBuild {
    /// The installed shared library (the file, not a link).
    pub fn shared_library(&self) -> Result<PathBuf, String> {
        let lib = self.sysroot.join("usr/lib");
        let link = lib.join("libipcon.so.0");
        let target = std::fs::read_link(&link).map_err(|e| format!("{}: {e}", link.display()))?;
        Ok(lib.join(target))
    }
}

/// `python -m ziglang` from a venv under `target/`, installed on first use.
fn zig(workspace: &Workspace) -> Result<Vec<String>, String> {
    let venv = workspace.target_dir.join("tools/zig-venv");
    let python = venv.join("bin/python3");
    let works = |python: &Path| {
        Command::new(python)
            .args(["-m", "ziglang", "version"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim() == ZIG_VERSION)
            .unwrap_or(false)
    };
    if !works(&python) {
        println!(
            "xtask: installing ziglang {ZIG_VERSION} (zig cc) into {}",
            venv.display()
        );
        process::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        process::run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--no-cache-dir"])
                .arg(format!("ziglang=={ZIG_VERSION}")),
        )
        .map_err(|e| format!("pip install ziglang: {e}"))?;
        if !works(&python) {
            return Err(format!(
                "zig {ZIG_VERSION} does not run from {}",
                venv.display()
            ));
        }
    }
    Ok(vec![
        python.to_string_lossy().into_owned(),
        "-m".into(),
        "ziglang".into(),
    ])
}

/// The C sources: the samples, then the API test.
fn sources(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = c_files_in(&root.join("samples/c"))?;
    found.extend(c_files_in(&root.join("tests/c"))?);
    Ok(found)
}

/// The `.c` files directly in `dir`, sorted.
fn c_files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    found.sort();
    Ok(found)
}

/// Builds ipcon-c for `flavour`, installs it into a staging root and builds
/// every C program against it through pkg-config.
pub fn build(workspace: &Workspace, flavour: Flavour) -> Result<CBuild, String> {
    host_tools::ensure_packages(C_PACKAGES)?;
    host_tools::ensure_rust_target(flavour.triple())?;
    let (triple, profile) = (flavour.triple(), flavour.profile());
    let mut cargo = workspace.cargo();
    cargo.args([
        "build",
        "--quiet",
        "--package",
        "ipcon-c",
        "--target",
        triple,
    ]);
    cargo.args(["--profile", profile]);
    if profile == crate::cross::PROFILE {
        cargo
            .arg("--config")
            .arg(workspace.root.join(".cargo/min-size.toml"));
    }
    process::run(&mut cargo).map_err(|e| format!("building ipcon-c for {triple}: {e}"))?;

    let dir = workspace.target_dir.join("libipcon").join(flavour.label());
    let sysroot = dir.join("sysroot");
    let _ = std::fs::remove_dir_all(&dir);
    let cc = flavour.cc(workspace)?;
    let out_dir = workspace.target_dir.join(triple).join(profile);
    install(workspace, &out_dir, &cc, &sysroot, flavour.ldflags())?;

    let pkg_flags = pkg_config(&sysroot, flavour.linking)?;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut programs = Vec::new();
    for source in sources(&workspace.root)? {
        let stem = source.file_stem().unwrap_or_default().to_string_lossy();
        let program = bin.join(stem.as_ref());
        let mut command = Command::new(&cc[0]);
        command.args(&cc[1..]).args(C_FLAGS);
        if flavour.linking == Linking::Static {
            command.arg("-static");
        }
        command
            .arg(&source)
            .arg("-o")
            .arg(&program)
            .args(&pkg_flags)
            .arg("-pthread");
        process::run(&mut command).map_err(|e| format!("{}: {e}", source.display()))?;
        process::run(Command::new(flavour.strip()).arg(&program))
            .map_err(|e| format!("strip {}: {e}", program.display()))?;
        programs.push(program);
    }
    Ok(CBuild {
        flavour,
        sysroot,
        programs,
    })
}

/// Runs `ipcon-c/install.sh` on cargo's output `out_dir` into `sysroot`.
fn install(
    workspace: &Workspace,
    out_dir: &Path,
    cc: &[String],
    sysroot: &Path,
    ldflags: &str,
) -> Result<(), String> {
    process::run(
        Command::new("sh")
            .arg(workspace.root.join("ipcon-c/install.sh"))
            .arg(out_dir)
            .env("CC", cc.join(" "))
            .env("LDFLAGS", ldflags)
            .env("DESTDIR", sysroot)
            .env("PREFIX", "/usr"),
    )
    .map_err(|e| format!("ipcon-c/install.sh for {}: {e}", out_dir.display()))
}

/// `pkg-config --cflags --libs libipcon` against the staging root, as a
/// cross build's sysroot is used.
fn pkg_config(sysroot: &Path, linking: Linking) -> Result<Vec<String>, String> {
    let mut command = Command::new("pkg-config");
    command
        .env("PKG_CONFIG_LIBDIR", sysroot.join("usr/lib/pkgconfig"))
        .env("PKG_CONFIG_SYSROOT_DIR", sysroot)
        .env_remove("PKG_CONFIG_PATH");
    if linking == Linking::Static {
        command.arg("--static");
    }
    command.args(["--cflags", "--libs", "libipcon"]);
    let flags = process::output(&mut command).map_err(|e| format!("pkg-config: {e}"))?;
    Ok(flags.split_whitespace().map(str::to_owned).collect())
}

/// What the sanitized builds add to [`C_FLAGS`]: AddressSanitizer (with
/// LeakSanitizer, on by default on x86_64), debug lines for its reports, and
/// frame pointers for its fast unwinder. The later `-O1` overrides `-Os`.
const ASAN_FLAGS: &[&str] = &["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"];
/// Where the VM finds the sanitized programs.
pub const ASAN_GUEST_DIR: &str = "/usr/libexec/ipcon-c/asan";
/// Programs built only with the sanitizer: the negative test of the leak
/// check (a program that leaks a handler on purpose).
const ASAN_ONLY_DIR: &str = "tests/c/asan";

/// The C programs again, x86_64 only, with gcc's AddressSanitizer, linked
/// against the installed `libipcon.so.0` of `dynamic` (uninstrumented:
/// stable Rust has no sanitizer; its allocations go through the C
/// allocator, which ASan replaces, so a handler never freed is reported as
/// a leak). Not stripped: the reports name functions and lines. Also the
/// leak-check's negative test from [`ASAN_ONLY_DIR`].
pub fn build_sanitized(workspace: &Workspace, dynamic: &CBuild) -> Result<Vec<PathBuf>, String> {
    if dynamic.flavour.arch != Arch::X86_64 || dynamic.flavour.linking != Linking::Dynamic {
        return Err(format!(
            "the sanitized C builds are x86_64 glibc ones, not {}",
            dynamic.flavour.label()
        ));
    }
    let pkg_flags = pkg_config(&dynamic.sysroot, Linking::Dynamic)?;
    let bin = workspace.target_dir.join("libipcon/x86_64-asan/bin");
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut sources = sources(&workspace.root)?;
    sources.extend(c_files_in(&workspace.root.join(ASAN_ONLY_DIR))?);
    let mut programs = Vec::new();
    for source in sources {
        let stem = source.file_stem().unwrap_or_default().to_string_lossy();
        let program = bin.join(stem.as_ref());
        process::run(
            Command::new("gcc")
                .args(C_FLAGS)
                .args(ASAN_FLAGS)
                .arg(&source)
                .arg("-o")
                .arg(&program)
                .args(&pkg_flags)
                .arg("-pthread"),
        )
        .map_err(|e| format!("{} with -fsanitize=address: {e}", source.display()))?;
        programs.push(program);
    }
    Ok(programs)
}

/// The sanitized programs and the runtime they load for the x86_64 VM:
/// the programs in [`ASAN_GUEST_DIR`] (mode 0644, as the dynamic ones),
/// gcc's `libasan.so.8` (its debug sections stripped: 1.5 of 8 MiB) with
/// the libm and libgcc_s it needs.
fn sanitized_guest_files(
    workspace: &Workspace,
    dynamic: &CBuild,
) -> Result<Vec<GuestFile>, String> {
    let file = |host: PathBuf, guest: String| GuestFile {
        host,
        guest,
        mode: 0o644,
    };
    let mut files = Vec::new();
    for program in build_sanitized(workspace, dynamic)? {
        let name = program.file_name().unwrap_or_default().to_string_lossy();
        files.push(file(program.clone(), format!("{ASAN_GUEST_DIR}/{name}")));
    }
    let multiarch = Path::new("/lib/x86_64-linux-gnu");
    let runtime = workspace
        .target_dir
        .join("libipcon/x86_64-asan/libasan.so.8");
    let libasan = multiarch.join("libasan.so.8");
    process::run(
        Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(&runtime)
            .arg(&libasan),
    )
    .map_err(|e| {
        format!(
            "strip {}: {e} (gcc's libasan8, a dependency of gcc, provides it)",
            libasan.display()
        )
    })?;
    files.push(file(
        runtime,
        format!("{}/libasan.so.8", multiarch.display()),
    ));
    for library in ["libm.so.6", "libgcc_s.so.1"] {
        let host = multiarch.join(library);
        let host = std::fs::canonicalize(&host).map_err(|e| format!("{}: {e}", host.display()))?;
        files.push(file(host, format!("{}/{library}", multiarch.display())));
    }
    Ok(files)
}

/// The C files of one architecture for the VM: static programs in `/bin`;
/// the dynamic ones (mode 0644: the initramfs takes only static
/// executables; the tests make them executable) in `/usr/libexec/ipcon-c`,
/// with `libipcon.so.0`, the C library and its loader where glibc's
/// loader looks; on x86_64 also the programs built with AddressSanitizer
/// and its runtime ([`sanitized_guest_files`]). Built once per architecture
/// and run of xtask.
pub fn guest_files(workspace: &Workspace, arch: Arch) -> Result<Vec<GuestFile>, String> {
    static BUILT: Mutex<Vec<(Arch, Vec<GuestFile>)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, files)) = built.iter().find(|(a, _)| *a == arch) {
        return Ok(files.clone());
    }
    let mut files = Vec::new();
    let statics = build(
        workspace,
        Flavour {
            arch,
            linking: Linking::Static,
        },
    )?;
    files.extend(statics.programs.iter().map(|p| GuestFile::binary(p)));
    let dynamic = build(
        workspace,
        Flavour {
            arch,
            linking: Linking::Dynamic,
        },
    )?;
    let file = |host: PathBuf, guest: String| GuestFile {
        host,
        guest,
        mode: 0o644,
    };
    for program in &dynamic.programs {
        let name = program.file_name().unwrap_or_default().to_string_lossy();
        files.push(file(
            program.clone(),
            format!("/usr/libexec/ipcon-c/{name}"),
        ));
    }
    let (multiarch, loader_guest, host_lib) = match arch {
        Arch::X86_64 => (
            "/lib/x86_64-linux-gnu",
            "/lib64/ld-linux-x86-64.so.2",
            PathBuf::from("/lib/x86_64-linux-gnu"),
        ),
        _ => (
            "/lib/aarch64-linux-gnu",
            "/lib/ld-linux-aarch64.so.1",
            PathBuf::from("/usr/aarch64-linux-gnu/lib"),
        ),
    };
    let loader_name = Path::new(loader_guest).file_name().unwrap_or_default();
    let resolve = |path: PathBuf| {
        std::fs::canonicalize(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    files.push(file(
        dynamic.shared_library()?,
        format!("{multiarch}/libipcon.so.0"),
    ));
    files.push(file(
        resolve(host_lib.join("libc.so.6"))?,
        format!("{multiarch}/libc.so.6"),
    ));
    files.push(file(
        resolve(host_lib.join(loader_name))?,
        loader_guest.to_owned(),
    ));
    if arch == Arch::X86_64 {
        files.extend(sanitized_guest_files(workspace, &dynamic)?);
    }
    built.push((arch, files.clone()));
    Ok(files)
}

/// Size budgets of `cargo xtask cross`: `libipcon.so` for arm64, stripped,
/// and the tutorial's server as a static arm64 musl C program.
pub const SO_BUDGET: u64 = 128 * 1024;
pub const STATIC_SERVER_BUDGET: u64 = 192 * 1024;

/// The arm64 sizes against their budgets: the report lines, and the budgets
/// exceeded.
pub fn arm64_sizes(workspace: &Workspace) -> Result<(Vec<String>, Vec<String>), String> {
    let mut lines = Vec::new();
    let mut over = Vec::new();
    let mut measure = |what: &str, size: u64, budget: u64| {
        let line = format!(
            "{what}: {:.0} KiB ({size} bytes) of its {:.0} KiB",
            size as f64 / 1024.0,
            budget as f64 / 1024.0
        );
        if size > budget {
            over.push(format!("{line}: over budget"));
            lines.push(format!("size budget exceeded: {line}"));
        } else {
            lines.push(format!("size budget met: {line}"));
        }
    };
    let dynamic = build(
        workspace,
        Flavour {
            arch: Arch::Aarch64,
            linking: Linking::Dynamic,
        },
    )?;
    let stripped = |library: &Path| -> Result<u64, String> {
        let copy = library.with_extension("stripped");
        process::run(
            Command::new(dynamic.flavour.strip())
                .arg("--strip-unneeded")
                .arg("-o")
                .arg(&copy)
                .arg(library),
        )
        .map_err(|e| format!("strip {}: {e}", library.display()))?;
        file_size(&copy)
    };
    measure(
        "libipcon.so aarch64 (min-size, stripped, 4 KiB pages)",
        stripped(&dynamic.shared_library()?)?,
        SO_BUDGET,
    );
    // The same library with the linker's 64 KiB segment alignment.
    let default_pages = dynamic.sysroot.with_file_name("sysroot-64k-pages");
    let _ = std::fs::remove_dir_all(&default_pages);
    let out_dir = workspace
        .target_dir
        .join(dynamic.flavour.triple())
        .join(dynamic.flavour.profile());
    install(
        workspace,
        &out_dir,
        &dynamic.flavour.cc(workspace)?,
        &default_pages,
        "",
    )?;
    let library = default_pages.join("usr/lib/libipcon.so.0");
    let library =
        std::fs::canonicalize(&library).map_err(|e| format!("{}: {e}", library.display()))?;
    let note = format!(
        "libipcon.so aarch64 with 64 KiB segment alignment (for 64 KiB-page kernels too): {:.0} KiB (no budget)",
        stripped(&library)? as f64 / 1024.0
    );
    let statics = build(
        workspace,
        Flavour {
            arch: Arch::Aarch64,
            linking: Linking::Static,
        },
    )?;
    let server = statics
        .programs
        .iter()
        .find(|p| p.ends_with("ipcon_server"))
        .ok_or("no C ipcon_server was built")?;
    measure(
        "C ipcon_server aarch64 static musl (stripped)",
        file_size(server)?,
        STATIC_SERVER_BUDGET,
    );
    lines.push(note);
    Ok((lines, over))
}

fn file_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Undefined symbols of `archive` that mean Rust's std or an unwinder.
fn std_or_unwinder(archive: &Path) -> Result<Vec<String>, String> {
    let symbols = process::output(
        Command::new("nm")
            // --quiet: not a line per object of compiler_builtins
            // without symbols.
            .args(["--quiet", "--undefined-only", "--format=just-symbols"])
            .arg(archive),
    )
    .map_err(|e| format!("nm {}: {e}", archive.display()))?;
    let mut bad: Vec<String> = symbols
        .lines()
        .filter(|s| {
            s.starts_with("_ZN3std")
                || s.contains("$LT$std..")
                || s.starts_with("_Unwind_")
                || s.contains("__rust_alloc")
        })
        .map(str::to_owned)
        .collect();
    bad.sort();
    bad.dedup();
    Ok(bad)
}

/// `(symbol, version node)` of every function `libipcon.map` exports.
fn map_exports(map: &str) -> Vec<(String, String)> {
    let mut listed = Vec::new();
    let mut node = String::new();
    for line in map.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix(" {") {
            node = name.to_owned();
        } else if line.ends_with(';') && !line.contains([':', '*', '}']) {
            listed.push((line.trim_end_matches(';').to_owned(), node.clone()));
        }
    }
    listed.sort();
    listed
}

/// The shared library's exports: every one versioned by the node
/// `libipcon.map` lists it in (`LIBIPCON_0`, `LIBIPCON_0.1`, ...), and
/// exactly the functions of the symbol map.
fn check_exports(root: &Path, library: &Path) -> Result<(usize, usize), String> {
    let dynamic = process::output(
        Command::new("nm")
            .args(["--dynamic", "--defined-only", "--format=just-symbols"])
            .arg(library),
    )
    .map_err(|e| format!("nm {}: {e}", library.display()))?;
    let mut exported = Vec::new();
    for symbol in dynamic.lines().filter(|s| !s.starts_with("LIBIPCON_")) {
        match symbol.split_once("@@") {
            Some((name, node)) if node.starts_with("LIBIPCON_") => {
                exported.push((name.to_owned(), node.to_owned()));
            }
            _ => {
                return Err(format!(
                    "{} exports {symbol} (unversioned)",
                    library.display()
                ))
            }
        }
    }
    exported.sort();
    let map = std::fs::read_to_string(root.join("ipcon-c/libipcon.map"))
        .map_err(|e| format!("libipcon.map: {e}"))?;
    let listed = map_exports(&map);
    if exported != listed {
        return Err(format!(
            "{} exports {exported:?}, libipcon.map lists {listed:?}",
            library.display()
        ));
    }
    let mut nodes: Vec<&String> = listed.iter().map(|(_, node)| node).collect();
    nodes.sort();
    nodes.dedup();
    Ok((exported.len(), nodes.len()))
}

/// The installed header compiles as C99 (pedantic) and as C++.
fn check_header(sysroot: &Path, dir: &Path) -> Result<(), String> {
    let source = dir.join("header.c");
    std::fs::write(
        &source,
        "#include <libipcon.h>\nint main(void) { struct ipcon_msg m; m.len = 0; return (int)m.len; }\n",
    )
    .map_err(|e| format!("{}: {e}", source.display()))?;
    let include = sysroot.join("usr/include");
    for (compiler, language) in [("gcc", "-std=c99"), ("g++", "-std=c++11")] {
        let mut command = Command::new(compiler);
        command.args(["-x", if compiler == "gcc" { "c" } else { "c++" }]);
        command.args([
            language,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
        ]);
        command.arg("-I").arg(&include).arg(&source);
        process::run(&mut command).map_err(|e| format!("libipcon.h as {language}: {e}"))?;
    }
    Ok(())
}

/// The `libipcon` step of `cargo xtask test`: x86_64 static and dynamic
/// builds with their checks.
pub fn step(workspace: &Workspace) -> StepResult {
    let fail = |lines: Vec<String>, reason: String| Err((lines, reason));
    let mut lines = Vec::new();
    let mut builds = Vec::new();
    for linking in [Linking::Static, Linking::Dynamic] {
        let flavour = Flavour {
            arch: Arch::X86_64,
            linking,
        };
        match build(workspace, flavour) {
            Ok(build) => {
                lines.push(format!(
                    "libipcon {}: {} C programs built against the installed header via pkg-config",
                    flavour.label(),
                    build.programs.len()
                ));
                builds.push(build);
            }
            Err(reason) => {
                lines.push(format!("libipcon {}: failed", flavour.label()));
                return fail(lines, reason);
            }
        }
    }
    let dynamic = &builds[1];
    let archive = dynamic.sysroot.join("usr/lib/libipcon.a");
    match std_or_unwinder(&archive) {
        Ok(bad) if bad.is_empty() => lines
            .push("libipcon nm: libipcon.a refers to no Rust std, allocator or unwinder".into()),
        Ok(bad) => {
            lines.push("libipcon nm: failed".into());
            return fail(lines, format!("libipcon.a refers to {}", bad.join(" ")));
        }
        Err(reason) => return fail(lines, reason),
    }
    let exports = dynamic
        .shared_library()
        .and_then(|library| check_exports(&workspace.root, &library));
    match exports {
        Ok((count, nodes)) => lines.push(format!(
            "libipcon.so.0: {count} functions exported in {nodes} version nodes of libipcon.map, nothing else"
        )),
        Err(reason) => return fail(lines, reason),
    }
    let dir = workspace.target_dir.join("libipcon");
    if let Err(reason) = check_header(&dynamic.sysroot, &dir) {
        return fail(lines, reason);
    }
    lines.push("libipcon.h: clean as C99 -pedantic -Werror and as C++11".into());
    Ok(lines)
}
