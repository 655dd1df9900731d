# Folds a function_graph trace (options funcgraph-proc and funcgraph-tail
# on, funcgraph-irqs off) into CPU time per call path.
#
# Every traced task has its own stack: a function's CPU time is its
# duration minus the time it spent switched out (in schedule() and the
# functions that call it to give the CPU away) anywhere below it, so a
# sendmsg that wakes the receiver and is preempted is not charged with the
# receiver's work.  Paths are kept to depth SHOW (graph roots are depth 0).
#
# Output, one line per path:  PROFILE <calls> <cpu-us> <root>;<child>;...
# and one line per task whose trace began inside a function (its events
# before the buffer's start were lost): PROFILE-PARTIAL <count>.

function sleeper(name) {
	return name ~ /^(schedule|__schedule|schedule_timeout|schedule_preempt_disabled|preempt_schedule|preempt_schedule_common|preempt_schedule_irq|__cond_resched|_cond_resched)$/
}

# Ends the function `name` at `depth` of task `pid` after `dur` us.
function leave(pid, depth, name, dur, leaf,    cpu, below, path) {
	below = leaf ? 0 : sleep[pid, depth]
	if (sleeper(name)) {
		cpu = 0
		below = dur
	} else {
		cpu = dur - below
		if (cpu < 0)
			cpu = 0
	}
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
	if (depth > 0)
		sleep[pid, depth - 1] += below
	open[pid, depth] = ""
	sleep[pid, depth] = 0
}

BEGIN {
	FS = "|"
	if (SHOW == "")
		SHOW = 4
}

NF >= 3 {
	task = $1
	sub(/^ *[0-9]+\) */, "", task)
	sub(/ *$/, "", task)
	pid = task
	sub(/.*-/, "", pid)
	dur = $2
	gsub(/[^0-9.]/, "", dur)
	code = $3
	sub(/^ /, "", code)
	at = match(code, /[^ ]/)
	if (!at)
		next
	depth = int((at - 1) / 2)
	text = substr(code, at)
	if (text ~ /\) \{$/) {
		name = text
		sub(/\(\) \{$/, "", name)
		sub(/ \[[a-z0-9_]*\]$/, "", name)
		open[pid, depth] = name
		sleep[pid, depth] = 0
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
	} else if (text ~ /\);$/) {
		name = text
		sub(/\(\);$/, "", name)
		sub(/ \[[a-z0-9_]*\]$/, "", name)
		if (dur != "")
			leave(pid, depth, name, dur + 0, 1)
	}
}

END {
	for (path in calls)
		printf "PROFILE %d %.1f %s\n", calls[path], time[path], path
	printf "PROFILE-PARTIAL %d\n", partial
}
