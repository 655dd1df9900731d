//! meta-ipcon under the real bitbake and openembedded-core (scarthgap with
//! bitbake 2.8, wrynose with bitbake 2.18), MACHINE=qemuarm64, in both
//! documented ways to build: a release (the pinned SRCREV, fetched with git)
//! and the checkout that holds the layer (`conf/include/ipcon-from-checkout.inc`,
//! externalsrc).
//!
//! bitbake refuses root, so it runs as an unprivileged user on a copy of the
//! checkout that user owns (as a developer's own checkout is): the tracked
//! and new files of the working tree on a clone of its history. Per release:
//! `bitbake -e -b` on every recipe in both ways without network, with
//! assertions on the values that matter; fetch, unpack and the licence
//! checksums (`do_populate_lic`) in both ways, crates from crates.io; on
//! scarthgap a full parse and `bitbake -n packagegroup-ipcon`, then `bitbake
//! -c unpack ipcon` through the whole run queue.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::crates_inc;
use super::host::{self, BITBAKE_USER, PYTHON};
use super::programs;
use super::vendor;
use super::{run_captured, Outcome};
use crate::process;

/// An openembedded-core release and the bitbake it goes with.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    pub name: &'static str,
    oe_core: &'static str,
    bitbake: &'static str,
    /// The release's Rust, when older than the workspace's toolchain: the
    /// cargo of that version must be able to read every unpacked crate.
    cargo: Option<&'static str>,
    /// Whether the full parse and `bitbake -n packagegroup-ipcon` run here.
    pub full_parse: bool,
}

pub const RELEASES: &[Release] = &[
    Release {
        name: "scarthgap",
        oe_core: "openembedded-core-scarthgap",
        bitbake: "bitbake-2.8",
        cargo: Some("1.75"),
        // The cheaper of the two: oe-core's default signature handler has
        // no hash-equivalence server here (the dry run costs ~2/3 of wrynose's).
        full_parse: true,
    },
    Release {
        name: "wrynose",
        oe_core: "openembedded-core-wrynose",
        bitbake: "bitbake-2.18",
        cargo: None,
        full_parse: false,
    },
];

const IPCON: &str = "recipes-ipcon/ipcon/ipcon_git.bb";
const KMOD: &str = "recipes-kernel/ipcon-kmod/ipcon-kmod_git.bb";
const GROUP: &str = "recipes-core/packagegroups/packagegroup-ipcon.bb";
const C_SAMPLES: &str = "recipes-ipcon/ipcon-c-samples/ipcon-c-samples_git.bb";
/// The ownership policy the ipcon package installs and loads at boot.
const POLICY: &str = "/etc/ipcon/policy.conf";
/// Where the release is pinned, relative to meta-ipcon/.
const SOURCE_INC: &str = "recipes-ipcon/ipcon/ipcon-source.inc";
/// The release's repository as the recipes name it by default.
const DEFAULT_GIT_URI: &str = "git://example.invalid/ipcon.git;protocol=https";
/// The branch the checks create in the copy for the release's fetch.
const COPY_BRANCH: &str = "packaging-check";

/// How a build directory is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// The default: the pinned release from IPCON_GIT_URI; no network.
    Release,
    /// conf/include/ipcon-from-checkout.inc; no network.
    Checkout,
    /// The release fetched from the copy (IPCON_GIT_URI pointed at it, as
    /// the README describes for a mirror or a local clone); network for crates.
    ReleaseFetch,
    /// The checkout way with network for crates.
    CheckoutFetch,
}

impl Way {
    fn dir(self) -> &'static str {
        match self {
            Way::Release => "release",
            Way::Checkout => "checkout",
            Way::ReleaseFetch => "release-fetch",
            Way::CheckoutFetch => "checkout-fetch",
        }
    }

    fn builds_checkout(self) -> bool {
        matches!(self, Way::Checkout | Way::CheckoutFetch)
    }
}

/// The shared setup: the copy of the checkout, the locale, the downloads.
pub struct Bitbake {
    root: PathBuf,
    /// target/packaging/bitbake
    work: PathBuf,
    /// The unprivileged user's copy of the checkout (its meta-ipcon is the
    /// layer under test).
    pub copy: PathBuf,
    locale: PathBuf,
}

/// `bitbake -e` output: plain variables and shell functions.
#[derive(Debug, Default)]
pub struct Environment {
    pub vars: BTreeMap<String, String>,
    pub functions: BTreeMap<String, String>,
}

impl Environment {
    /// Reads `NAME="value"` / `export NAME="value"` lines (continued with a
    /// trailing backslash) and `name() {` … `}` shell functions.
    pub fn parse(text: &str) -> Environment {
        let mut env = Environment::default();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some(name) = line.strip_suffix("() {") {
                if !name.contains(char::is_whitespace) {
                    let mut body = String::new();
                    for line in lines.by_ref() {
                        if line == "}" {
                            break;
                        }
                        body.push_str(line);
                        body.push('\n');
                    }
                    env.functions.insert(name.to_owned(), body);
                }
                continue;
            }
            let assignment = line.strip_prefix("export ").unwrap_or(line);
            let Some((name, rest)) = assignment.split_once("=\"") else {
                continue;
            };
            if name.is_empty() || name.starts_with('#') || name.contains(char::is_whitespace) {
                continue;
            }
            let mut value = rest.to_owned();
            while value.ends_with('\\') {
                value.pop();
                match lines.next() {
                    Some(next) => value.push_str(next),
                    None => break,
                }
            }
            let value = value.strip_suffix('"').unwrap_or(&value);
            env.vars.insert(
                name.to_owned(),
                value.replace("\\\"", "\"").replace("\\$", "$"),
            );
        }
        env
    }

    pub fn var(&self, name: &str) -> &str {
        self.vars.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn words(&self, name: &str) -> Vec<&str> {
        self.var(name).split_whitespace().collect()
    }
}

/// Collects what does not hold.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn expect(&mut self, holds: bool, what: impl FnOnce() -> String) {
        if !holds {
            self.0.push(what());
        }
    }

    fn equal(&mut self, name: &str, have: &str, want: &str) {
        self.expect(have == want, || {
            format!("{name} is \"{have}\", expected \"{want}\"")
        });
    }

    fn contains(&mut self, name: &str, words: &[&str], want: &str) {
        self.expect(words.contains(&want), || {
            format!("{name} ({}) lacks {want}", words.join(" "))
        });
    }

    fn done(self, summary: String) -> Outcome {
        if self.0.is_empty() {
            Ok(summary)
        } else {
            Err(self.0.join("\n"))
        }
    }
}

fn normalize(path: &str) -> String {
    let mut out = path.replace("//", "/");
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

fn is_under(path: &str, dir: &str) -> bool {
    let (path, dir) = (normalize(path), normalize(dir));
    path == dir || path.starts_with(&format!("{dir}/"))
}

/// What the recipes' values are checked against (from the copy's sources).
struct Expected {
    srcrev: String,
    pv_prefix: String,
    crates: BTreeSet<String>,
    packages: Vec<String>,
    tools: Vec<String>,
    samples: Vec<String>,
    c_samples: Vec<String>,
}

impl Expected {
    fn read(copy: &Path) -> Result<Expected, String> {
        let layer = copy.join("meta-ipcon");
        let read =
            |path: &Path| fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
        let source = read(&layer.join(SOURCE_INC))?;
        let recipe = read(&layer.join(IPCON))?;
        let c_recipe = read(&layer.join(C_SAMPLES))?;
        let srcrev = programs::bitbake_value(&source, "SRCREV")
            .ok_or_else(|| format!("{SOURCE_INC} sets no SRCREV"))?;
        let lock = read(&copy.join("Cargo.lock"))?;
        let crates = crates_inc::crate_keys(&lock)?;
        let cargo = read(&copy.join("Cargo.toml"))?;
        let version = cargo
            .lines()
            .find_map(|line| line.strip_prefix("version = "))
            .map(|v| v.trim_matches('"').to_owned())
            .ok_or("Cargo.toml has no workspace version")?;
        let list = |name: &str| -> Result<Vec<String>, String> {
            programs::bitbake_value(&recipe, name)
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .ok_or_else(|| format!("{IPCON} sets no {name}"))
        };
        Ok(Expected {
            srcrev,
            pv_prefix: format!("{version}+git"),
            crates,
            packages: list("IPCON_CARGO_PACKAGES")?,
            tools: list("IPCON_TOOLS")?,
            samples: list("IPCON_SAMPLES")?,
            c_samples: programs::bitbake_value(&c_recipe, "IPCON_C_SAMPLES")
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .ok_or_else(|| format!("{C_SAMPLES} sets no IPCON_C_SAMPLES"))?,
        })
    }
}

impl Bitbake {
    /// Makes the copy of the checkout and the locale.
    pub fn prepare(root: &Path, locale: PathBuf) -> Result<Bitbake, String> {
        let work = root.join("target/packaging/bitbake");
        let copy = work.join("checkout");
        let bitbake = Bitbake {
            root: root.to_path_buf(),
            work,
            copy,
            locale,
        };
        bitbake.refresh_copy()?;
        Ok(bitbake)
    }

    /// The copy: a clone of the checkout's history (the release must be in
    /// it) with the working tree's tracked and new files laid over it, on a
    /// branch the release fetch names. Files are only rewritten when they
    /// changed, so bitbake's parse cache survives unchanged recipes.
    fn refresh_copy(&self) -> Result<(), String> {
        let git = |dir: &Path, args: &[&str]| -> Result<String, String> {
            process::output(
                Command::new("git")
                    .arg("-c")
                    .arg("safe.directory=*")
                    .arg("-C")
                    .arg(dir)
                    .args(args),
            )
            .map_err(|e| format!("git {}: {e}", args.join(" ")))
        };
        if !self.copy.join(".git").is_dir() {
            fs::create_dir_all(&self.work).map_err(|e| format!("{}: {e}", self.work.display()))?;
            process::output(
                Command::new("git")
                    .args(["clone", "--quiet", "--no-hardlinks"])
                    .arg(&self.root)
                    .arg(&self.copy),
            )
            .map_err(|e| format!("git clone of the checkout: {e}"))?;
        }
        let root = self.root.to_string_lossy().into_owned();
        git(&self.copy, &["fetch", "--quiet", &root, "HEAD"])?;
        // The previous run's working-tree files are laid over the copy:
        // discard them (the current ones follow).
        git(
            &self.copy,
            &[
                "checkout",
                "--quiet",
                "--force",
                "-B",
                COPY_BRANCH,
                "FETCH_HEAD",
            ],
        )?;
        git(&self.copy, &["clean", "--quiet", "-fdx"])?;
        let files = git(
            &self.root,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        )?;
        let present: Vec<&str> = files
            .split('\0')
            .filter(|f| !f.is_empty() && self.root.join(f).exists())
            .collect();
        let list = self.work.join("checkout-files");
        fs::write(&list, present.join("\n")).map_err(|e| format!("{}: {e}", list.display()))?;
        process::output(
            Command::new("rsync")
                .args(["-a", "--checksum", "--files-from"])
                .arg(&list)
                .arg(format!("{}/", self.root.display()))
                .arg(format!("{}/", self.copy.display())),
        )
        .map_err(|e| format!("rsync of the working tree into the copy: {e}"))?;
        // Files deleted in the working tree but still tracked.
        for tracked in git(&self.root, &["ls-files", "-z", "--deleted"])?.split('\0') {
            if !tracked.is_empty() {
                let _ = fs::remove_file(self.copy.join(tracked));
            }
        }
        give_to_bitbake_user(&self.work)
    }

    fn build_dir(&self, release: &Release, way: Way) -> PathBuf {
        self.work.join(release.name).join(way.dir())
    }

    fn recipe(&self, recipe: &str) -> PathBuf {
        self.copy.join("meta-ipcon").join(recipe)
    }

    /// Writes the build directory's configuration (unchanged files are left
    /// alone, so parse caches stay valid).
    fn configure(&self, root: &Path, release: &Release, way: Way) -> Result<PathBuf, String> {
        let dir = self.build_dir(release, way);
        let conf = dir.join("conf");
        fs::create_dir_all(&conf).map_err(|e| format!("{}: {e}", conf.display()))?;
        let oe_core = vendor::unpack(root, release.oe_core)?;
        let layers = format!(
            "BBPATH = \"${{TOPDIR}}\"\nBBFILES ?= \"\"\nBBLAYERS = \"{} {}\"\n",
            oe_core.join("meta").display(),
            self.copy.join("meta-ipcon").display()
        );
        let network = matches!(way, Way::ReleaseFetch | Way::CheckoutFetch);
        let mut local = format!(
            "MACHINE = \"qemuarm64\"\n\
             INHERIT:remove = \"uninative\"\n\
             CONNECTIVITY_CHECK_URIS = \"\"\n\
             BB_NO_NETWORK = \"{}\"\n\
             DL_DIR = \"{}\"\n",
            if network { "0" } else { "1" },
            self.work.join("downloads").display()
        );
        match way {
            Way::Release => {}
            Way::Checkout | Way::CheckoutFetch => {
                local.push_str("require conf/include/ipcon-from-checkout.inc\n")
            }
            Way::ReleaseFetch => local.push_str(&format!(
                "IPCON_GIT_URI = \"git://{};protocol=file\"\nIPCON_GIT_BRANCH = \"{COPY_BRANCH}\"\n",
                self.copy.display()
            )),
        }
        for (file, text) in [("bblayers.conf", layers), ("local.conf", local)] {
            let path = conf.join(file);
            if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        give_to_bitbake_user(&dir)?;
        Ok(dir)
    }

    /// Runs bitbake in `dir` as the unprivileged user with a clean
    /// environment; fails with the end of its output unless it succeeds.
    fn run(&self, release: &Release, dir: &Path, args: &[&str]) -> Result<String, String> {
        let tree = vendor::unpack(&self.root, release.bitbake)?;
        let bin = tree.join("bin");
        let mut command = if host::is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", BITBAKE_USER, "--", "env", "-i"]);
            command
        } else {
            let mut command = Command::new("env");
            command.arg("-i");
            command
        };
        command
            .arg(format!("HOME={}", dir.display()))
            .arg(format!(
                "PATH={}:/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin",
                bin.display()
            ))
            .arg("LANG=en_US.UTF-8")
            .arg(format!("LOCPATH={}", self.locale.display()))
            .arg("BB_ENV_PASSTHROUGH_ADDITIONS=LOCPATH")
            // The server stays for the next command in this build directory
            // (the configuration is parsed once); `stop` ends it.
            .arg("BB_SERVER_TIMEOUT=60")
            .arg(format!("BBPATH={}", dir.display()))
            .arg(bin.join("bitbake"))
            .args(args)
            .current_dir(dir);
        let what = format!("bitbake {} in {}", args.join(" "), dir.display());
        run_captured(&mut command, &what, 25)
    }

    /// Ends the build directory's bitbake server (nothing when none runs).
    fn stop(&self, release: &Release, dir: &Path) {
        let _ = self.run(release, dir, &["-m"]);
    }

    fn environment(
        &self,
        release: &Release,
        dir: &Path,
        recipe: &str,
    ) -> Result<Environment, String> {
        let recipe = self.recipe(recipe);
        let text = self.run(release, dir, &["-e", "-b", &recipe.to_string_lossy()])?;
        Ok(Environment::parse(&text))
    }

    /// `bitbake -e -b` on every recipe, the release way and the checkout
    /// way, without network; one outcome per recipe and way.
    pub fn environments(&self, release: &Release) -> Vec<(String, Outcome)> {
        let mut outcomes = Vec::new();
        let expected = match Expected::read(&self.copy) {
            Ok(expected) => expected,
            Err(e) => return vec![(format!("{}: recipes", release.name), Err(e))],
        };
        for way in [Way::Release, Way::Checkout] {
            let dir = match self.configure(&self.root, release, way) {
                Ok(dir) => dir,
                Err(e) => {
                    outcomes.push((format!("{} {}: configure", release.name, way.dir()), Err(e)));
                    continue;
                }
            };
            let recipes: &[&str] = if way == Way::Release {
                &[IPCON, KMOD, C_SAMPLES, GROUP]
            } else {
                &[IPCON, KMOD, C_SAMPLES]
            };
            for recipe in recipes {
                let name = format!(
                    "{} {}: bitbake -e -b {}, no network",
                    release.name,
                    way.dir(),
                    Path::new(recipe)
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                );
                let outcome =
                    self.environment(release, &dir, recipe)
                        .and_then(|env| match *recipe {
                            IPCON => self.judge_ipcon(&env, way, &expected),
                            KMOD => self.judge_kmod(&env, way, &expected),
                            C_SAMPLES => self.judge_c_samples(&env, way, &expected),
                            _ => judge_group(&env),
                        });
                outcomes.push((name, outcome));
            }
            self.stop(release, &dir);
        }
        outcomes
    }

    /// The S a release unpacks to: `<BP>` below UNPACKDIR (wrynose) or
    /// WORKDIR (scarthgap), which the git entry's destsuffix names.
    fn release_source(env: &Environment) -> String {
        let unpack = if env.var("UNPACKDIR").is_empty() {
            env.var("WORKDIR")
        } else {
            env.var("UNPACKDIR")
        };
        format!("{unpack}/{}", env.var("BP"))
    }

    fn judge_ipcon(&self, env: &Environment, way: Way, want: &Expected) -> Outcome {
        let mut f = Findings::default();
        let s = env.var("S");
        judge_common(&mut f, env, want);
        f.equal(
            "LICENSE",
            env.var("LICENSE"),
            "(MIT | Apache-2.0) & BSD-3-Clause",
        );
        f.equal(
            "LICENSE:ipcon",
            env.var("LICENSE:ipcon"),
            "MIT | Apache-2.0",
        );
        f.equal(
            "LICENSE:ipcon-dev",
            env.var("LICENSE:ipcon-dev"),
            "(MIT | Apache-2.0) & BSD-3-Clause",
        );
        for package in ["libipcon", "ipcon-staticdev"] {
            let name = format!("LICENSE:{package}");
            f.equal(&name, env.var(&name), "MIT | Apache-2.0");
        }
        judge_libipcon(&mut f, env);
        judge_policy(&mut f, env);
        let lic = env.words("LIC_FILES_CHKSUM");
        for file in ["LICENSE-MIT", "LICENSE-APACHE", "LICENSES/BSD-3-Clause.txt"] {
            f.expect(
                lic.iter()
                    .any(|e| e.starts_with(&format!("file://{file};"))),
                || format!("LIC_FILES_CHKSUM does not name {file}"),
            );
        }
        // The build runs in B with its own CARGO_HOME: a B inside S would
        // make cargo read the checkout's .cargo/config.toml (rustflags meant
        // for the project's own static builds).
        f.expect(!is_under(env.var("B"), s), || {
            format!(
                "B ({}) is inside S ({s}): cargo would read S/.cargo/config.toml",
                env.var("B")
            )
        });
        f.expect(!is_under(env.var("CARGO_HOME"), s), || {
            format!("CARGO_HOME ({}) is inside S", env.var("CARGO_HOME"))
        });
        // update_crates must read only the workspace's Cargo.lock, not the
        // fuzz workspace's below S.
        let lock_dir = env.var("CARGO_LOCK_SRC_DIR");
        f.expect(!lock_dir.is_empty() && !is_under(lock_dir, s) && !is_under(s, lock_dir), || {
            format!("CARGO_LOCK_SRC_DIR ({lock_dir}) is S or around it: update_crates would list every Cargo.lock below S")
        });
        let flags = env.words("CARGO_BUILD_FLAGS");
        for flag in ["--frozen", "--release"] {
            f.contains("CARGO_BUILD_FLAGS", &flags, flag);
        }
        f.expect(!flags.contains(&"--workspace"), || {
            "CARGO_BUILD_FLAGS builds the whole workspace".into()
        });
        let manifest = format!("--manifest-path={}", normalize(&format!("{s}/Cargo.toml")));
        f.expect(flags.iter().any(|w| normalize(w) == manifest), || {
            format!("CARGO_BUILD_FLAGS lacks {manifest}")
        });
        let named: Vec<&str> = flags
            .windows(2)
            .filter(|pair| pair[0] == "--package")
            .map(|pair| pair[1])
            .collect();
        f.expect(
            named == want.packages.iter().map(String::as_str).collect::<Vec<_>>(),
            || {
                format!(
                    "CARGO_BUILD_FLAGS builds {named:?}, IPCON_CARGO_PACKAGES is {:?}",
                    want.packages
                )
            },
        );
        f.equal(
            "CARGO_PROFILE_RELEASE_STRIP",
            env.var("CARGO_PROFILE_RELEASE_STRIP"),
            "false",
        );
        for package in ["ipcon", "ipcon-samples"] {
            let name = format!("RRECOMMENDS:{package}");
            f.contains(&name, &env.words(&name), "kernel-module-ipcon");
        }
        let packages = env.words("PACKAGES");
        let position = |p: &str| packages.iter().position(|w| *w == p);
        f.expect(
            matches!((position("ipcon-samples"), position("ipcon")), (Some(a), Some(b)) if a < b),
            || {
                format!(
                    "PACKAGES ({}) does not split ipcon-samples off before ipcon",
                    packages.join(" ")
                )
            },
        );
        let files: BTreeSet<String> = env
            .words("FILES:ipcon-samples")
            .iter()
            .map(|w| w.to_string())
            .collect();
        let bindir = env.var("bindir");
        let samples: BTreeSet<String> = want
            .samples
            .iter()
            .map(|s| format!("{bindir}/{s}"))
            .collect();
        f.expect(files == samples, || {
            format!("FILES:ipcon-samples is {files:?}, IPCON_SAMPLES gives {samples:?}")
        });
        // The crates: exactly Cargo.lock's, named as the crate fetcher and
        // update_crates name them (no ;name= parameters).
        let uris = env.words("SRC_URI");
        let crates: BTreeSet<String> = uris
            .iter()
            .filter_map(|u| u.strip_prefix("crate://crates.io/"))
            .map(|c| c.replace('/', "-"))
            .collect();
        f.expect(crates == want.crates, || {
            format!(
                "SRC_URI's crates differ from Cargo.lock's: missing {:?}, extra {:?}",
                want.crates.difference(&crates).collect::<Vec<_>>(),
                crates.difference(&want.crates).collect::<Vec<_>>()
            )
        });
        f.expect(
            !uris
                .iter()
                .any(|u| u.starts_with("crate://") && u.contains(";name=")),
            || "SRC_URI's crates carry ;name= parameters (update_crates writes none)".into(),
        );
        if way.builds_checkout() {
            f.equal("S", &normalize(s), &normalize(&self.copy.to_string_lossy()));
            let local = |u: &&str| u.starts_with("crate://") || u.starts_with("file://");
            f.expect(uris.iter().all(local), || {
                format!(
                    "SRC_URI keeps more than the crates and the layer's files: {}",
                    uris.iter()
                        .filter(|u| !local(u))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            });
        } else {
            judge_release_uri(&mut f, env, uris.first().copied().unwrap_or_default());
            f.equal("S", s, &Self::release_source(env));
        }
        f.done(format!(
            "S, B, SRC_URI ({} crates), SRCREV, LICENSE, CARGO_BUILD_FLAGS, RRECOMMENDS, FILES, \
             libipcon: PROVIDES, PACKAGES, FILES, RDEPENDS, do_install; policy: CONFFILES, \
             SYSTEMD_*, INITSCRIPT_*",
            crates.len()
        ))
    }

    fn judge_kmod(&self, env: &Environment, way: Way, want: &Expected) -> Outcome {
        let mut f = Findings::default();
        judge_common(&mut f, env, want);
        let s = env.var("S");
        f.equal("LICENSE", env.var("LICENSE"), "GPL-2.0-only");
        f.expect(
            env.words("LIC_FILES_CHKSUM")
                .iter()
                .any(|e| e.starts_with("file://../LICENSES/GPL-2.0-only.txt;")),
            || "LIC_FILES_CHKSUM does not name the GPL-2.0 text".into(),
        );
        f.contains(
            "KERNEL_MODULE_AUTOLOAD",
            &env.words("KERNEL_MODULE_AUTOLOAD"),
            "ipcon",
        );
        f.contains(
            "RPROVIDES:ipcon-kmod",
            &env.words("RPROVIDES:ipcon-kmod"),
            "kernel-module-ipcon",
        );
        if way.builds_checkout() {
            f.equal(
                "S",
                &normalize(s),
                &normalize(&format!("{}/kmod", self.copy.display())),
            );
            f.equal("B", &normalize(env.var("B")), &normalize(s));
        } else {
            judge_release_uri(&mut f, env, env.var("SRC_URI"));
            f.equal("S", s, &format!("{}/kmod", Self::release_source(env)));
        }
        f.done("S, SRC_URI, SRCREV, LICENSE, KERNEL_MODULE_AUTOLOAD, RPROVIDES".into())
    }

    /// The C samples recipe: the same sources, built against libipcon of
    /// the sysroot through pkg-config, every sample installed.
    fn judge_c_samples(&self, env: &Environment, way: Way, want: &Expected) -> Outcome {
        let mut f = Findings::default();
        judge_common(&mut f, env, want);
        let s = env.var("S");
        f.equal("LICENSE", env.var("LICENSE"), "MIT | Apache-2.0");
        let depends = env.words("DEPENDS");
        f.contains("DEPENDS", &depends, "libipcon");
        // From `inherit pkgconfig`: pkgconfig-native on scarthgap,
        // pkgconf-native (its provider) on later releases.
        f.expect(
            depends
                .iter()
                .any(|d| *d == "pkgconfig-native" || *d == "pkgconf-native"),
            || {
                format!(
                    "DEPENDS ({}) lacks pkg-config (inherit pkgconfig)",
                    depends.join(" ")
                )
            },
        );
        f.expect(!is_under(env.var("B"), s), || {
            format!("B ({}) is inside S ({s})", env.var("B"))
        });
        let compile = env.functions.get("do_compile").cloned().unwrap_or_default();
        for part in [
            "pkg-config --cflags libipcon",
            "pkg-config --libs libipcon",
            "${S}/samples/c/",
        ] {
            let part = part.replace("${S}", s);
            f.expect(compile.contains(&part), || {
                format!("do_compile does not use {part}")
            });
        }
        f.expect(
            env.words("IPCON_C_SAMPLES")
                == want
                    .c_samples
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            || "IPCON_C_SAMPLES differs from the recipe file's".into(),
        );
        let bindir = env.var("bindir");
        let files = env.words("FILES:ipcon-c-samples");
        for sample in &want.c_samples {
            let path = format!("{bindir}/{sample}");
            f.expect(files.iter().any(|p| files_match(p, &path)), || {
                format!("FILES:ipcon-c-samples does not hold {path}")
            });
        }
        f.contains(
            "RRECOMMENDS:ipcon-c-samples",
            &env.words("RRECOMMENDS:ipcon-c-samples"),
            "kernel-module-ipcon",
        );
        if way.builds_checkout() {
            f.equal("S", &normalize(s), &normalize(&self.copy.to_string_lossy()));
        } else {
            judge_release_uri(
                &mut f,
                env,
                env.words("SRC_URI").first().copied().unwrap_or_default(),
            );
            f.equal("S", s, &Self::release_source(env));
        }
        f.done(format!(
            "S, B, SRCREV, LICENSE, DEPENDS (libipcon, pkg-config), do_compile with \
             pkg-config, FILES ({} samples)",
            want.c_samples.len()
        ))
    }

    /// Fetch, unpack and licence checksums (`do_populate_lic` checks every
    /// LIC_FILES_CHKSUM md5), crates from crates.io; on the full-parse release
    /// first the full parse, `-n packagegroup-ipcon` and `-c unpack ipcon`
    /// through the run queue. Then what was unpacked is judged.
    pub fn fetch(&self, release: &Release, way: Way) -> Vec<(String, Outcome)> {
        let mut outcomes = Vec::new();
        let label = |what: &str| format!("{} {}: {what}", release.name, way.dir());
        let dir = match self.configure(&self.root, release, way) {
            Ok(dir) => dir,
            Err(e) => return vec![(label("configure"), Err(e))],
        };
        if release.full_parse && way == Way::ReleaseFetch {
            let started = std::time::Instant::now();
            let dry = self
                .run(release, &dir, &["-n", "packagegroup-ipcon"])
                .and_then(|text| {
                    // A parse prints its count; a warm run loads bitbake's cache
                    // instead (a recipe that fails to parse fails the command).
                    let parsed = text
                        .lines()
                        .find(|l| l.starts_with("Parsing of "))
                        .or_else(|| text.lines().find(|l| l.contains("from dependency cache")))
                        .unwrap_or_default()
                        .to_owned();
                    let mut f = Findings::default();
                    f.expect(
                        parsed.contains(" 0 errors") || parsed.contains("from dependency cache"),
                        || format!("the parse reported errors: {parsed}"),
                    );
                    for recipe in [IPCON, KMOD, C_SAMPLES] {
                        let task = format!("{}:do_package_write_", self.recipe(recipe).display());
                        f.expect(text.contains(&task), || {
                            format!("the dry run does not build {recipe}")
                        });
                    }
                    f.done(format!(
                        "{} [{:.0}s]",
                        parsed.trim_end_matches('.'),
                        started.elapsed().as_secs_f64()
                    ))
                });
            outcomes.push((label("full parse + bitbake -n packagegroup-ipcon"), dry));
            let unpack = self
                .run(release, &dir, &["-c", "unpack", "ipcon"])
                .map(|_| "do_fetch, do_unpack through the run queue".to_owned());
            outcomes.push((label("bitbake -c unpack ipcon"), unpack));
        }
        for recipe in [IPCON, KMOD, C_SAMPLES] {
            let path = self.recipe(recipe).to_string_lossy().into_owned();
            let name = Path::new(recipe)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let outcome = self
                .run(release, &dir, &["-b", &path, "-c", "populate_lic"])
                .map(|_| "fetched, unpacked, licence checksums verified".to_owned());
            outcomes.push((
                label(&format!("bitbake -b {name} -c populate_lic")),
                outcome,
            ));
        }
        outcomes.push((
            label("what was unpacked"),
            self.judge_unpacked(release, way),
        ));
        self.stop(release, &dir);
        outcomes
    }

    /// The unpacked sources and crates: every crate of S's Cargo.lock
    /// unpacked; for the release, the listed programs and crates exist at the
    /// pinned commit and ipcon-crates.inc covers its Cargo.lock; for the
    /// checkout, update_crates (the class's own code) writes exactly
    /// ipcon-crates.inc; with an older release's cargo, it reads them all.
    fn judge_unpacked(&self, release: &Release, way: Way) -> Outcome {
        // The values of this build directory (its server still runs).
        let env = self.environment(release, &self.build_dir(release, way), IPCON)?;
        let s = PathBuf::from(env.var("S"));
        let vendored = PathBuf::from(env.var("CARGO_VENDORING_DIRECTORY"));
        let want = Expected::read(&self.copy)?;
        let mut f = Findings::default();
        let lock = fs::read_to_string(s.join("Cargo.lock"))
            .map_err(|e| format!("{}: {e}", s.join("Cargo.lock").display()))?;
        let locked = crates_inc::crate_keys(&lock)?;
        let missing: Vec<&String> = locked
            .iter()
            .filter(|c| !vendored.join(c.as_str()).join("Cargo.toml").is_file())
            .collect();
        f.expect(missing.is_empty(), || {
            format!(
                "crates of S's Cargo.lock not unpacked in {}: {missing:?}",
                vendored.display()
            )
        });
        if way.builds_checkout() {
            match self.update_crates(&env) {
                Ok(written) => {
                    let committed = self
                        .copy
                        .join("meta-ipcon/recipes-ipcon/ipcon/ipcon-crates.inc");
                    let committed = fs::read_to_string(&committed).unwrap_or_default();
                    f.expect(written == committed, || {
                        "bitbake -c update_crates ipcon would not write ipcon-crates.inc as committed \
                         (regenerate it: XTASK_PACKAGING_WRITE=1 cargo xtask test)".into()
                    });
                }
                Err(e) => f.0.push(e),
            }
        } else {
            let listed: BTreeSet<String> = want.crates.clone();
            let uncovered: Vec<&String> = locked.difference(&listed).collect();
            f.expect(uncovered.is_empty(), || {
                format!(
                    "the release SRCREV {} locks crates ipcon-crates.inc lacks: {uncovered:?}; the \
                     release would not build. Pin SRCREV (meta-ipcon/{SOURCE_INC}) to a commit \
                     with the current Cargo.lock",
                    want.srcrev
                )
            });
            let names = crates_inc::workspace_members(&lock)?;
            for package in &want.packages {
                f.expect(names.contains(package), || format!("IPCON_CARGO_PACKAGES names {package}, which the release SRCREV does not have"));
            }
            match programs::workspace_programs(&s) {
                Ok(built) => {
                    for program in want.tools.iter().chain(&want.samples) {
                        f.expect(built.contains(program), || {
                            format!(
                                "{program} is installed but the release SRCREV does not build it"
                            )
                        });
                    }
                }
                Err(e) => f.0.push(e),
            }
            // libipcon's installer and the C samples at the release.
            f.expect(s.join("ipcon-c/install.sh").is_file(), || {
                "the release SRCREV has no ipcon-c/install.sh (libipcon)".into()
            });
            match programs::c_samples(&s) {
                Ok(built) => {
                    for sample in &want.c_samples {
                        f.expect(built.contains(sample), || {
                            format!("{C_SAMPLES} builds {sample}, which the release SRCREV lacks")
                        });
                    }
                }
                Err(e) => f.0.push(e),
            }
        }
        if let Some(version) = release.cargo {
            if let Err(e) = cargo_reads_crates(version, &s, &vendored, &self.work) {
                f.0.push(e);
            }
        }
        f.done(format!(
            "{} crates unpacked{}{}",
            locked.len(),
            if way.builds_checkout() {
                ", update_crates output = ipcon-crates.inc"
            } else {
                ", release covered by ipcon-crates.inc, its programs, libipcon and C samples present"
            },
            release
                .cargo
                .map(|v| format!(", cargo {v} reads them"))
                .unwrap_or_default()
        ))
    }

    /// Runs the class's own `do_update_crates` (as `bitbake -e` expands it)
    /// with the host's Python, writing to a scratch file instead of the
    /// recipe's directory: the task itself needs python3-native, which
    /// cannot be built here.
    fn update_crates(&self, env: &Environment) -> Result<String, String> {
        let body = env
            .functions
            .get("do_update_crates")
            .ok_or("bitbake -e shows no do_update_crates")?
            .clone();
        let target = format!(
            "{}-crates.inc",
            env.var("THISDIR").trim_end_matches('/').to_owned() + "/" + env.var("BPN")
        );
        let scratch = self.work.join("update-crates.inc");
        if !body.contains(&target) {
            return Err(format!("do_update_crates does not write {target}"));
        }
        let script = format!(
            "set -e\nnativepython3() {{ {PYTHON} \"$@\"; }}\nbbnote() {{ :; }}\n{}",
            body.replace(&target, &scratch.to_string_lossy())
        );
        let _ = fs::remove_file(&scratch);
        run_captured(
            Command::new("sh").arg("-c").arg(&script),
            "do_update_crates",
            10,
        )?;
        fs::read_to_string(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))
    }
}

fn judge_common(f: &mut Findings, env: &Environment, want: &Expected) {
    let srcrev = env.var("SRCREV");
    f.expect(!want.srcrev.is_empty(), || {
        format!("{SOURCE_INC} does not pin SRCREV (SRCREV = \"<commit>\")")
    });
    f.equal("SRCREV", srcrev, &want.srcrev);
    f.expect(
        srcrev.len() == 40 && srcrev.chars().all(|c| c.is_ascii_hexdigit()),
        || format!("SRCREV \"{srcrev}\" is not a pinned commit"),
    );
    f.expect(env.var("PV").starts_with(&want.pv_prefix), || {
        format!(
            "PV \"{}\" does not follow the workspace version ({})",
            env.var("PV"),
            want.pv_prefix
        )
    });
}

/// The release's git entry: IPCON_GIT_URI on IPCON_GIT_BRANCH, unpacked to
/// the directory S is in; by default the placeholder URI.
fn judge_release_uri(f: &mut Findings, env: &Environment, first: &str) {
    let want = format!(
        "{};branch={};destsuffix={}",
        env.var("IPCON_GIT_URI"),
        env.var("IPCON_GIT_BRANCH"),
        env.var("BP")
    );
    f.equal("SRC_URI's git entry", first, &want);
    f.equal("IPCON_GIT_URI", env.var("IPCON_GIT_URI"), DEFAULT_GIT_URI);
}

/// libipcon, built by the ipcon recipe: provided for DEPENDS, linked and
/// installed by the crate's install.sh, split into libipcon (the shared
/// library), ipcon-dev (header, .pc, .so link) and ipcon-staticdev (.a).
fn judge_libipcon(f: &mut Findings, env: &Environment) {
    f.contains("PROVIDES", &env.words("PROVIDES"), "libipcon");
    let packages = env.words("PACKAGES");
    for package in ["libipcon", "ipcon-dev", "ipcon-staticdev"] {
        f.contains("PACKAGES", &packages, package);
    }
    let position = |p: &str| packages.iter().position(|w| *w == p);
    f.expect(
        matches!((position("libipcon"), position("ipcon")), (Some(a), Some(b)) if a < b),
        || "PACKAGES does not split libipcon off before ipcon".into(),
    );
    let libdir = env.var("libdir");
    let includedir = env.var("includedir");
    let version = env
        .var("PV")
        .split('+')
        .next()
        .unwrap_or_default()
        .to_owned();
    // Which package each installed file lands in: the first in PACKAGES
    // whose FILES matches it (do_package's rule).
    let installed = [
        (format!("{libdir}/libipcon.so.{version}"), "libipcon"),
        (format!("{libdir}/libipcon.so.0"), "libipcon"),
        (format!("{libdir}/libipcon.so"), "ipcon-dev"),
        (format!("{libdir}/pkgconfig/libipcon.pc"), "ipcon-dev"),
        (format!("{includedir}/libipcon.h"), "ipcon-dev"),
        (format!("{includedir}/ipcon/ipcon.h"), "ipcon-dev"),
        (format!("{libdir}/libipcon.a"), "ipcon-staticdev"),
    ];
    for (file, want) in &installed {
        let owner = packages
            .iter()
            .find(|p| {
                env.words(&format!("FILES:{p}"))
                    .iter()
                    .any(|pattern| files_match(pattern, file))
            })
            .copied()
            .unwrap_or("no package");
        f.expect(owner == *want, || {
            format!("{file} would be packaged in {owner}, not {want}")
        });
    }
    f.contains(
        "RDEPENDS:ipcon-dev",
        &env.words("RDEPENDS:ipcon-dev"),
        "libipcon",
    );
    let install = env.functions.get("do_install").cloned().unwrap_or_default();
    for part in [
        "ipcon-c/install.sh",
        &format!("LIBDIR=\"{libdir}\""),
        &format!("INCLUDEDIR=\"{includedir}\""),
        "DESTDIR=",
        "CC=",
        "LDFLAGS=",
    ] {
        f.expect(install.contains(part), || {
            format!("do_install does not run libipcon's installer with {part}")
        });
    }
    f.contains(
        "IPCON_CARGO_PACKAGES",
        &env.words("IPCON_CARGO_PACKAGES"),
        "ipcon-c",
    );
}

/// The ownership policy: the file as a conffile of ipcon, loaded at boot
/// by a systemd unit and a sysvinit script after the module.
fn judge_policy(f: &mut Findings, env: &Environment) {
    let conffiles = env.words("CONFFILES:ipcon");
    f.contains("CONFFILES:ipcon", &conffiles, POLICY);
    f.expect(
        env.words("FILES:ipcon")
            .iter()
            .any(|p| files_match(p, POLICY)),
        || format!("FILES:ipcon does not hold {POLICY}"),
    );
    f.contains("SYSTEMD_PACKAGES", &env.words("SYSTEMD_PACKAGES"), "ipcon");
    f.equal(
        "SYSTEMD_SERVICE:ipcon",
        env.var("SYSTEMD_SERVICE:ipcon"),
        "ipcon-policy.service",
    );
    // Unset, update-rc.d.bbclass takes PN.
    let initscripts = env.words("INITSCRIPT_PACKAGES");
    f.expect(
        initscripts.is_empty() || initscripts.contains(&"ipcon"),
        || {
            format!(
                "INITSCRIPT_PACKAGES ({}) lacks ipcon",
                initscripts.join(" ")
            )
        },
    );
    f.equal(
        "INITSCRIPT_NAME",
        env.var("INITSCRIPT_NAME"),
        "ipcon-policy",
    );
    // rcS after modutils.sh (start 06 S), which loads the module.
    let params = env.words("INITSCRIPT_PARAMS");
    let order = match params.as_slice() {
        ["start", order, "S", "."] => order.parse::<u32>().ok(),
        _ => None,
    };
    f.expect(order.is_some_and(|o| o > 6), || {
        format!(
            "INITSCRIPT_PARAMS \"{}\" does not start in rcS after modutils.sh (06)",
            params.join(" ")
        )
    });
    let uris = env.words("SRC_URI");
    for file in ["policy.conf", "ipcon-policy.service", "ipcon-policy.init"] {
        f.expect(uris.contains(&format!("file://{file}").as_str()), || {
            format!("SRC_URI lacks file://{file}")
        });
    }
    let install = env.functions.get("do_install").cloned().unwrap_or_default();
    for part in [
        POLICY,
        &format!("{}/ipcon-policy.service", env.var("systemd_system_unitdir")),
        "/etc/init.d/ipcon-policy",
    ] {
        f.expect(install.contains(part), || {
            format!("do_install does not install {part}")
        });
    }
}

/// Whether a FILES pattern (a path, a directory or a glob) covers `file`.
fn files_match(pattern: &str, file: &str) -> bool {
    if !pattern.contains(['*', '?', '[']) {
        return is_under(file, pattern);
    }
    glob_match(pattern.as_bytes(), file.as_bytes())
        || glob_match(format!("{pattern}/*").as_bytes(), file.as_bytes())
}

/// fnmatch without special slashes (as do_package's glob of paths).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob_match(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob_match(rest, &text[1..]),
    }
}

fn judge_group(env: &Environment) -> Outcome {
    let mut f = Findings::default();
    let runtime = env.words("RDEPENDS:packagegroup-ipcon");
    f.expect(
        runtime.len() == 3
            && runtime.contains(&"ipcon")
            && runtime.contains(&"kernel-module-ipcon")
            && runtime.contains(&"libipcon"),
        || format!("RDEPENDS:packagegroup-ipcon is \"{}\"", runtime.join(" ")),
    );
    let samples = env.words("RDEPENDS:packagegroup-ipcon-samples");
    for want in ["packagegroup-ipcon", "ipcon-samples", "ipcon-c-samples"] {
        f.contains("RDEPENDS:packagegroup-ipcon-samples", &samples, want);
    }
    f.equal(
        "PACKAGE_ARCH",
        env.var("PACKAGE_ARCH"),
        env.var("MACHINE_ARCH"),
    );
    f.done("RDEPENDS, PACKAGE_ARCH".into())
}

/// Whether `cargo +<version>` can load every crate bitbake unpacked, as the
/// release's cargo does first in do_compile (a crate whose manifest needs a
/// newer cargo fails it): the source replacement cargo_common.bbclass
/// writes, run outside S like the recipe's build.
fn cargo_reads_crates(version: &str, s: &Path, vendored: &Path, work: &Path) -> Result<(), String> {
    let home = work.join(format!("cargo-{version}-home"));
    fs::create_dir_all(&home).map_err(|e| format!("{}: {e}", home.display()))?;
    fs::write(
        home.join("config.toml"),
        format!(
            "[source.bitbake]\ndirectory = \"{}\"\n\n[source.crates-io]\nreplace-with = \"bitbake\"\nlocal-registry = \"/nonexistent\"\n",
            vendored.display()
        ),
    )
    .map_err(|e| format!("{}: {e}", home.display()))?;
    run_captured(
        Command::new("cargo")
            .arg(format!("+{version}"))
            .args([
                "metadata",
                "--frozen",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(s.join("Cargo.toml"))
            .env("CARGO_HOME", &home)
            .env_remove("RUSTUP_TOOLCHAIN")
            .current_dir(&home)
            .stdout(std::process::Stdio::null()),
        &format!("cargo {version} (the release's) reading the unpacked crates"),
        8,
    )
    .map(|_| ())
}

/// Hands `dir` to the bitbake user (when running as root).
fn give_to_bitbake_user(dir: &Path) -> Result<(), String> {
    if !host::is_root() {
        return Ok(());
    }
    process::output(Command::new("chown").arg("-R").arg(BITBAKE_USER).arg(dir))
        .map(|_| ())
        .map_err(|e| format!("chown {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_output_is_read() {
        let text =
            "#\n# $S\nS=\"/w/ipcon-0.1.0+git\"\nexport CARGO_PROFILE_RELEASE_STRIP=\"false\"\n\
                    LONG=\"a \\\nb\"\nQUOTED=\"say \\\"hi\\\" \\$x\"\n\
                    do_update_crates() {\n    TARGET_FILE=\"/l/ipcon-crates.inc\"\n    echo\n}\n\
                    python do_fetch () {\n    pass\n}\n";
        let env = Environment::parse(text);
        assert_eq!(env.var("S"), "/w/ipcon-0.1.0+git");
        assert_eq!(env.var("CARGO_PROFILE_RELEASE_STRIP"), "false");
        assert_eq!(env.var("LONG"), "a b");
        assert_eq!(env.var("QUOTED"), "say \"hi\" $x");
        assert_eq!(env.var("MISSING"), "");
        assert_eq!(
            env.functions["do_update_crates"],
            "    TARGET_FILE=\"/l/ipcon-crates.inc\"\n    echo\n"
        );
        assert!(!env.functions.contains_key("python do_fetch "));
    }

    #[test]
    fn files_patterns_match_as_do_package_does() {
        assert!(files_match(
            "/usr/lib/libipcon.so.*",
            "/usr/lib/libipcon.so.0.1.0"
        ));
        assert!(files_match("/usr/lib/lib*.so", "/usr/lib/libipcon.so"));
        assert!(!files_match("/usr/lib/lib*.so", "/usr/lib/libipcon.so.0"));
        assert!(files_match("/usr/include", "/usr/include/ipcon/ipcon.h"));
        assert!(files_match(
            "/usr/lib/pkgconfig",
            "/usr/lib/pkgconfig/libipcon.pc"
        ));
        assert!(files_match("/usr/lib/*.a", "/usr/lib/libipcon.a"));
        assert!(!files_match("/usr/lib/*.a", "/usr/lib/libipcon.so"));
        assert!(!files_match("/usr/bin/ipcon", "/usr/bin/ipcon-server"));
    }

    #[test]
    fn paths_are_compared_as_paths() {
        assert!(is_under("/a/b//c", "/a/b"));
        assert!(is_under("/a/b/", "/a/b"));
        assert!(!is_under("/a/bc", "/a/b"));
        assert_eq!(normalize("/x//Cargo.toml"), "/x/Cargo.toml");
    }

    #[test]
    fn findings_fail_when_a_value_is_wrong() {
        let mut f = Findings::default();
        f.equal("S", "/a", "/a");
        f.contains("X", &["a", "b"], "b");
        assert_eq!(f.done("ok".into()), Ok("ok".into()));
        let mut f = Findings::default();
        f.equal("SRCREV", "${AUTOREV}", "abc");
        f.contains("KERNEL_MODULE_AUTOLOAD", &[], "ipcon");
        let problems = f.done(String::new()).unwrap_err();
        assert!(problems.contains("SRCREV is \"${AUTOREV}\""));
        assert!(problems.contains("KERNEL_MODULE_AUTOLOAD () lacks ipcon"));
    }
}
