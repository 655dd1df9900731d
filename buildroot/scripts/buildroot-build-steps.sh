#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Replays the build steps of the br2-external packages without Buildroot,
# for aarch64 with Debian's cross tools, so that CI (which has no Buildroot)
# builds exactly what the packages build, the way the infrastructures do:
#
#   ipcon       (cargo-package)  rsync of the local site, our vendoring
#               hook, cargo build --offline --release --manifest-path
#               Cargo.toml --locked $(IPCON_CARGO_BUILD_OPTS) with
#               CARGO_BUILD_TARGET and the target linker in the environment,
#               then IPCON_INSTALL_TARGET_CMDS / _STAGING_CMDS
#   ipcon-kmod  (kernel-module)  $(MAKE) -C $(LINUX_DIR) M=$(@D)/kmod
#               modules, then modules_install with INSTALL_MOD_PATH
#
#   buildroot-build-steps.sh aarch64|armv7 WORK_DIR
#
# Variables are read from the .mk files. The machines follow the defconfigs:
# aarch64 = configs/ipcon_qemu_aarch64_virt_defconfig (musl,
# aarch64-unknown-linux-musl), armv7 = configs/ipcon_qemu_arm_vexpress_defconfig
# (glibc, armv7-unknown-linux-gnueabihf). Debian's arm64 / armhf (armmp)
# kernel headers stand in for $(LINUX_DIR).
set -eu

usage="usage: buildroot-build-steps.sh aarch64|armv7 WORK_DIR"
machine=${1:?$usage}
work=${2:?$usage}
# pkg-cargo.mk adds a linker flag on 32-bit ARM (a compiler-builtins
# workaround); extra_rustflags carries it.
case $machine in
aarch64)
	rust_target=aarch64-unknown-linux-musl
	cross=aarch64-linux-gnu-
	kernel_arch=arm64
	debian_arch=arm64
	extra_rustflags=
	;;
armv7)
	rust_target=armv7-unknown-linux-gnueabihf
	cross=arm-linux-gnueabihf-
	kernel_arch=arm
	debian_arch=armhf
	extra_rustflags=-Clink-arg=-Wl,--allow-multiple-definition
	;;
*)
	echo "$usage" >&2
	exit 2
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)

mk="$root/buildroot/package/ipcon/ipcon.mk"
mk_value() {
	sed -n "s/^$1 = \\(.*\\)\$/\\1/p" "$mk" | head -n 1
}
packages=$(mk_value IPCON_CARGO_PACKAGES)
tools=$(mk_value IPCON_TOOLS)
samples=$(mk_value IPCON_SAMPLES)
if [ -z "$packages" ] || [ -z "$tools" ] || [ -z "$samples" ]; then
	echo "cannot read IPCON_* variables from $mk" >&2
	exit 1
fi

# Buildroot's environment has none of these; a caller's would redirect or
# change the build.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTFLAGS CARGO_BUILD_RUSTFLAGS

target_dir="$work/target-rootfs"
staging_dir="$work/staging"
rm -rf "$target_dir" "$staging_dir"

# rsync of the local site into $(@D), with RSYNC_VCS_EXCLUSIONS and the
# package's OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS (what git ignores).
build_dir="$work/build/ipcon-custom"
mkdir -p "$build_dir"
rsync -a --delete --exclude .git --filter=':- .gitignore' \
	"$root/" "$build_dir/"

# IPCON_CARGO_VENDOR (pre-configure hook): cargo vendor through the cargo
# home in DL_DIR, the replacement appended to the build's cargo config.
export CARGO_HOME="$work/dl/br-cargo-home"
mkdir -p "$CARGO_HOME"
if ! grep -q '^\[source\.vendored-sources\]' "$build_dir/.cargo/config.toml"; then
	(cd "$build_dir" && cargo vendor --locked VENDOR >>"$build_dir/.cargo/config.toml")
fi

# Build step of pkg-cargo.mk (the environment part that matters here).
package_flags=
for p in $packages; do
	package_flags="$package_flags --package $p"
done
target_env=$(printf '%s' "$rust_target" | tr 'a-z-' 'A-Z_')
(
	cd "$build_dir"
	if [ -n "$extra_rustflags" ]; then
		export "CARGO_TARGET_${target_env}_RUSTFLAGS=$extra_rustflags"
	fi
	# shellcheck disable=SC2086 # the flags are words on purpose
	env CARGO_BUILD_TARGET="$rust_target" \
		"CARGO_TARGET_${target_env}_LINKER=${cross}gcc" \
		CARGO_PROFILE_RELEASE_INCREMENTAL=false \
		CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
		CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
		CARGO_PROFILE_RELEASE_LTO=false \
		CARGO_PROFILE_RELEASE_DEBUG=0 \
		cargo build --offline --release --manifest-path Cargo.toml --locked \
		$package_flags
)

# IPCON_INSTALL_TARGET_CMDS with BR2_PACKAGE_IPCON_SAMPLES=y, and
# IPCON_INSTALL_STAGING_CMDS.
for bin in $tools $samples; do
	install -D -m 0755 "$build_dir/target/$rust_target/release/$bin" \
		"$target_dir/usr/bin/$bin"
done
install -D -m 0644 "$build_dir/kmod/uapi/ipcon.h" \
	"$staging_dir/usr/include/ipcon/ipcon.h"

# ipcon-kmod: the kernel-module infrastructure with
# IPCON_KMOD_MODULE_SUBDIRS = kmod.
linux_dir=$("$root/meta-ipcon/scripts/debian-kernel-headers.sh" \
	"$debian_arch" "$root/target/packaging/kernel-headers")
kmod_dir="$work/build/ipcon-kmod-custom"
mkdir -p "$kmod_dir"
rsync -a --delete --exclude .git --filter=':- .gitignore' \
	"$root/" "$kmod_dir/"
make -C "$linux_dir" -j2 ARCH="$kernel_arch" CROSS_COMPILE="$cross" \
	INSTALL_MOD_PATH="$target_dir" DEPMOD=true \
	PWD="$kmod_dir/kmod" M="$kmod_dir/kmod" modules
make -C "$linux_dir" ARCH="$kernel_arch" CROSS_COMPILE="$cross" \
	INSTALL_MOD_PATH="$target_dir" DEPMOD=true \
	PWD="$kmod_dir/kmod" M="$kmod_dir/kmod" modules_install
echo "target: $target_dir"
