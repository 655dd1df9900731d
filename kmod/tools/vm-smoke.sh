#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build ipcon.ko and the static smoke client, boot them in QEMU (TCG, no KVM
# needed) with a busybox initramfs and judge the run.  Exit 0 on PASS.
#
#   kmod/tools/vm-smoke.sh [KERNEL_IMAGE [KERNEL_SRC]]
#
# Defaults: the newest /boot/vmlinuz-* and its /usr/src/linux-headers-*.
# WORK (default /tmp/ipcon-vm-smoke) holds the initramfs and the console log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
kmod=$(dirname "$here")
kernel=${1:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)}
release=${kernel##*/vmlinuz-}
ksrc=${2:-/usr/src/linux-headers-$release}
work=${WORK:-/tmp/ipcon-vm-smoke}
busybox=${BUSYBOX:-$(command -v busybox)}

make -C "$kmod" KERNEL_SRC="$ksrc" W=1 -j2 modules smoke

root=$work/root
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
cp "$here/vm-init.sh" "$root/init"
chmod +x "$root/init"
cp "$kmod/ipcon.ko" "$kmod/tools/ipcon-smoke" "$root/"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/initrd.gz")

timeout 600 qemu-system-x86_64 -accel tcg -m 512 -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 oops=panic quiet" > "$work/console.log" 2>&1 || true

grep -a -E '^(PASS|FAIL|SMOKE|STRESS|===|stress:)' "$work/console.log" || true
grep -a -q '=== RESULT: PASS' "$work/console.log"
