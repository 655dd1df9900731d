#!/bin/sh
# PID 1 of the xtask VM. Loads the module, runs the command, unloads the
# module and powers off. The host judges the run by the markers printed here
# (tagged with a per-run nonce) and by the kernel's messages on the console;
# the "end" marker is printed last, so a run without it crashed or hung.
# shellcheck disable=SC1091  # the config is written by the host at pack time

/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/root
mkdir -p /proc /sys /dev /tmp /run /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
. /xtask/config

mark() {
	echo "@@xtask $XTASK_NONCE $*"
}

# Every kernel message reaches the console (WARN is KERN_WARNING, below the
# boot-time level); hangs must panic quickly enough for the host to see why.
dmesg -n 8
echo "$XTASK_HUNG_TASK_SECS" >/proc/sys/kernel/hung_task_timeout_secs
echo 1 >/proc/sys/kernel/hung_task_panic
hostname ipcon-vm
ip link set lo up
mark boot

status=ok
if [ -n "$XTASK_MODULE" ]; then
	echo "xtask-vm: insmod $XTASK_MODULE $XTASK_MODULE_PARAMS"
	# shellcheck disable=SC2086  # parameters are separate words
	if output=$(insmod "$XTASK_MODULE" $XTASK_MODULE_PARAMS 2>&1); then
		echo "xtask-vm: module $XTASK_MODULE_NAME loaded"
		mark insmod ok
	else
		rc=$?
		echo "$output"
		mark insmod failed "(exit $rc): $(printf %s "$output" | tr "\n" " ")"
		status=fail
	fi
fi

if [ "$status" = ok ]; then
	cd /tmp || exit 1
	sh /xtask/command
	rc=$?
	cd / || exit 1
	mark command-exit "$rc"
	[ "$rc" -eq 0 ] || status=fail
fi

if [ -n "$XTASK_MODULE" ] && grep -q "^$XTASK_MODULE_NAME " /proc/modules; then
	echo "xtask-vm: rmmod $XTASK_MODULE_NAME"
	if output=$(rmmod "$XTASK_MODULE_NAME" 2>&1); then
		echo "xtask-vm: module $XTASK_MODULE_NAME unloaded"
		mark rmmod ok
	else
		rc=$?
		echo "$output"
		mark rmmod failed "(exit $rc): $(printf %s "$output" | tr "\n" " ")"
		status=fail
	fi
fi

sync
mark end "$status"
reboot -f
