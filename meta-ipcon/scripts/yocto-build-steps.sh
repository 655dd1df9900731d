#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Replays the build steps of meta-ipcon's recipes without bitbake, for
# aarch64 with Debian's cross tools, so that CI (which has no Yocto) builds
# exactly what the recipes build, the way the oe-core classes build it:
#
#   ipcon_git.bb       (cargo.bbclass)   vendored crates, CARGO_HOME config,
#                      cargo build -v --frozen --target T --release
#                      --manifest-path=S/Cargo.toml + the recipe's --package
#                      list, then the recipe's do_install into D
#   ipcon-kmod_git.bb  (module.bbclass)  make in S=kmod/ with KERNEL_SRC,
#                      KERNEL_PATH, KERNEL_VERSION, CC/LD/AR, O=, then
#                      modules_install with MODLIB into D
#
#   yocto-build-steps.sh WORK_DIR
#
# Variables are read from the recipes themselves, so the two cannot drift.
# The Rust target is aarch64-unknown-linux-musl (Yocto would use its own
# aarch64-poky-linux target; the flags and layout are the same). The module
# is built against Debian's arm64 kernel headers (see
# debian-kernel-headers.sh), standing in for STAGING_KERNEL_DIR.
set -eu

work=${1:?usage: yocto-build-steps.sh WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)

recipe="$root/meta-ipcon/recipes-ipcon/ipcon/ipcon_git.bb"
recipe_value() {
	sed -n "s/^$1 = \"\\(.*\\)\"\$/\\1/p" "$recipe" | head -n 1
}
packages=$(recipe_value IPCON_CARGO_PACKAGES)
tools=$(recipe_value IPCON_TOOLS)
samples=$(recipe_value IPCON_SAMPLES)
if [ -z "$packages" ] || [ -z "$tools" ] || [ -z "$samples" ]; then
	echo "cannot read IPCON_* variables from $recipe" >&2
	exit 1
fi

# The cargo class sets these itself; a caller's must not leak in.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTFLAGS CARGO_BUILD_RUSTFLAGS

rust_target=aarch64-unknown-linux-musl
cross=aarch64-linux-gnu-

# do_fetch/do_unpack: the sources as they are in git (tracked and new files,
# not ignored ones), unpacked to S = ${WORKDIR}/${BP}.
S="$work/ipcon-0.1.0+git"
rm -rf "$S"
mkdir -p "$S"
(
	cd "$root"
	git ls-files --cached --others --exclude-standard | while IFS= read -r f; do
		if [ -e "$f" ]; then printf '%s\n' "$f"; fi
	done | tar -cf - -T -
) | tar -xf - -C "$S"

# The crate fetcher: every crate of ipcon-crates.inc unpacked into one
# directory (cargo vendor gives the same layout, with checksums); cached by
# the hash of Cargo.lock.
vendor="$work/cargo_home/bitbake"
lock_sum=$(sha256sum "$S/Cargo.lock" | cut -d' ' -f1)
if [ "$(cat "$vendor/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
	rm -rf "$vendor"
	cargo vendor --quiet --locked --manifest-path "$S/Cargo.toml" "$vendor" >/dev/null
	echo "$lock_sum" >"$vendor/.lock-sha256"
fi

# cargo_common_do_configure: CARGO_HOME/config.toml replaces crates.io by
# the unpacked crates and names the target linker.
export CARGO_HOME="$work/cargo_home"
cat >"$CARGO_HOME/config.toml" <<CONFIG
[source.bitbake]
directory = "$vendor"

[source.crates-io]
replace-with = "bitbake"
local-registry = "/nonexistent"

[target.$rust_target]
linker = "${cross}gcc"
CONFIG

# do_compile: oe_cargo_build with the recipe's CARGO_BUILD_FLAGS, run in
# B (outside S: the source tree's .cargo/config.toml is not read).
B="$work/build"
mkdir -p "$B"
cd "$B"
export CARGO_TARGET_DIR="$B/target"
export CARGO_PROFILE_RELEASE_STRIP=false # exported by the recipe
package_flags=
for p in $packages; do
	package_flags="$package_flags --package $p"
done
# shellcheck disable=SC2086 # the flags are words on purpose
cargo build -v --frozen --target "$rust_target" --release \
	--manifest-path="$S/Cargo.toml" $package_flags

# do_install, as the recipe writes it.
D="$work/image"
rm -rf "$D"
install -d "$D/usr/bin"
for bin in $tools $samples; do
	install -m 0755 "$B/target/$rust_target/release/$bin" "$D/usr/bin/$bin"
done
install -d "$D/usr/include/ipcon"
install -m 0644 "$S/kmod/uapi/ipcon.h" "$D/usr/include/ipcon/ipcon.h"

# ipcon-kmod: module-base exports ARCH and CROSS_COMPILE; module.bbclass
# runs make in B (= S = <source>/kmod).
ksrc=$("$here/debian-kernel-headers.sh" arm64 "$root/target/packaging/kernel-headers")
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$ksrc/include/generated/utsrelease.h")
export ARCH=arm64 CROSS_COMPILE="$cross"
unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS
kS="$S/kmod"
make -C "$kS" -j2 KERNEL_SRC="$ksrc" \
	KERNEL_PATH="$ksrc" KERNEL_VERSION="$kver" \
	CC="${cross}gcc" LD="${cross}ld" AR="${cross}ar" OBJCOPY="${cross}objcopy" \
	STRIP="${cross}strip" O="$ksrc" KBUILD_EXTRA_SYMBOLS=
make -C "$kS" KERNEL_SRC="$ksrc" DEPMOD=echo \
	MODLIB="$D/lib/modules/$kver" INSTALL_FW_PATH="$D/lib/firmware" \
	CC="${cross}gcc" LD="${cross}ld" OBJCOPY="${cross}objcopy" \
	STRIP="${cross}strip" O="$ksrc" KBUILD_EXTRA_SYMBOLS= \
	modules_install
[ -e "$kS/Module.symvers" ] || echo "warning: no Module.symvers in kmod/" >&2
echo "kernel release: $kver"
echo "image: $D"
