#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Prepares a Debian ARM kernel build tree on an amd64 host, without ARM
# tools and without touching the host's dpkg architecture list, so that the
# packaging checks can build kmod/ the way module.bbclass and Buildroot's
# kernel-module infrastructure do (ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-,
# or ARCH=arm CROSS_COMPILE=arm-linux-gnueabihf-).
#
#   debian-kernel-headers.sh arm64|armhf CACHE_DIR
#
# Prints the kernel build directory (for KERNEL_SRC= / make -C) on stdout; all
# progress goes to stderr. Downloads are cached in CACHE_DIR and reused.
#
# How: a private apt configuration (its own lists, cache and sources, with
# Architectures <arch> + amd64) resolves the linux-headers meta-package of the
# architecture's flavour (arm64, armmp) to its versioned package, downloads
# linux-headers-<abi>-<flavour> and linux-headers-<abi>-common, and the amd64
# linux-kbuild-<series> of the same source version (its host tools run here).
# dpkg-deb -x unpacks them side by side; the flavour headers' Makefile names
# the common tree by absolute path, which is rewritten to the unpacked one.
set -eu

usage="usage: debian-kernel-headers.sh arm64|armhf CACHE_DIR"
arch=${1:?$usage}
cache=${2:?$usage}
case $arch in
arm64) flavour=arm64 ;;
armhf) flavour=armmp ;;
*)
	echo "$usage" >&2
	exit 2
	;;
esac
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

log() { printf '%s\n' "$*" >&2; }

apt_root="$cache/apt-$arch"
mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" \
	"$apt_root/sources.list.d" "$apt_root/debs"

# The host's own Debian suite (bookworm for the 6.1 kernels used here).
# shellcheck source=/dev/null
suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:?}")
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_root/sources.list" <<EOF
deb [arch=$arch,amd64 signed-by=$keyring] http://deb.debian.org/debian $suite main
deb [arch=$arch,amd64 signed-by=$keyring] http://deb.debian.org/debian $suite-updates main
deb [arch=$arch,amd64 signed-by=$keyring] http://deb.debian.org/debian-security $suite-security main
EOF

# Every path apt would otherwise share with the host is redirected here.
private_apt() {
	"$@" \
		-o Dir::State::Lists="$apt_root/lists" \
		-o Dir::Cache="$apt_root/cache" \
		-o Dir::Etc::sourcelist="$apt_root/sources.list" \
		-o Dir::Etc::sourceparts="$apt_root/sources.list.d" \
		-o APT::Sandbox::User=root \
		-o APT::Architecture=amd64 \
		-o APT::Architectures::="$arch" \
		-o APT::Architectures::=amd64
}

# Refresh the private lists at most once a day: a fresh clone fetches them,
# later runs stay offline-fast.
stamp="$apt_root/lists/.updated"
if [ -z "$(find "$stamp" -mtime -1 2>/dev/null)" ]; then
	log "kernel headers: apt-get update (private lists, $arch + amd64)"
	# A mirror being synced fails an index download now and then: retry,
	# then go on with the indexes that did arrive (the versions are picked
	# from what is listed, so they stay consistent) and retry next run.
	tries=0
	until private_apt apt-get -q update >&2; do
		tries=$((tries + 1))
		if [ "$tries" -ge 3 ]; then
			log "kernel headers: warning: apt-get update incomplete; using the indexes it got"
			break
		fi
		sleep 5
	done
	if [ "$tries" -lt 3 ]; then touch "$stamp"; fi
fi

# linux-headers-<flavour> (meta) -> linux-headers-<abi>-<flavour> (versioned).
headers_pkg=$(private_apt apt-cache depends "linux-headers-$flavour:$arch" |
	sed -n "s/^ *Depends: \(linux-headers-[0-9][^ :]*-$flavour\).*/\1/p" | head -n 1)
if [ -z "$headers_pkg" ]; then
	log "kernel headers: cannot resolve linux-headers-$flavour:$arch"
	exit 1
fi
abi=${headers_pkg#linux-headers-}
abi=${abi%-"$flavour"}
version=$(private_apt apt-cache show "$headers_pkg:$arch" |
	sed -n 's/^Version: //p' | head -n 1)
series=$(printf '%s' "$abi" | cut -d. -f1,2)
log "kernel headers: $headers_pkg $version (kbuild linux-kbuild-$series)"

tree="$cache/tree-$abi-$flavour-$version"
build_dir="$tree/usr/src/linux-headers-$abi-$flavour"
if [ ! -f "$tree/.complete" ]; then
	rm -rf "$tree"
	(
		cd "$apt_root/debs"
		for pkg in "$headers_pkg:$arch=$version" \
			"linux-headers-$abi-common=$version" \
			"linux-kbuild-$series:amd64=$version"; do
			name=${pkg%%=*}
			name=${name%%:*}
			if ! ls "${name}_"*.deb >/dev/null 2>&1; then
				log "kernel headers: apt-get download $pkg"
				private_apt apt-get -q download "$pkg" >&2
			fi
		done
	)
	mkdir -p "$tree"
	for deb in "$apt_root/debs/$headers_pkg"_*.deb \
		"$apt_root/debs/linux-headers-$abi-common"_*.deb \
		"$apt_root/debs/linux-kbuild-$series"_*.deb; do
		dpkg-deb -x "$deb" "$tree"
	done
	# The flavour tree includes the common tree's Makefile by its installed
	# path (/usr/src/linux-headers-<abi>-common); point it at our copy. Its
	# scripts/ and tools/ are symlinks into /usr/lib/linux-kbuild-<series>,
	# which are made relative the same way.
	sed -i "s|/usr/src/linux-headers-$abi-common|$tree/usr/src/linux-headers-$abi-common|g" \
		"$build_dir/Makefile"
	for link in "$build_dir"/scripts "$build_dir"/tools \
		"$tree/usr/src/linux-headers-$abi-common"/scripts \
		"$tree/usr/src/linux-headers-$abi-common"/tools; do
		if [ -L "$link" ]; then
			target=$(readlink "$link")
			case $target in
			/*) ln -sfn "$tree$target" "$link" ;;
			esac
		fi
	done
	touch "$tree/.complete"
fi
printf '%s\n' "$build_dir"
