#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the smoke-test VM built by vm-smoke.sh: load, test, unload (also
# with live peers and under load), then judge the kernel log.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "=== uname: $(uname -r)"
ok=1
fail() { echo "=== FAILED: $*"; ok=0; }
wait_holding() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		grep -q holding "$1" && return 0
		sleep 1
	done
	return 1
}

insmod /ipcon.ko max_payload=1024 || fail insmod
/ipcon-smoke || fail smoke

# Same names in two network namespaces; unload with live peers in both.
/ipcon-smoke hold > /tmp/hold1.out 2>&1 &
h1=$!
unshare -n /ipcon-smoke hold > /tmp/hold2.out 2>&1 &
h2=$!
wait_holding /tmp/hold1.out || fail "holder in init netns: $(cat /tmp/hold1.out)"
wait_holding /tmp/hold2.out || fail "holder in new netns: $(cat /tmp/hold2.out)"
echo "=== same peer names held in two namespaces"
# A third namespace sees none of them (the smoke test counts peers and groups).
if unshare -n /ipcon-smoke > /tmp/ns-smoke.out 2>&1; then
	echo "=== smoke in a fresh namespace beside live peers: $(tail -1 /tmp/ns-smoke.out)"
else
	fail "smoke in a fresh namespace"
	cat /tmp/ns-smoke.out
fi
if rmmod ipcon; then
	echo "=== rmmod with live peers in two namespaces: ok"
else
	fail "rmmod with live peers"
fi
kill "$h1" "$h2"
wait "$h1" "$h2" 2>/dev/null

# Leak probe: thousands of peers, each with a control socket, a group with a
# cached message, a membership and a delivery, come and go; a leak of any
# object kind would grow the kmalloc caches by thousands of objects.
kmalloc_objs() { awk '/^kmalloc-/ { n += $2 } END { print n }' /proc/slabinfo; }
insmod /ipcon.ko || fail insmod
/ipcon-smoke churn 500 > /dev/null || fail "churn warm-up"
sleep 1
before=$(kmalloc_objs)
/ipcon-smoke churn 4000 || fail churn
sleep 1
after=$(kmalloc_objs)
echo "=== kmalloc objects before 4000 peers $before, after $after"
[ $((after - before)) -lt 1000 ] || fail "kmalloc objects grew by $((after - before))"

# Concurrency: everything at once.
/ipcon-smoke stress 8 || fail stress
rmmod ipcon || fail "rmmod after stress"

# Then unload in the middle of a stress run.
insmod /ipcon.ko || fail insmod
/ipcon-smoke stress 30 unload > /tmp/stress2.out 2>&1 &
st=$!
sleep 4
# The netlink core holds a module reference for each dump in flight, and the
# stress dumps back to back: rmmod (which never waits) may need a few tries.
tries=0
while [ $tries -lt 100 ]; do
	rmmod ipcon 2>/dev/null && break
	tries=$((tries + 1))
	sleep 0.1
done
echo "=== rmmod under stress after $tries refusals"

if grep -q '^ipcon ' /proc/modules; then
	fail "rmmod under stress"
else
	echo "=== rmmod under stress: ok"
fi
# Workers stop cleanly when their requests fail because the family is gone.
wait "$st" || { fail "stress during unload"; cat /tmp/stress2.out; }
tail -1 /tmp/stress2.out

# Reload after all that and run the smoke test again.
insmod /ipcon.ko max_payload=1024 || fail insmod
# A namespace dies with the module loaded and its peers' process killed.
unshare -n /ipcon-smoke hold > /tmp/hold3.out 2>&1 &
h3=$!
wait_holding /tmp/hold3.out || fail "holder in a dying namespace"
kill "$h3"
wait "$h3" 2>/dev/null
/ipcon-smoke > /tmp/again.out 2>&1 || { fail smoke-again; cat /tmp/again.out; }
tail -1 /tmp/again.out
rmmod ipcon || fail "rmmod idle"

if dmesg | grep -E "WARNING|BUG|Oops|Call Trace|refcount|list_(add|del)|hung|lockdep"; then
	fail "kernel log"
fi
echo "=== RESULT: $([ $ok = 1 ] && echo PASS || echo FAIL)"
poweroff -f
