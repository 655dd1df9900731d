/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_c_unload: a handler used after the module is unloaded. Registers
 * "c_unload", prints "unload: ready", waits until /sys/module/ipcon is gone
 * (the test runs rmmod), then uses the handler every way and prints each
 * result as "unload: WHAT RET" (a negative errno is expected, never a
 * crash), then frees it and prints "unload: done".
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <libipcon.h>

static void say(const char *what, int ret)
{
	printf("unload: %s %d (%s)\n", what, ret, ret < 0 ? ipcon_strerror(ret) : "ok");
	fflush(stdout);
}

int main(void)
{
	static struct ipcon_msg msg;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct ipcon_loop *loop = NULL;
	struct ipcon_loop_event ev;
	IPCON_HANDLER h = ipcon_create_handler("c_unload", LIBIPCON_FLG_DEFAULT);
	IPCON_HANDLER again;
	char reply[64];
	size_t len = 0;
	int waited = 0;

	if (!h) {
		fprintf(stderr, "unload: create: %s\n", ipcon_strerror(errno));
		return 1;
	}
	printf("unload: ready\n");
	fflush(stdout);
	while (access("/sys/module/ipcon", F_OK) == 0) {
		nanosleep(&tick, NULL);
		if (++waited > 3000) {
			fprintf(stderr, "unload: the module is still loaded after 30 s\n");
			return 1;
		}
	}
	say("send", ipcon_send_unicast(h, "c_unload", "x", 1));
	say("post", ipcon_post_unicast(h, "c_unload", "x", 1, NULL));
	say("join", ipcon_join_group(h, "c_unload", "g"));
	say("register", ipcon_register_group(h, "g"));
	say("present", is_peer_present(h, "c_unload"));
	say("call", ipcon_call(h, "c_unload", "m", "", 0, reply, sizeof(reply), &len, 200));
	say("serve", ipcon_serve(h, NULL, 0, 100));
	say("rcv_nonblock", ipcon_rcv_nonblock(h, &msg));
	if (ipcon_loop_create(&loop, 2) == 0) {
		int ret = ipcon_loop_add_handler(loop, h, NULL);

		say("loop_add", ret < 0 ? ret : 0);
		ret = ipcon_loop_wait(loop, &ev, &msg, 100);
		say("loop_wait", ret < 0 ? ret : (ev.type == IPCON_LOOP_ERROR ? ev.error : 0));
		ipcon_loop_free(loop);
	}
	again = ipcon_create_handler("c_unload2", LIBIPCON_FLG_DEFAULT);
	say("create", again ? 0 : -errno);
	ipcon_free_handler(again);
	ipcon_free_handler(h);
	printf("unload: done\n");
	return 0;
}
