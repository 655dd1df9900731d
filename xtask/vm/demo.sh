#!/bin/sh
# The tutorial's scenario, live inside the VM (cargo xtask demo). Each
# program's output is prefixed with its role so the interleaving reads well.
# The init script has loaded the module and unloads it after this script.

section() {
	echo
	echo "======== $* ========"
}

# Runs "$@" in the background with its output prefixed by the role in $1;
# the program's own pid is written to /tmp/<role>.pid.
spawn() {
	role=$1
	shift
	(
		sh -c 'echo $$ >"/tmp/$0.pid"; exec "$@" 2>&1' "$role" "$@" |
			while IFS= read -r line; do
				echo "  [$role] $line"
			done
	) &
	sleep 1
}

stop() {
	[ -f "/tmp/$1.pid" ] && kill "$2" "$(cat "/tmp/$1.pid")" 2>/dev/null
}

for program in ipcon ipcon-monitor ipcon-server ipcon-subscriber ipcon-sender ipcon-cmd \
	ipcon_user ipcon_sender; do
	if ! command -v "$program" >/dev/null; then
		echo "demo: $program is missing from the VM image" >&2
		exit 1
	fi
done

section "the ipcon module is loaded"
grep '^ipcon ' /proc/modules
for parameter in /sys/module/ipcon/parameters/*; do
	echo "  ${parameter##*/} = $(cat "$parameter")"
done

section "ipcon-monitor prints kernel events"
spawn monitor ipcon-monitor

section "ipcon-server registers peer ipcon_server and group str_msg"
spawn server ipcon-server --name ipcon_server --group str_msg

section "two subscribers join ipcon_server/str_msg"
spawn subscriber-1 ipcon-subscriber --server ipcon_server --group str_msg
spawn subscriber-2 ipcon-subscriber --server ipcon_server --group str_msg --no-replay

section "a C subscriber (samples/c/ipcon_user.c, libipcon) joins too"
spawn c-user ipcon_user -s ipcon_server -g str_msg

section "ipcon-sender sends to ipcon_server, which forwards to the group"
spawn sender ipcon-sender --to ipcon_server --interval-ms 700 --count 3 "hello from ipcon-sender"
sleep 3

section "one-shot: ipcon-cmd ipcon_server 'hi from ipcon-cmd'"
ipcon-cmd ipcon_server "hi from ipcon-cmd"
echo "  ipcon-cmd exit status: $?"
sleep 1

section "the C sender (samples/c/ipcon_sender.c): libipcon to the Rust server"
ipcon_sender -t ipcon_server -n 1 "hello from C"
echo "  ipcon_sender exit status: $?"
sleep 1

section "a late subscriber gets the last message replayed"
spawn subscriber-3 ipcon-subscriber --server ipcon_server --group str_msg --count 1
sleep 1

section "ipcon peers"
ipcon peers
section "ipcon groups"
ipcon groups

section "SIGKILL ipcon-server: the kernel reports its group and peer gone"
stop server -KILL
sleep 2
section "ipcon peers (after the kill)"
ipcon peers

section "stopping the remaining programs"
for role in sender subscriber-1 subscriber-2 subscriber-3 c-user monitor; do
	stop "$role" -TERM
done
sleep 1
section "demo done; init unloads the module next"
