/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * perf-role.h: what the C programs that play a baseline's roles in
 * ipcon-perf's measurements (ubus/ubus-perf.c, dbus/dbus-perf.c) share:
 * the role arguments, the handshake on stdin/stdout (READY, GO, WARM
 * and a second GO after a one-way stream's warm-up, DONE key=value ...,
 * ERROR text, then stdin closed), the clocks, the broker's CPU time and
 * the round-trip report. Included once by each program, after it defines
 *
 *   PERF_IMPL        the implementation's name in ERROR lines ("ubus");
 *   PERF_BROKER_PID  the environment variable with the broker's pid.
 */
#ifndef IPCON_PERF_ROLE_H
#define IPCON_PERF_ROLE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What ipcon-perf passes to every process (its RoleArgs). */
static struct {
	const char *role;
	const char *tag;
	unsigned long size, count, warmup, index, subscribers, burst;
} args;

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("ERROR " PERF_IMPL " %s: ", args.role ? args.role : "?");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* CPU time of process @pid (utime + stime) from /proc, 0 if unknown. */
static uint64_t proc_cpu_ns(const char *pid)
{
	unsigned long long utime, stime;
	char path[64], text[1024], *after;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	/* Fields after the command name (which may hold spaces). */
	after = strrchr(text, ')');
	if (!after || sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			     &utime, &stime) != 2)
		return 0;
	return (utime + stime) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* This process's CPU time plus the broker's. */
static uint64_t cpu_with_broker_ns(void)
{
	const char *broker = getenv(PERF_BROKER_PID);

	return clock_ns(CLOCK_PROCESS_CPUTIME_ID) + (broker ? proc_cpu_ns(broker) : 0);
}

static void say(const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}

static void await_go(void)
{
	char line[16];

	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "GO\n"))
		fail("expected GO from the orchestrator");
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The client's DONE line: the median and p99 of @trips (args.count, sorted here). */
static void report_trips(uint64_t *trips)
{
	unsigned long i = args.count / 2, rank = (99 * args.count + 99) / 100;
	double median;
	char done[128];

	qsort(trips, args.count, sizeof(*trips), compare_u64);
	median = args.count % 2 ? (double)trips[i] : (trips[i - 1] + trips[i]) / 2.0;
	snprintf(done, sizeof(done), "DONE trips=%lu median_ns=%.0f p99_ns=%llu", args.count,
		 median, (unsigned long long)trips[(rank ? rank : 1) - 1]);
	say(done);
}

/* What a one-way receiver counted. */
static struct {
	uint64_t received, missed, last_ns;
	uint32_t expected;
} tally;

/*
 * Counts message @seq: sequence numbers only grow, a gap is messages the
 * broker dropped without telling anyone.
 */
static void tally_message(uint32_t seq)
{
	if (seq < tally.expected)
		fail("message %u after %u: out of order or twice", seq, tally.expected - 1);
	tally.missed += seq - tally.expected;
	tally.expected = seq + 1;
	tally.received++;
	tally.last_ns = now_ns();
}

/* The end of the stream: the tail the broker dropped, if any, is missed. */
static void tally_end(void)
{
	tally.missed += args.count - tally.expected;
}

/* A fresh account for the timed stream, numbered from 0 after the warm-up. */
static void tally_reset(void)
{
	memset(&tally, 0, sizeof(tally));
}

/* The receiver's DONE line, with its @waits (voluntary context switches). */
static void report_tally(long waits)
{
	char done[160];

	snprintf(done, sizeof(done), "DONE received=%llu missed=%llu last_ns=%llu waits=%ld",
		 (unsigned long long)tally.received, (unsigned long long)tally.missed,
		 (unsigned long long)tally.last_ns, waits);
	say(done);
}

/* The sender's DONE line: started at @start_ns, spent @cpu_ns (with the broker). */
static void report_sent(uint64_t start_ns, uint64_t cpu_ns)
{
	char done[192];

	snprintf(done, sizeof(done),
		 "DONE sent=%lu retries=0 start_ns=%llu end_ns=%llu cpu_ns=%llu", args.count,
		 (unsigned long long)start_ns, (unsigned long long)now_ns(),
		 (unsigned long long)cpu_ns);
	say(done);
}

static const char *arg(int argc, char **argv, const char *flag)
{
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], flag))
			return argv[i + 1];
	fail("no %s", flag);
	return NULL;
}

static unsigned long number(int argc, char **argv, const char *flag)
{
	return strtoul(arg(argc, argv, flag), NULL, 10);
}

/* Reads the role arguments into args. */
static void parse_args(int argc, char **argv)
{
	args.role = arg(argc, argv, "--role");
	args.tag = arg(argc, argv, "--tag");
	args.size = number(argc, argv, "--size");
	args.count = number(argc, argv, "--count");
	args.warmup = number(argc, argv, "--warmup");
	args.index = number(argc, argv, "--index");
	args.subscribers = number(argc, argv, "--subscribers");
	args.burst = number(argc, argv, "--burst");
	if (!args.size || !args.burst)
		fail("size and burst must not be 0");
}

/* The roles, which each program defines. */
static void run_server(void);
static void run_client(void);
static void run_receiver(void);
static void run_sender(void);

/*
 * After DONE: waits until the orchestrator closes stdin, which it does once
 * every process of the measurement has reported, so that none spends the
 * CPU on its exit while the others are still timed.
 */
static void await_close(void)
{
	while (fgetc(stdin) != EOF)
		;
}

/* Plays the role args.role, then waits to be let go. */
static void play_role(void)
{
	if (!strcmp(args.role, "server"))
		run_server();
	else if (!strcmp(args.role, "client"))
		run_client();
	else if (!strcmp(args.role, "receiver") || !strcmp(args.role, "subscriber"))
		run_receiver();
	else if (!strcmp(args.role, "sender") || !strcmp(args.role, "publisher"))
		run_sender();
	else
		fail("no role %s", args.role);
	await_close();
}

#endif
