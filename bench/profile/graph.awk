# Folds a function_graph trace (options funcgraph-abstime, funcgraph-proc
# and funcgraph-tail on, funcgraph-irqs off, the sched_switch event on)
# into CPU time per call path.
#
# Every traced task has its own stack: a function's CPU time is its
# duration minus the time the task spent switched out while it ran (from
# the sched_switch events, which are traced at any call depth), so a
# sendmsg that wakes the receiver and is preempted is not charged with the
# receiver's work.  Paths are kept to depth SHOW (graph roots are depth 0).
#
# Output, one line per path:  PROFILE <calls> <cpu-us> <root>;<child>;...
# and one line per task whose trace began inside a function (its events
# before the buffer's start were lost): PROFILE-PARTIAL <count>.

# Ends the function `name` at `depth` of task `pid` after `dur` us.
function leave(pid, depth, name, dur, leaf,    cpu, below, path) {
	# A leaf's line is its only one: time away since the task's last
	# line was spent inside it.
	if (!leaf)
		below = sleep[pid, depth]
	else if (fresh[pid] <= dur)
		below = fresh[pid]
	else
		below = 0
	cpu = dur - below
	if (cpu < 0)
		cpu = 0
	if (leaf)
		path = (depth == 0) ? name : (path_of[pid, depth - 1] ";" name)
	else if (open[pid, depth] == name)
		path = path_of[pid, depth]
	else {
		partial++
		path = ""
	}
	if (path != "" && (depth == 0 || open[pid, depth - 1] != "") && depth <= SHOW) {
		calls[path]++
		time[path] += cpu
	}
	if (!leaf && depth > 0)
		sleep[pid, depth - 1] += below
	if (!leaf) {
		open[pid, depth] = ""
		sleep[pid, depth] = 0
	}
	top[pid] = depth - 1
}

# A sched_switch event at time `ts` (seconds): the previous task leaves
# the CPU, the next one comes back, and the time it was away counts
# against the functions it has open.
function switched(text, ts,    prev, back, away) {
	prev = text
	sub(/.*prev_pid=/, "", prev)
	sub(/ .*/, "", prev)
	back = text
	sub(/.*next_pid=/, "", back)
	sub(/ .*/, "", back)
	left_at[prev] = ts
	fresh[prev] = 0
	if (back in left_at) {
		away = (ts - left_at[back]) * 1000000
		delete left_at[back]
		fresh[back] = away
		if ((back in top) && top[back] >= 0)
			sleep[back, top[back]] += away
	}
}

BEGIN {
	FS = "|"
	if (SHOW == "")
		SHOW = 4
}

NF >= 4 {
	ts = $1
	gsub(/[^0-9.]/, "", ts)
	code = $4
	if (code ~ /sched_switch:/) {
		switched(code, ts + 0)
		next
	}
	task = $2
	sub(/^ *[0-9]+\) */, "", task)
	sub(/ *$/, "", task)
	pid = task
	sub(/.*-/, "", pid)
	dur = $3
	gsub(/[^0-9.]/, "", dur)
	sub(/^ /, "", code)
	at = match(code, /[^ ]/)
	if (!at)
		next
	depth = int((at - 1) / 2)
	text = substr(code, at)
	if (text ~ /\) \{$/) {
		fresh[pid] = 0
		name = text
		sub(/\(\) \{$/, "", name)
		sub(/ \[[a-z0-9_]*\]$/, "", name)
		open[pid, depth] = name
		sleep[pid, depth] = 0
		top[pid] = depth
		path_of[pid, depth] = (depth == 0) ? name : (path_of[pid, depth - 1] ";" name)
		if (depth > 0 && open[pid, depth - 1] == "")
			path_of[pid, depth] = ""
	} else if (text ~ /^\} \/\* /) {
		name = text
		sub(/^\} \/\* /, "", name)
		sub(/ \*\/.*$/, "", name)
		sub(/ \[[a-z0-9_]*\]$/, "", name)
		if (dur != "")
			leave(pid, depth, name, dur + 0, 0)
		fresh[pid] = 0
	} else if (text ~ /\);$/) {
		name = text
		sub(/\(\);$/, "", name)
		sub(/ \[[a-z0-9_]*\]$/, "", name)
		if (dur != "") {
			leave(pid, depth, name, dur + 0, 1)
			top[pid] = depth - 1
		}
		fresh[pid] = 0
	}
}

END {
	for (path in calls)
		printf "PROFILE %d %.1f %s\n", calls[path], time[path], path
	printf "PROFILE-PARTIAL %d\n", partial
}
