// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * dbus-perf: D-Bus (Debian's dbus-daemon + libdbus-1) in ipcon-perf's
 * measurements.
 *
 * ipcon-perf starts this program instead of itself for the "dbus"
 * implementation, with the same role arguments, and talks the same
 * handshake on stdin/stdout (READY, GO, DONE key=value ..., ERROR text).
 * Every process connects to the one dbus-daemon of the boot (its address in
 * DBUS_PERF_ADDRESS) with dbus_connection_open_private() and
 * dbus_bus_register(), and is used the way D-Bus users use it:
 *
 *  - round trip: the server owns a well-known name and answers the "Echo"
 *    method with a method return carrying the request's arguments; the
 *    client calls dbus_connection_send_with_reply_and_block() per request;
 *  - one-way unicast: the receiver owns a well-known name, the sender sends
 *    it "M" method calls flagged NO_REPLY_EXPECTED (dbus_message_set_no_reply)
 *    with dbus_connection_send() - fire and forget;
 *  - fan-out: the publisher owns a well-known name and emits "M" signals
 *    (no destination: a broadcast); each subscriber adds a match rule for
 *    the publisher's signals (dbus_bus_add_match, which the daemon has
 *    installed before this process says READY);
 *  - the end of a stream is an "End" method call from the sender to every
 *    receiver, waiting for its answer: the daemon forwards one sender's
 *    messages to a receiver in order, so a receiver that answers it has
 *    seen every message the daemon delivered, and the sender learns that
 *    the daemon's backlog is gone.
 *  - a one-way stream starts with an untimed warm-up stream (args.warmup
 *    messages, numbered from 0) closed the same way by a "Warm" call; the
 *    receivers count the timed stream afresh.
 *
 * Every message carries the arguments (uint32 seq, array of bytes of the
 * payload size). Receivers check that sequence numbers only grow and count
 * the gaps: dbus-daemon drops a message to a connection whose outgoing
 * queue exceeds max_outgoing_bytes (an error reply only where a reply was
 * expected), so gaps are loss no one was told of. The limits are those of
 * Debian's session bus (1 GB), so none is expected. The message loop is
 * libdbus's own without a main loop: dbus_connection_read_write() and
 * dbus_connection_pop_message(). The sender flushes and yields the CPU every
 * burst, like every other one-way sender. The publisher's CPU time includes
 * dbus-daemon's (the broker does the fan-out), counted until the End calls
 * are answered: its pid comes in DBUS_PERF_DAEMON_PID.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <dbus/dbus.h>

#define PERF_IMPL "dbus"
#define PERF_BROKER_PID "DBUS_PERF_DAEMON_PID"
#include "../perf-role.h"

#define SUBSCRIBER_RECV_BUFFER (4 << 20)
#define CALL_TIMEOUT_MS 30000
#define NAME_PREFIX "org.ipcon.perf."
#define OBJECT_PATH "/org/ipcon/perf"
#define INTERFACE "org.ipcon.Perf"

static DBusConnection *conn;
static unsigned char *payload;

/* The well-known name "org.ipcon.perf.<tag>_<suffix>[index]". */
static void bus_name(char *out, size_t len, const char *suffix, long index)
{
	if (index >= 0)
		snprintf(out, len, NAME_PREFIX "%s_%s%ld", args.tag, suffix, index);
	else
		snprintf(out, len, NAME_PREFIX "%s_%s", args.tag, suffix);
}

static void own_name(const char *name)
{
	DBusError err;
	int got;

	dbus_error_init(&err);
	got = dbus_bus_request_name(conn, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err);
	if (dbus_error_is_set(&err))
		fail("request the name %s: %s", name, err.message);
	if (got != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		fail("request the name %s: not the owner (%d)", name, got);
}

/* Appends (seq, payload) to @msg. */
static void add_body(DBusMessage *msg, uint32_t seq)
{
	const unsigned char *data = payload;
	int len = (int)args.size;

	if (!dbus_message_append_args(msg, DBUS_TYPE_UINT32, &seq, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE,
				      &data, len, DBUS_TYPE_INVALID))
		fail("out of memory");
}

/* The sequence number of a well-formed message, or a failure. */
static uint32_t message_seq(DBusMessage *msg)
{
	const unsigned char *data;
	DBusError err;
	uint32_t seq;
	int len;

	dbus_error_init(&err);
	if (!dbus_message_get_args(msg, &err, DBUS_TYPE_UINT32, &seq, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE,
				   &data, &len, DBUS_TYPE_INVALID))
		fail("malformed message: %s", err.message);
	if ((unsigned long)len != args.size)
		fail("message %u of %d bytes, not %lu", seq, len, args.size);
	return seq;
}

static void send_or_fail(DBusMessage *msg)
{
	if (!dbus_connection_send(conn, msg, NULL))
		fail("out of memory");
	dbus_message_unref(msg);
}

static void reply_empty(DBusMessage *call)
{
	DBusMessage *reply = dbus_message_new_method_return(call);

	if (!reply)
		fail("out of memory");
	send_or_fail(reply);
	dbus_connection_flush(conn);
}

static int is_call(DBusMessage *msg, const char *member)
{
	return dbus_message_is_method_call(msg, INTERFACE, member);
}

/*
 * libdbus's loop without a main loop: hand every queued message to
 * @handle (which returns non-zero to stop), reading more when none is left.
 */
static void message_loop(int (*handle)(DBusMessage *msg))
{
	for (;;) {
		DBusMessage *msg;

		while ((msg = dbus_connection_pop_message(conn))) {
			int stop = handle(msg);

			dbus_message_unref(msg);
			if (stop)
				return;
		}
		if (!dbus_connection_read_write(conn, -1))
			fail("disconnected from the bus");
	}
}

/* A blocking method call to @destination without arguments. */
static void call_empty(const char *destination, const char *member)
{
	DBusMessage *call = dbus_message_new_method_call(destination, OBJECT_PATH, INTERFACE,
							  member);
	DBusMessage *reply;
	DBusError err;

	if (!call)
		fail("out of memory");
	dbus_error_init(&err);
	reply = dbus_connection_send_with_reply_and_block(conn, call, CALL_TIMEOUT_MS, &err);
	dbus_message_unref(call);
	if (!reply)
		fail("%s on %s: %s", member, destination, err.message);
	dbus_message_unref(reply);
}

/* ---- round trips ---- */

static unsigned long served;

static int serve(DBusMessage *msg)
{
	DBusMessage *reply;

	if (is_call(msg, "Echo")) {
		uint32_t seq = message_seq(msg);

		reply = dbus_message_new_method_return(msg);
		if (!reply)
			fail("out of memory");
		add_body(reply, seq);
		send_or_fail(reply);
		served++;
		return 0;
	}
	if (is_call(msg, "Quit")) {
		reply_empty(msg);
		return 1;
	}
	return 0;
}

static void run_server(void)
{
	char name[128], done[64];

	bus_name(name, sizeof(name), "rx", -1);
	own_name(name);
	say("READY");
	message_loop(serve);
	snprintf(done, sizeof(done), "DONE served=%lu", served);
	say(done);
}

static void run_client(void)
{
	uint64_t *trips = calloc(args.count ? args.count : 1, sizeof(*trips));
	char name[128];
	uint32_t seq;

	if (!trips)
		fail("out of memory");
	bus_name(name, sizeof(name), "rx", -1);
	say("READY");
	await_go();
	for (seq = 0; seq < args.warmup + args.count; seq++) {
		uint64_t start = now_ns();
		DBusMessage *call, *reply;
		DBusError err;

		call = dbus_message_new_method_call(name, OBJECT_PATH, INTERFACE, "Echo");
		if (!call)
			fail("out of memory");
		add_body(call, seq);
		dbus_error_init(&err);
		reply = dbus_connection_send_with_reply_and_block(conn, call, CALL_TIMEOUT_MS, &err);
		dbus_message_unref(call);
		if (!reply)
			fail("echo %u: %s", seq, err.message);
		if (message_seq(reply) != seq)
			fail("echo %u: answered with another sequence number", seq);
		dbus_message_unref(reply);
		if (seq >= args.warmup)
			trips[seq - args.warmup] = now_ns() - start;
	}
	call_empty(name, "Quit");
	report_trips(trips);
	free(trips);
}

/* ---- one-way streams: unicast (one receiver) and fan-out ---- */

static int consume(DBusMessage *msg)
{
	if (is_call(msg, "Warm")) {
		/* The warm-up's end: the timed stream comes next. */
		reply_empty(msg);
		return 1;
	}
	if (is_call(msg, "End")) {
		/* The tail the daemon dropped, if any. */
		tally_end();
		reply_empty(msg);
		return 1;
	}
	if (!is_call(msg, "M") && !dbus_message_is_signal(msg, INTERFACE, "M"))
		return 0;
	tally_message(message_seq(msg));
	return 0;
}

static void run_receiver(void)
{
	struct sched_param batch = { 0 };
	int rcvbuf = SUBSCRIBER_RECV_BUFFER, fd;
	struct rusage before, after;
	char name[128], rule[256];

	/* As ipcon-perf's receivers: woken, they wait for the sender to yield. */
	if (sched_setscheduler(0, SCHED_BATCH, &batch))
		fail("SCHED_BATCH: %s", strerror(errno));
	if (!strcmp(args.role, "subscriber")) {
		DBusError err;

		if (dbus_connection_get_socket(conn, &fd))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
		bus_name(name, sizeof(name), "s", (long)args.index);
		own_name(name);
		bus_name(name, sizeof(name), "pub", -1);
		snprintf(rule, sizeof(rule),
			 "type='signal',sender='%s',path='" OBJECT_PATH "',interface='" INTERFACE
			 "',member='M'",
			 name);
		dbus_error_init(&err);
		dbus_bus_add_match(conn, rule, &err);
		if (dbus_error_is_set(&err))
			fail("add the match %s: %s", rule, err.message);
	} else {
		bus_name(name, sizeof(name), "rx", -1);
		own_name(name);
	}
	say("READY");
	if (args.warmup) {
		message_loop(consume);
		tally_reset();
		say("WARM");
	}
	getrusage(RUSAGE_SELF, &before);
	message_loop(consume);
	getrusage(RUSAGE_SELF, &after);
	report_tally(after.ru_nvcsw - before.ru_nvcsw);
}

/*
 * Sends messages 0..@count - 1 (signals for a fan-out, else method calls to
 * @name), flushing and yielding after every burst.
 */
static void send_stream(int fanout, const char *name, unsigned long count)
{
	uint32_t seq;

	for (seq = 0; seq < count; seq++) {
		DBusMessage *msg;

		if (fanout) {
			msg = dbus_message_new_signal(OBJECT_PATH, INTERFACE, "M");
		} else {
			msg = dbus_message_new_method_call(name, OBJECT_PATH, INTERFACE, "M");
			if (msg)
				dbus_message_set_no_reply(msg, TRUE);
		}
		if (!msg)
			fail("out of memory");
		add_body(msg, seq);
		send_or_fail(msg);
		if ((seq + 1) % args.burst == 0) {
			dbus_connection_flush(conn);
			sched_yield();
		}
	}
	dbus_connection_flush(conn);
}

/* The call @member ("Warm", "End") behind the messages, to every receiver. */
static void mark(int fanout, const char *name, const char *member)
{
	char subscriber[128];
	unsigned long i;

	if (!fanout) {
		call_empty(name, member);
		return;
	}
	for (i = 0; i < args.subscribers; i++) {
		bus_name(subscriber, sizeof(subscriber), "s", (long)i);
		call_empty(subscriber, member);
	}
}

static void run_sender(void)
{
	int fanout = !strcmp(args.role, "publisher");
	char name[128];
	uint64_t start, cpu;

	if (fanout) {
		bus_name(name, sizeof(name), "pub", -1);
		own_name(name);
	} else {
		bus_name(name, sizeof(name), "rx", -1);
	}
	say("READY");
	await_go();
	if (args.warmup) {
		send_stream(fanout, name, args.warmup);
		mark(fanout, name, "Warm");
		say("WARM");
		await_go();
	}
	start = now_ns();
	cpu = cpu_with_broker_ns();
	send_stream(fanout, name, args.count);
	mark(fanout, name, "End");
	/* The daemon has forwarded everything: its work counts too. */
	report_sent(start, cpu_with_broker_ns() - cpu);
}

int main(int argc, char **argv)
{
	const char *address = getenv("DBUS_PERF_ADDRESS");
	DBusError err;

	parse_args(argc, argv);
	if (!address)
		fail("no DBUS_PERF_ADDRESS");
	payload = malloc(args.size);
	if (!payload)
		fail("out of memory");
	memset(payload, 'x', args.size);

	dbus_error_init(&err);
	conn = dbus_connection_open_private(address, &err);
	if (!conn)
		fail("cannot connect to %s: %s", address, err.message);
	dbus_connection_set_exit_on_disconnect(conn, FALSE);
	if (!dbus_bus_register(conn, &err))
		fail("register on the bus: %s", err.message);

	play_role();
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
	return 0;
}
