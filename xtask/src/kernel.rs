//! Which kernel the VM boots and the module is built against: the one the
//! Debian meta-packages (`linux-image-amd64`, `linux-headers-amd64`) point at.
//! The host runs some other kernel, so `uname -r` would be wrong, and the ABI
//! number changes with every Debian point release, so it is never hard-coded.
use std::path::PathBuf;
use std::process::Command;

use crate::process;

/// CPU architectures the VM harness knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    /// 64-bit ARM (arm64), booted as `-M virt -cpu cortex-a57`.
    Aarch64,
}

impl Arch {
    /// Short name used in summary lines (`vm-x86_64`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Rust target the VM's user space is built for.
    pub fn musl_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Aarch64 => "aarch64-unknown-linux-musl",
        }
    }

    /// Debian's kernel flavour suffix (meta-packages are `linux-image-<flavour>`).
    pub fn debian_flavour(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// Debian's architecture name (`linux-image-arm64:arm64`).
    pub fn debian_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// kbuild variables for building a module for this architecture on the
    /// x86_64 host (Debian's cross compiler).
    pub fn kbuild_vars(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[],
            Arch::Aarch64 => &["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"],
        }
    }

    /// QEMU machine and CPU. `-cpu max` on arm64 makes Debian's kernel boot
    /// far slower under TCG (pointer authentication emulation).
    pub fn qemu_machine(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["-cpu", "max"],
            Arch::Aarch64 => &["-M", "virt", "-cpu", "cortex-a57"],
        }
    }

    pub fn qemu_binary(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }

    /// Serial console device name on the kernel command line.
    pub fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Aarch64 => "ttyAMA0",
        }
    }
}

/// A kernel to boot, with the build tree of the same release.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub arch: Arch,
    /// `uname -r` of that kernel, e.g. "6.1.0-56-amd64".
    pub release: String,
    pub image: PathBuf,
    pub build_dir: PathBuf,
    /// Extra kbuild variables (cross compiler, `CC=gcc` for headers that
    /// ask for a compiler this host lacks).
    pub make_vars: Vec<String>,
}

impl Kernel {
    /// "6.1" of "6.1.0-56-amd64": Debian's source package and tarball are
    /// named after it (`linux-source-6.1`, `/usr/src/linux-source-6.1.tar.xz`).
    pub fn series(&self) -> String {
        self.release
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }

    pub fn source_package(&self) -> String {
        format!("linux-source-{}", self.series())
    }

    pub fn source_tarball(&self) -> PathBuf {
        PathBuf::from(format!("/usr/src/linux-source-{}.tar.xz", self.series()))
    }
}

/// First package named in a dpkg `Depends` field that starts with `prefix`,
/// with the prefix removed: "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" → "6.1.0-56-amd64".
pub fn release_from_depends(depends: &str, prefix: &str, flavour: &str) -> Option<String> {
    depends
        .split([',', '|'])
        .filter_map(|alternative| alternative.split_whitespace().next())
        .filter_map(|package| package.strip_prefix(prefix))
        .map(|release| release.trim_end_matches("-unsigned"))
        .find(|release| {
            release.starts_with(|c: char| c.is_ascii_digit()) && release.ends_with(flavour)
        })
        .map(str::to_owned)
}

fn meta_release(package: &str, prefix: &str, flavour: &str) -> Result<String, String> {
    let depends =
        process::output(Command::new("dpkg-query").args(["-W", "-f=${Depends}", package]))
            .map_err(|e| format!("{package} is not installed ({e})"))?;
    release_from_depends(&depends, prefix, flavour)
        .ok_or_else(|| format!("cannot tell the kernel release from {package}: {depends:?}"))
}

/// The kernel the meta-packages installed for `arch`.
pub fn debian_kernel(arch: Arch) -> Result<Kernel, String> {
    let flavour = arch.debian_flavour();
    let image_release = meta_release(&format!("linux-image-{flavour}"), "linux-image-", flavour)?;
    let headers_release = meta_release(
        &format!("linux-headers-{flavour}"),
        "linux-headers-",
        flavour,
    )?;
    if image_release != headers_release {
        return Err(format!(
            "linux-image-{flavour} ({image_release}) and linux-headers-{flavour} \
             ({headers_release}) disagree; upgrade both"
        ));
    }
    let image = PathBuf::from(format!("/boot/vmlinuz-{image_release}"));
    let build_dir = PathBuf::from(format!("/usr/src/linux-headers-{image_release}"));
    for path in [&image, &build_dir] {
        if !path.exists() {
            return Err(format!("{} is missing", path.display()));
        }
    }
    Ok(Kernel {
        arch,
        release: image_release,
        image,
        build_dir,
        make_vars: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_is_taken_from_the_dependency() {
        assert_eq!(
            release_from_depends(
                "linux-image-6.1.0-56-amd64 (= 6.1.192-2)",
                "linux-image-",
                "amd64"
            )
            .as_deref(),
            Some("6.1.0-56-amd64")
        );
        assert_eq!(
            release_from_depends(
                "linux-image-6.12.9-amd64-unsigned (= 6.12.9-1) | linux-image-6.12.9-amd64",
                "linux-image-",
                "amd64"
            )
            .as_deref(),
            Some("6.12.9-amd64")
        );
    }

    #[test]
    fn source_is_named_after_the_series() {
        let kernel = Kernel {
            arch: Arch::X86_64,
            release: "6.1.0-56-amd64".into(),
            image: PathBuf::new(),
            build_dir: PathBuf::new(),
            make_vars: Vec::new(),
        };
        assert_eq!(kernel.source_package(), "linux-source-6.1");
        assert_eq!(
            kernel.source_tarball(),
            PathBuf::from("/usr/src/linux-source-6.1.tar.xz")
        );
    }

    #[test]
    fn unrelated_dependencies_are_skipped() {
        assert_eq!(
            release_from_depends(
                "linux-headers-6.1.0-56-common (= 6.1.192-2), linux-headers-6.1.0-56-amd64",
                "linux-headers-",
                "amd64"
            )
            .as_deref(),
            Some("6.1.0-56-amd64")
        );
        assert_eq!(
            release_from_depends("initramfs-tools", "linux-image-", "amd64"),
            None
        );
    }
}
