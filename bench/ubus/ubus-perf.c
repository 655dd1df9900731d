// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * ubus-perf: OpenWrt's ubus (ubusd + libubus) in ipcon-perf's measurements.
 *
 * ipcon-perf starts this program instead of itself for the "ubus"
 * implementation, with the same role arguments, and talks the same
 * handshake on stdin/stdout (READY, GO, DONE key=value ..., ERROR text).
 * It is used the way ubus users use it:
 *
 *  - round trip: the server registers an object with an "echo" method; the
 *    client looks it up once and calls ubus_invoke() per request, the
 *    answer comes back with ubus_send_reply();
 *  - one-way and fan-out: the sender registers an object, each receiver a
 *    ubus_subscriber subscribed to it; the sender calls ubus_notify() with
 *    no timeout (no wait for the subscribers: fire and forget, as a status
 *    broadcast would);
 *  - a one-way stream starts with an untimed warm-up stream (args.warmup
 *    messages, numbered from 0) closed the same way by notifications of
 *    type "warm"; a receiver takes the first, ignores the repeats and
 *    counts the timed stream afresh;
 *  - the end of a stream is a notification of type "end", sent 20 times
 *    50 ms apart (the receivers' queues drain in between, so one arrives):
 *    it travels behind the messages through ubusd, so a receiver that sees
 *    it has seen every message ubusd delivered. (A notification that waits
 *    for the subscribers' answers would be the obvious end marker, but
 *    this ubusd drops a subscriber's answer to a notification: it checks
 *    the answer's object id against the subscriber's own objects.)
 *
 * Every message is a blobmsg table: "seq" (int32) and "data" (a string of
 * the payload size, NUL included). Receivers check that sequence numbers
 * only grow and count the gaps: ubusd drops messages for a client whose
 * queue is full without telling anyone, so those gaps are the silent loss
 * the report shows. The publisher's CPU time includes ubusd's (the broker
 * does the fan-out), counted until the end markers are out: its pid comes
 * in UBUS_PERF_UBUSD_PID.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libubox/blobmsg.h>
#include <libubox/uloop.h>
#include <libubus.h>

#define PERF_IMPL "ubus"
#define PERF_BROKER_PID "UBUS_PERF_UBUSD_PID"
#include "../perf-role.h"

#define SUBSCRIBER_RECV_BUFFER (4 << 20)
#define CALL_TIMEOUT_MS 30000
#define END_NOTIFICATIONS 20

static struct ubus_context *ctx;
static struct blob_buf buf;
static char *payload;

static void object_name(char *out, size_t len, const char *suffix, long index)
{
	if (index >= 0)
		snprintf(out, len, "%s_%s%ld", args.tag, suffix, index);
	else
		snprintf(out, len, "%s_%s", args.tag, suffix);
}

static uint32_t lookup(const char *name)
{
	uint32_t id;
	int err = ubus_lookup_id(ctx, name, &id);

	if (err)
		fail("lookup of %s: %s", name, ubus_strerror(err));
	return id;
}

/* One message: seq and the payload. */
static struct blob_attr *message(uint32_t seq)
{
	blob_buf_init(&buf, 0);
	blobmsg_add_u32(&buf, "seq", seq);
	blobmsg_add_field(&buf, BLOBMSG_TYPE_STRING, "data", payload, args.size);
	return buf.head;
}

enum { MSG_SEQ, MSG_DATA, MSG_MAX };
static const struct blobmsg_policy message_policy[MSG_MAX] = {
	[MSG_SEQ] = { .name = "seq", .type = BLOBMSG_TYPE_INT32 },
	[MSG_DATA] = { .name = "data", .type = BLOBMSG_TYPE_STRING },
};

/* The sequence number of a well-formed message, or a failure. */
static uint32_t message_seq(struct blob_attr *msg)
{
	struct blob_attr *tb[MSG_MAX];

	blobmsg_parse(message_policy, MSG_MAX, tb, blob_data(msg), blob_len(msg));
	if (!tb[MSG_SEQ] || !tb[MSG_DATA] || blobmsg_data_len(tb[MSG_DATA]) != args.size)
		fail("malformed message");
	return blobmsg_get_u32(tb[MSG_SEQ]);
}

/* ---- round trips ---- */

static unsigned long served;

static int echo_handler(struct ubus_context *c, struct ubus_object *obj,
			struct ubus_request_data *req, const char *method,
			struct blob_attr *msg)
{
	(void)obj;
	(void)method;
	message_seq(msg);
	served++;
	ubus_send_reply(c, req, msg);
	return 0;
}

static int quit_handler(struct ubus_context *c, struct ubus_object *obj,
			struct ubus_request_data *req, const char *method,
			struct blob_attr *msg)
{
	(void)c;
	(void)obj;
	(void)req;
	(void)method;
	(void)msg;
	uloop_end();
	return 0;
}

static const struct ubus_method server_methods[] = {
	{ .name = "echo", .handler = echo_handler },
	{ .name = "quit", .handler = quit_handler },
};
static struct ubus_object_type server_type =
	UBUS_OBJECT_TYPE("ipcon_perf_server", server_methods);

static void run_server(void)
{
	static char name[96];
	static struct ubus_object obj = {
		.type = &server_type,
		.methods = server_methods,
		.n_methods = ARRAY_SIZE(server_methods),
	};
	char done[64];

	object_name(name, sizeof(name), "rx", -1);
	obj.name = name;
	if (ubus_add_object(ctx, &obj))
		fail("add object %s", name);
	say("READY");
	uloop_run();
	snprintf(done, sizeof(done), "DONE served=%lu", served);
	say(done);
}

static void echo_answer(struct ubus_request *req, int type, struct blob_attr *msg)
{
	(void)type;
	*(uint32_t *)req->priv = message_seq(msg);
}

static void run_client(void)
{
	uint64_t *trips = calloc(args.count ? args.count : 1, sizeof(*trips));
	uint32_t id, seq, answer;
	char done[128];
	int err;

	if (!trips)
		fail("out of memory");
	object_name(done, sizeof(done), "rx", -1);
	id = lookup(done);
	say("READY");
	await_go();
	for (seq = 0; seq < args.warmup + args.count; seq++) {
		uint64_t start = now_ns();

		answer = UINT32_MAX;
		err = ubus_invoke(ctx, id, "echo", message(seq), echo_answer, &answer,
				  CALL_TIMEOUT_MS);
		if (err || answer != seq)
			fail("echo %u: %s, answer %u", seq, ubus_strerror(err), answer);
		if (seq >= args.warmup)
			trips[seq - args.warmup] = now_ns() - start;
	}
	blob_buf_init(&buf, 0);
	ubus_invoke(ctx, id, "quit", buf.head, NULL, NULL, CALL_TIMEOUT_MS);
	report_trips(trips);
	free(trips);
}

/* ---- one-way streams: unicast (one receiver) and fan-out ---- */

/* Whether a receiver has seen the end of the warm-up. */
static int warmed;

static int notify_handler(struct ubus_context *c, struct ubus_object *obj,
			  struct ubus_request_data *req, const char *method,
			  struct blob_attr *msg)
{
	(void)c;
	(void)obj;
	(void)req;
	if (!strcmp(method, "warm")) {
		/* The warm-up's end: the first of its repeats ends the warm-up. */
		if (!warmed) {
			warmed = 1;
			uloop_end();
		}
		return 0;
	}
	if (!strcmp(method, "end")) {
		/* The tail ubusd dropped. */
		tally_end();
		uloop_end();
		return 0;
	}
	tally_message(message_seq(msg));
	return 0;
}

static void run_receiver(void)
{
	static struct ubus_subscriber sub = { .cb = notify_handler };
	struct sched_param batch = { 0 };
	int rcvbuf = SUBSCRIBER_RECV_BUFFER;
	struct rusage before, after;
	char done[160];

	/* As ipcon-perf's receivers: woken, they wait for the sender to yield. */
	if (sched_setscheduler(0, SCHED_BATCH, &batch))
		fail("SCHED_BATCH: %s", strerror(errno));
	if (!strcmp(args.role, "subscriber"))
		setsockopt(ctx->sock.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (ubus_register_subscriber(ctx, &sub))
		fail("register the subscriber");
	object_name(done, sizeof(done), "pub", -1);
	if (ubus_subscribe(ctx, &sub, lookup(done)))
		fail("subscribe to %s", done);
	say("READY");
	if (args.warmup) {
		uloop_run();
		tally_reset();
		say("WARM");
	}
	getrusage(RUSAGE_SELF, &before);
	uloop_run();
	getrusage(RUSAGE_SELF, &after);
	report_tally(after.ru_nvcsw - before.ru_nvcsw);
}

/* Notifies messages 0..@count - 1, yielding after every burst. */
static void notify_stream(struct ubus_object *obj, unsigned long count)
{
	uint32_t seq;
	int err;

	for (seq = 0; seq < count; seq++) {
		err = ubus_notify(ctx, obj, "m", message(seq), -1);
		if (err)
			fail("notify %u: %s", seq, ubus_strerror(err));
		if ((seq + 1) % args.burst == 0)
			sched_yield();
	}
}

/* The marker of @type ("warm", "end") behind the messages, repeated. */
static void notify_marker(struct ubus_object *obj, const char *type)
{
	const struct timespec pause = { 0, 50 * 1000 * 1000 };
	int i, err;

	for (i = 0; i < END_NOTIFICATIONS; i++) {
		blob_buf_init(&buf, 0);
		err = ubus_notify(ctx, obj, type, buf.head, -1);
		if (err)
			fail("%s marker: %s", type, ubus_strerror(err));
		nanosleep(&pause, NULL);
	}
}

static void run_sender(void)
{
	static struct ubus_object_type type = { .name = "ipcon_perf_publisher" };
	static struct ubus_object obj = { .type = &type };
	static char name[96];
	uint64_t start, cpu;

	object_name(name, sizeof(name), "pub", -1);
	obj.name = name;
	if (ubus_add_object(ctx, &obj))
		fail("add object %s", name);
	say("READY");
	await_go();
	if (args.warmup) {
		notify_stream(&obj, args.warmup);
		notify_marker(&obj, "warm");
		say("WARM");
		await_go();
	}
	start = now_ns();
	cpu = cpu_with_broker_ns();
	notify_stream(&obj, args.count);
	notify_marker(&obj, "end");
	/*
	 * After the end markers: ubusd forwards its backlog after the sender's
	 * loop is over, and that work counts too (the markers themselves are
	 * a few notifications, the pauses cost no CPU).
	 */
	report_sent(start, cpu_with_broker_ns() - cpu);
}

int main(int argc, char **argv)
{
	const char *socket = getenv("UBUS_PERF_SOCKET");

	parse_args(argc, argv);
	payload = malloc(args.size);
	if (!payload)
		fail("out of memory");
	memset(payload, 'x', args.size - 1);
	payload[args.size - 1] = 0;

	uloop_init();
	ctx = ubus_connect(socket);
	if (!ctx)
		fail("cannot connect to ubusd at %s", socket ? socket : "the default socket");
	ubus_add_uloop(ctx);

	play_role();
	ubus_free(ctx);
	uloop_done();
	return 0;
}
