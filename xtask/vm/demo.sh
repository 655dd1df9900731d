#!/bin/sh
# The tutorial's scenario, live inside the VM (cargo xtask demo). Each
# program's output is prefixed with its role so the interleaving reads well,
# and how each program ended is said in its own prefixed line. The init
# script has loaded the module and unloads it after this script.

section() {
	echo
	echo "======== $* ========"
}

# What an exit status means, for the line a program's end gets.
ending() {
	case $1 in
	137) echo "killed by SIGKILL" ;;
	143) echo "stopped by SIGTERM" ;;
	"") echo "ended, status unknown" ;;
	*) echo "exited with status $1" ;;
	esac
}

# Runs "$@" in the background with its output prefixed by the role in $1;
# the program's pid is written to /tmp/<role>.pid. The shells' own stderr
# goes nowhere, so a killed program leaves no bare "Killed" line: its end
# is reported by ending() instead.
spawn() {
	role=$1
	shift
	(
		sh -c '"$@" 2>&1 & echo $! >"/tmp/$0.pid"; wait $!; echo $? >"/tmp/$0.status"' \
			"$role" "$@" 2>/dev/null |
			while IFS= read -r line; do
				echo "  [$role] $line"
			done
		echo "  [$role] (program $(ending "$(cat "/tmp/$role.status" 2>/dev/null)"))"
	) 2>/dev/null &
	sleep 1
}

stop() {
	[ -f "/tmp/$1.pid" ] && kill "$2" "$(cat "/tmp/$1.pid")" 2>/dev/null
}

for program in ipcon ipcon-monitor ipcon-server ipcon-subscriber ipcon-sender ipcon-cmd quickstart; do
	if ! command -v "$program" >/dev/null; then
		echo "demo: $program is missing from the VM image" >&2
		exit 1
	fi
done

echo
echo "ipcon demo: the kernel module is loaded in this VM (the 'taints kernel'"
echo "lines above are what any out-of-tree module prints). Every program below"
echo "is a static binary from samples/; lines are prefixed with its role."

section "the ipcon module: loaded, with these limits (module parameters)"
for parameter in /sys/module/ipcon/parameters/*; do
	echo "  ${parameter##*/} = $(cat "$parameter")"
done

section "ipcon-monitor --explain: the kernel's events, in plain words"
spawn monitor ipcon-monitor --explain

section "the README's quick start (samples/examples/quickstart.rs)"
spawn quickstart quickstart
sleep 1

section "ipcon-server registers peer ipcon_server and its group str_msg"
spawn server ipcon-server --name ipcon_server --group str_msg

section "two subscribers join ipcon_server/str_msg"
spawn subscriber-1 ipcon-subscriber --server ipcon_server --group str_msg
spawn subscriber-2 ipcon-subscriber --server ipcon_server --group str_msg --no-replay

section "ipcon-sender sends to ipcon_server, which forwards to the group"
spawn sender ipcon-sender --to ipcon_server --interval-ms 700 --count 3 "hello from ipcon-sender"
sleep 3

section "one-shot: ipcon-cmd ipcon_server 'hi from ipcon-cmd'"
ipcon-cmd ipcon_server "hi from ipcon-cmd"
echo "  ipcon-cmd exit status: $?"
sleep 1

section "a late subscriber gets the group's last message replayed"
spawn subscriber-3 ipcon-subscriber --server ipcon_server --group str_msg --count 1
sleep 1

section "ipcon peers: who is registered (anonymous peers have no name)"
ipcon peers
section "ipcon groups"
ipcon groups
section "ipcon groups --json (one JSON object per line, for scripts)"
ipcon groups --json

section "a peer that does not exist is an error that names it"
ipcon send nobody "hello?"
echo "  ipcon send exit status: $?"

section "SIGKILL ipcon-server: no goodbye, yet the kernel reports its group and peer gone"
stop server -KILL
sleep 2
section "ipcon peers (after the kill)"
ipcon peers

section "stopping the remaining programs (SIGTERM: they unregister and exit)"
for role in sender subscriber-1 subscriber-2 subscriber-3 monitor; do
	stop "$role" -TERM
done
sleep 1

section "demo done"
echo "Next: docs/tutorial.md walks through these programs step by step;"
echo "'cargo xtask vm --run \"ipcon --help\"' runs any command in this VM."
echo "init now unloads the module."
