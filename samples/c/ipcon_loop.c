/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_loop - libipcon's event loop (ipcon_loop_*): one thread waits for
 * a handler's messages, two timers and a pipe at once.
 *
 *   ipcon_loop NAME [PEER]
 *
 * Registers peer NAME and prints one line per event:
 *   "loop: once"                   a one-shot timer, 100 ms after start
 *   "loop: tick N"                 a periodic timer, every 200 ms; each tick
 *                                  writes one byte into a pipe
 *   "loop: pipe N bytes"           the pipe's read end was readable
 *   "loop: pipe hangup"            the write end was closed ("close")
 *   "loop: message from P: TEXT"   a message to NAME; "close" closes the
 *                                  pipe's write end, "quit" ends the program
 *   "loop: served a call"          a call (ipcon_call, Rust Client): method
 *                                  "ticks" answers the number of ticks
 * With PEER, a switch relays one end of a SOCK_SEQPACKET socket pair to
 * PEER and back; the program writes "ping" into the other end at the first
 * tick (relayed to PEER) and prints what PEER sends back through it:
 *   "loop: switch rx N" / "loop: switch tx N"   N bytes relayed
 *   "loop: switched back TEXT"                  PEER's message, via the pair
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libipcon.h>

static long ticks;

static int count_ticks(IPCON_HANDLER h, const struct ipcon_msg *request, const void *args,
		       size_t len, void *reply, size_t cap, size_t *reply_len, void *data)
{
	int n = snprintf(reply, cap, "%ld", ticks);

	(void)h;
	(void)request;
	(void)args;
	(void)len;
	(void)data;
	*reply_len = n < 0 ? 0 : (size_t)n;
	return IPCON_CALL_OK;
}

static const struct ipcon_method methods[] = {
	{ "ticks", "the number of ticks so far", count_ticks, NULL },
};

int main(int argc, char **argv)
{
	static struct ipcon_msg msg;
	struct ipcon_loop *loop = NULL;
	struct ipcon_loop_event ev;
	IPCON_HANDLER h;
	int ends[2], pair[2] = { -1, -1 }, pipe_id, app_id = -1, ret, done = 0;
	const char *once = "once", *tick = "tick";

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s NAME [PEER]\n", argv[0]);
		return 2;
	}
	h = ipcon_create_handler(argv[1], LIBIPCON_FLG_DEFAULT);
	if (!h) {
		fprintf(stderr, "loop: create %s: %s\n", argv[1], ipcon_strerror(errno));
		return 1;
	}
	if (pipe(ends) != 0 || ipcon_loop_create(&loop, 8) != 0) {
		fprintf(stderr, "loop: setup failed\n");
		return 1;
	}
	if (ipcon_loop_add_handler(loop, h, NULL) < 0 ||
	    ipcon_loop_add_timer(loop, 100, 0, (void *)once) < 0 ||
	    ipcon_loop_add_timer(loop, 200, 200, (void *)tick) < 0) {
		fprintf(stderr, "loop: add failed\n");
		return 1;
	}
	pipe_id = ipcon_loop_add_fd(loop, ends[0], IPCON_LOOP_READABLE, NULL);
	if (pipe_id < 0) {
		fprintf(stderr, "loop: add pipe: %s\n", ipcon_strerror(pipe_id));
		return 1;
	}
	if (argc == 3) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0 ||
		    ipcon_loop_add_switch(loop, pair[0], h, argv[2], NULL) < 0) {
			fprintf(stderr, "loop: switch setup failed\n");
			return 1;
		}
		app_id = ipcon_loop_add_fd(loop, pair[1], IPCON_LOOP_READABLE, NULL);
	}
	printf("loop: ready %s\n", argv[1]);
	fflush(stdout);
	while (!done) {
		ret = ipcon_loop_wait(loop, &ev, &msg, -1);
		if (ret < 0) {
			fprintf(stderr, "loop: wait: %s\n", ipcon_strerror(ret));
			break;
		}
		switch (ev.type) {
		case IPCON_LOOP_TIMER:
			if (ev.data == once) {
				printf("loop: once\n");
			} else {
				ticks++;
				printf("loop: tick %ld\n", ticks);
				if (ends[1] >= 0 && write(ends[1], "t", 1) != 1)
					printf("loop: pipe write failed\n");
				if (ticks == 1 && pair[1] >= 0 && write(pair[1], "ping", 4) != 4)
					printf("loop: pair write failed\n");
			}
			break;
		case IPCON_LOOP_SWITCH_RX:
		case IPCON_LOOP_SWITCH_TX:
			printf("loop: switch %s %u (%s)\n",
			       ev.type == IPCON_LOOP_SWITCH_RX ? "rx" : "tx", (unsigned)ev.len,
			       ev.error ? ipcon_strerror(ev.error) : "ok");
			break;
		case IPCON_LOOP_FD:
			if (ev.id == app_id && (ev.events & IPCON_LOOP_READABLE)) {
				char buf[LIBIPCON_MAX_PAYLOAD_LEN];
				ssize_t n = read(ev.fd, buf, sizeof(buf));

				if (n > 0)
					printf("loop: switched back %.*s\n", (int)n, buf);
				break;
			}
			if (ev.id != pipe_id) {
				printf("loop: fd %d hangup\n", ev.fd);
				ipcon_loop_remove(loop, ev.id);
				break;
			}
			if (ev.events & IPCON_LOOP_READABLE) {
				char buf[64];
				ssize_t n = read(ev.fd, buf, sizeof(buf));

				if (n > 0) {
					printf("loop: pipe %zd bytes\n", n);
					break;
				}
			}
			if (ev.events & IPCON_LOOP_HANGUP) {
				printf("loop: pipe hangup\n");
				ipcon_loop_remove(loop, ev.id);
			}
			break;
		case IPCON_LOOP_MESSAGE:
			ret = ipcon_serve_msg(ev.handler, methods, 1, &msg);
			if (ret == 1) {
				printf("loop: served a call\n");
				break;
			}
			if (msg.type != LIBIPCON_NORMAL_MSG)
				break;
			printf("loop: message from %s: %.*s\n", msg.peer, (int)msg.len, msg.buf);
			if (msg.len == 5 && memcmp(msg.buf, "close", 5) == 0 && ends[1] >= 0) {
				close(ends[1]);
				ends[1] = -1;
			}
			if (msg.len == 4 && memcmp(msg.buf, "quit", 4) == 0)
				done = 1;
			break;
		case IPCON_LOOP_ERROR:
			printf("loop: receive error %s\n", ipcon_strerror(ev.error));
			break;
		}
		fflush(stdout);
	}
	ipcon_loop_free(loop);
	ipcon_free_handler(h);
	close(ends[0]);
	if (pair[0] >= 0) {
		close(pair[0]);
		close(pair[1]);
	}
	return done ? 0 : 1;
}
