/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_c_api: libipcon's API as a C program sees it, run by the VM suite
 * (module loaded): every function's error paths (NULL handler and
 * pointers, bad and over-long names, oversize payloads, unknown peers and
 * groups) return a negative errno without crashing, and the good paths
 * work, including one thread blocked in ipcon_rcv() while another sends on
 * the same handler. Prints "ok"/"not ok" per check, then
 * "c-api: N passed, M failed"; exits 1 if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libipcon.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

static int passed, failed;

static void check(int cond, const char *what, long got)
{
	if (cond) {
		passed++;
		printf("ok - %s\n", what);
	} else {
		failed++;
		printf("not ok - %s (got %ld)\n", what, got);
	}
}

#define EXPECT(expr, want) do { long got_ = (long)(expr); \
	check(got_ == (long)(want), #expr " == " #want, got_); } while (0)

static char long_name[100];
static char payload[LIBIPCON_MAX_PAYLOAD_LEN + 1];

static void null_handler_paths(void)
{
	struct ipcon_msg im;
	struct timeval tv = { 0, 1000 };
	uint32_t id;

	EXPECT(ipcon_register_group(NULL, "g"), -EINVAL);
	EXPECT(ipcon_unregister_group(NULL, "g"), -EINVAL);
	EXPECT(ipcon_join_group(NULL, "p", "g"), -EINVAL);
	EXPECT(ipcon_join_group_rcv_last(NULL, "p", "g", 1), -EINVAL);
	EXPECT(ipcon_leave_group(NULL, "p", "g"), -EINVAL);
	EXPECT(ipcon_send_unicast(NULL, "p", "x", 1), -EINVAL);
	EXPECT(ipcon_send_multicast(NULL, "g", "x", 1, 1), -EINVAL);
	EXPECT(ipcon_post_unicast(NULL, "p", "x", 1, NULL), -EINVAL);
	EXPECT(ipcon_post_multicast(NULL, "g", "x", 1, NULL), -EINVAL);
	EXPECT(ipcon_rcv(NULL, &im), -EINVAL);
	EXPECT(ipcon_rcv_nonblock(NULL, &im), -EINVAL);
	EXPECT(ipcon_rcv_timeout(NULL, &im, &tv), -EINVAL);
	EXPECT(is_peer_present(NULL, "p"), -EINVAL);
	EXPECT(is_group_present(NULL, "p", "g"), -EINVAL);
	EXPECT(ipcon_find_group(NULL, "g", &id), -EINVAL);
	EXPECT(ipcon_get_read_fd(NULL), -EBADF);
	EXPECT(ipcon_get_write_fd(NULL), -EBADF);
	EXPECT(ipcon_get_ctrl_fd(NULL), -EBADF);
	EXPECT(ipcon_last_error(NULL, NULL, 0), -EINVAL);
	EXPECT(ipcon_last_kernel_message(NULL, NULL, 0), -EINVAL);
	EXPECT(ipcon_selfname(NULL) == NULL, 1);
	ipcon_free_handler(NULL);
	check(1, "ipcon_free_handler(NULL) returns", 0);
	EXPECT(strlen(ipcon_strerror(-ENODEV)) > 0, 1);
	EXPECT(strstr(ipcon_strerror(-ENODEV), "modprobe") != NULL, 1);
	EXPECT(strlen(ipcon_strerror(-12345)) > 0, 1);
}

static void create_paths(void)
{
	IPCON_HANDLER h;

	errno = 0;
	h = ipcon_create_handler(long_name, LIBIPCON_FLG_DEFAULT);
	check(h == NULL && errno == EINVAL, "create with a 99-byte name: NULL, errno EINVAL", errno);
	h = ipcon_create_handler("bad/name", LIBIPCON_FLG_DEFAULT);
	check(h == NULL && errno == EINVAL, "create with '/': NULL, errno EINVAL", errno);
	h = ipcon_create_handler("", LIBIPCON_FLG_DEFAULT);
	check(h == NULL && errno == EINVAL, "create with \"\": NULL, errno EINVAL", errno);
	h = ipcon_create_handler("capi_flags", 1UL << 20);
	check(h == NULL && errno == EINVAL, "create with an unknown flag: NULL, errno EINVAL", errno);
	h = ipcon_create_handler("capi_dup", 0);
	check(h != NULL, "create capi_dup with flags 0", errno);
	if (h) {
		IPCON_HANDLER twin = ipcon_create_handler("capi_dup", 0);

		check(twin == NULL && errno == EEXIST, "a taken name: NULL, errno EEXIST", errno);
		ipcon_free_handler(h);
	}
}

static void handler_paths(IPCON_HANDLER h)
{
	struct ipcon_msg im;
	struct timeval tv = { 0, 20000 };
	char text[200];
	uint32_t id = 7, ticket = 0;

	EXPECT(ipcon_register_group(h, NULL), -EINVAL);
	EXPECT(ipcon_register_group(h, long_name), -EINVAL);
	EXPECT(ipcon_last_error(h, text, sizeof(text)), -EINVAL);
	check(strlen(text) > 0, "ipcon_last_error describes it", 0);
	printf("# last error: %s\n", text);
	EXPECT(ipcon_join_group(h, NULL, "g"), -EINVAL);
	EXPECT(ipcon_join_group(h, "capi_nobody", NULL), -EINVAL);
	EXPECT(ipcon_join_group(h, "capi_nobody", "capi_none"), -ENOENT);
	EXPECT(ipcon_last_kernel_message(h, text, sizeof(text)) > 0, 1);
	printf("# kernel says: %s\n", text);
	EXPECT(ipcon_leave_group(h, "capi_nobody", "capi_none") < 0, 1);
	EXPECT(ipcon_send_unicast(h, NULL, "x", 1), -EINVAL);
	EXPECT(ipcon_send_unicast(h, "capi_self", NULL, 1), -EINVAL);
	EXPECT(ipcon_send_unicast(h, "capi_self", payload, sizeof(payload)), -EMSGSIZE);
	EXPECT(ipcon_send_unicast(h, "capi_nobody", "x", 1), -ENOENT);
	EXPECT(ipcon_send_multicast(h, "capi_notmine", "x", 1, 0), -ENOENT);
	EXPECT(ipcon_send_multicast(h, "capi_g", payload, sizeof(payload), 1), -EMSGSIZE);
	EXPECT(ipcon_post_unicast(h, "capi_self", payload, sizeof(payload), &ticket), -EMSGSIZE);
	EXPECT(ipcon_rcv(h, NULL), -EINVAL);
	EXPECT(ipcon_rcv_nonblock(h, &im), -EAGAIN);
	EXPECT(ipcon_rcv_timeout(h, &im, &tv), -ETIMEDOUT);
	tv.tv_usec = 2000000;
	EXPECT(ipcon_rcv_timeout(h, &im, &tv), -EINVAL);
	EXPECT(is_peer_present(h, NULL), -EINVAL);
	EXPECT(is_peer_present(h, "capi_nobody"), 0);
	EXPECT(is_peer_present(h, "capi_self"), 1);
	EXPECT(is_group_present(h, "capi_self", "capi_none"), 0);
	EXPECT(ipcon_find_group(h, NULL, &id), -EINVAL);
	EXPECT(ipcon_find_group(h, "capi_none", &id), -ENOENT);
	EXPECT(ipcon_find_group(h, long_name, &id), -EINVAL);
	EXPECT(strcmp(ipcon_selfname(h), "capi_self"), 0);
	EXPECT(ipcon_get_read_fd(h) >= 0, 1);
	EXPECT(ipcon_get_ctrl_fd(h) >= 0, 1);
}

struct receiver {
	IPCON_HANDLER h;
	struct ipcon_msg im;
	int ret;
};

static void *receive_one(void *arg)
{
	struct receiver *r = arg;

	r->ret = ipcon_rcv(r->h, &r->im);
	return NULL;
}

static void good_paths(IPCON_HANDLER h)
{
	IPCON_HANDLER sub = ipcon_create_handler(NULL, LIBIPCON_FLG_DEFAULT);
	struct ipcon_msg im;
	struct receiver r;
	pthread_t thread;
	uint32_t id = 0, ticket = 0;
	struct timespec pause = { 0, 100000000L };

	check(sub != NULL, "an anonymous handler", errno);
	if (!sub)
		return;
	EXPECT(strcmp(ipcon_selfname(sub), ""), 0);
	EXPECT(ipcon_register_group(h, "capi_g"), 0);
	EXPECT(ipcon_register_group(h, "capi_g"), -EEXIST);
	EXPECT(is_group_present(sub, "capi_self", "capi_g"), 1);
	EXPECT(ipcon_find_group(sub, "capi_g", &id), 0);
	EXPECT(ipcon_find_group(sub, "capi_self/capi_g", &id), 0);
	EXPECT(ipcon_send_multicast(h, "capi_g", "state-1", 8, 1), 0);
	EXPECT(ipcon_join_group_rcv_last(sub, "capi_self", "capi_g", 1), 0);
	EXPECT(ipcon_rcv_nonblock(sub, &im), 0);
	check(im.type == LIBIPCON_GROUP_MSG && (im.flags & LIBIPCON_MSG_REPLAYED) &&
	      !strcmp(im.buf, "state-1") && !strcmp(im.group, "capi_g") &&
	      !strcmp(im.peer, "capi_self"), "rcv_last_msg replays the last message", im.type);
	check(im.pid == (uint32_t)getpid() && im.uid == (uint32_t)getuid(),
	      "the kernel stamps the sender's pid and uid", (long)im.pid);

	/* One thread blocks in ipcon_rcv() while this one sends on, joins on
	 * and leaves on the same handler. */
	r.h = sub;
	r.ret = 1;
	EXPECT(pthread_create(&thread, NULL, receive_one, &r), 0);
	nanosleep(&pause, NULL);
	EXPECT(ipcon_join_group(sub, LIBIPCON_KERNEL_NAME, LIBIPCON_KERNEL_GROUP_NAME), 0);
	EXPECT(ipcon_leave_group(sub, LIBIPCON_KERNEL_NAME, LIBIPCON_KERNEL_GROUP_NAME), 0);
	EXPECT(ipcon_send_unicast(sub, "capi_self", "ping", 5), 0);
	EXPECT(ipcon_rcv(h, &im), 0);
	check(im.type == LIBIPCON_NORMAL_MSG && im.len == 5 && !strcmp(im.buf, "ping") &&
	      im.peer[0] == '\0' && im.port != 0, "a unicast from an anonymous peer", im.type);
	EXPECT(ipcon_send_multicast(h, "capi_g", "state-2", 8, 0), 0);
	EXPECT(pthread_join(thread, NULL), 0);
	check(r.ret == 0 && r.im.type == LIBIPCON_GROUP_MSG && !strcmp(r.im.buf, "state-2") &&
	      !(r.im.flags & LIBIPCON_MSG_REPLAYED),
	      "the blocked receiver got the group message", r.ret);

	/* A posted send to nobody: the failure comes back as a message. */
	EXPECT(ipcon_post_unicast(sub, "capi_nobody", "x", 1, &ticket), 0);
	check(ticket != 0, "a posted send has a ticket", ticket);
	EXPECT(ipcon_rcv(sub, &im), 0);
	check(im.type == LIBIPCON_SEND_FAILED_MSG && im.ticket == ticket && im.error == -ENOENT &&
	      !strcmp(im.peer, "capi_nobody"), "a failed posted send is a message", im.type);
	printf("# posted send failed: %.*s\n", (int)im.len, im.buf);

	EXPECT(ipcon_leave_group(sub, "capi_self", "capi_g"), 0);
	EXPECT(ipcon_unregister_group(h, "capi_g"), 0);
	EXPECT(ipcon_unregister_group(h, "capi_g"), -ENOENT);
	ipcon_free_handler(sub);
}

/* The callback API: auto-join as the group appears, callbacks, and
 * ipcon_async_rcv_stop() from a callback and from another thread. */
struct async_seen {
	IPCON_HANDLER h;
	int peer_adds, joins, leaves, group_msgs, marks, ret;
	/* While set, capi_async_srv's peer-add callback waits (the loop
	 * reads nothing meanwhile). */
	volatile int hold;
};

static void on_peer_add(char *peer_name, void *data)
{
	struct async_seen *seen = data;
	struct timespec pause = { 0, 10000000L };
	int i;

	if (strcmp(peer_name, "capi_async_srv"))
		return;
	seen->peer_adds++;
	for (i = 0; i < 1500 && seen->hold; i++)
		nanosleep(&pause, NULL);
}

static void on_join(char *peer_name, char *group_name, void *data)
{
	struct async_seen *seen = data;

	if (!strcmp(peer_name, "capi_async_srv") && !strcmp(group_name, "capi_async_g"))
		seen->joins++;
	if (!strcmp(peer_name, "capi_mark") && !strcmp(group_name, "capi_mark_g"))
		seen->marks++;
}

static void on_leave(char *peer_name, char *group_name, void *data)
{
	struct async_seen *seen = data;

	if (!strcmp(peer_name, "capi_async_srv") && !strcmp(group_name, "capi_async_g"))
		seen->leaves++;
}

static void on_group_msg(char *peer_name, char *group_name, void *buf, size_t len, void *data)
{
	struct async_seen *seen = data;

	(void)peer_name;
	(void)group_name;
	seen->group_msgs++;
	if (len == 5 && !memcmp(buf, "stop", 5))
		ipcon_async_rcv_stop(seen->h);
}

static struct peer_group_info async_pgi = { "capi_async_srv", "capi_async_g", 1 };
/* The mark's group exists before the loop starts: its join says the loop
 * watches events and has looked for capi_async_g (not there yet). */
static struct peer_group_info stale_pgi[] = {
	{ "capi_async_srv", "capi_async_g", 1 },
	{ "capi_mark", "capi_mark_g", 1 },
};
static struct async_rcv_ctl async_arc;

static void *async_loop(void *arg)
{
	struct async_seen *seen = arg;

	seen->ret = ipcon_async_rcv(seen->h, &async_arc);
	return NULL;
}

/* Up to 15 s: CI runs three TCG guests on two host CPUs, and a guest can
 * stall for seconds. Only a failing check waits that long. */
static void wait_for(volatile int *what, int value)
{
	struct timespec pause = { 0, 10000000L };
	int i;

	for (i = 0; i < 1500 && *what < value; i++)
		nanosleep(&pause, NULL);
}

/* The group's owner went and came back: the loop (on thread) joined its
 * group twice and left once, after at least min_peer_adds peer-adds. Then
 * first (if any) and "stop" to the group end the loop; without an owner,
 * ipcon_async_rcv_stop() does. */
static void rejoined_then_stop(struct async_seen *seen, IPCON_HANDLER srv, pthread_t thread,
			       int min_peer_adds, const char *first)
{
	wait_for((volatile int *)&seen->joins, 2);
	EXPECT(seen->joins, 2);
	EXPECT(seen->leaves, 1);
	EXPECT(seen->peer_adds >= min_peer_adds, 1);
	if (srv && first)
		EXPECT(ipcon_send_multicast(srv, "capi_async_g", first, strlen(first) + 1, 1), 0);
	if (srv)
		EXPECT(ipcon_send_multicast(srv, "capi_async_g", "stop", 5, 1), 0);
	else
		ipcon_async_rcv_stop(seen->h);
	EXPECT(pthread_join(thread, NULL), 0);
	EXPECT(seen->ret, 0);
}

static void async_paths(void)
{
	struct async_seen seen;
	IPCON_HANDLER srv;
	IPCON_HANDLER mark;
	pthread_t thread;

	memset(&seen, 0, sizeof(seen));
	EXPECT(ipcon_async_rcv(NULL, &async_arc), -EINVAL);
	seen.h = ipcon_create_handler(NULL, LIBIPCON_FLG_DEFAULT);
	check(seen.h != NULL, "an anonymous handler for the callbacks", errno);
	if (!seen.h)
		return;
	EXPECT(ipcon_async_rcv(seen.h, NULL), -EINVAL);
	async_arc.pgi = &async_pgi;
	async_arc.num = 1;
	async_arc.cb.peer_add = on_peer_add;
	async_arc.cb.auto_group_join = on_join;
	async_arc.cb.auto_group_leave = on_leave;
	async_arc.cb.group_msg_cb = on_group_msg;
	async_arc.cb.data = &seen;
	seen.ret = 1;
	EXPECT(pthread_create(&thread, NULL, async_loop, &seen), 0);
	srv = ipcon_create_handler("capi_async_srv", LIBIPCON_FLG_DEFAULT);
	check(srv != NULL, "the group's owner", errno);
	if (srv) {
		EXPECT(ipcon_register_group(srv, "capi_async_g"), 0);
		/* Joined at the loop's first look or on the group-add event. */
		wait_for((volatile int *)&seen.joins, 1);
		EXPECT(seen.joins, 1);
		/* The loop watches events now: the owner goes and comes back. */
		ipcon_free_handler(srv);
		srv = ipcon_create_handler("capi_async_srv", LIBIPCON_FLG_DEFAULT);
		check(srv != NULL, "the group's owner again", errno);
	}
	if (srv)
		EXPECT(ipcon_register_group(srv, "capi_async_g"), 0);
	rejoined_then_stop(&seen, srv, thread, 1, "one");
	EXPECT(seen.group_msgs, 2);
	if (srv)
		ipcon_free_handler(srv);
	srv = NULL;

	/* Events describe the past: the loop reads the group-add of a group
	 * that went and came back while it was held in a callback. It joins
	 * the group that exists once, reports the leave of the old one, then
	 * the join of the new one: the callbacks end at "joined", as it is. */
	mark = ipcon_create_handler("capi_mark", LIBIPCON_FLG_DEFAULT);
	check(mark != NULL, "the mark's owner", errno);
	if (mark)
		EXPECT(ipcon_register_group(mark, "capi_mark_g"), 0);
	seen.peer_adds = seen.joins = seen.leaves = seen.group_msgs = seen.marks = 0;
	seen.hold = 1;
	seen.ret = 1;
	async_arc.pgi = stale_pgi;
	async_arc.num = 2;
	EXPECT(pthread_create(&thread, NULL, async_loop, &seen), 0);
	wait_for((volatile int *)&seen.marks, 1);
	EXPECT(seen.marks, 1);
	srv = ipcon_create_handler("capi_async_srv", LIBIPCON_FLG_DEFAULT);
	check(srv != NULL, "the group's first owner", errno);
	if (srv)
		EXPECT(ipcon_register_group(srv, "capi_async_g"), 0);
	/* The loop holds in the peer-add callback; the group-add waits. */
	wait_for((volatile int *)&seen.peer_adds, 1);
	EXPECT(seen.peer_adds, 1);
	if (srv)
		ipcon_free_handler(srv);
	srv = ipcon_create_handler("capi_async_srv", LIBIPCON_FLG_DEFAULT);
	check(srv != NULL, "the group's second owner", errno);
	if (srv)
		EXPECT(ipcon_register_group(srv, "capi_async_g"), 0);
	seen.hold = 0;
	rejoined_then_stop(&seen, srv, thread, 2, NULL);
	EXPECT(seen.peer_adds, 2);
	/* In the new group for real: its message arrived and stopped the loop. */
	EXPECT(seen.group_msgs, 1);
	if (mark)
		ipcon_free_handler(mark);

	/* Stopped from another thread while it waits. */
	async_arc.pgi = NULL;
	async_arc.num = 0;
	seen.ret = 1;
	EXPECT(pthread_create(&thread, NULL, async_loop, &seen), 0);
	{
		struct timespec pause = { 0, 200000000L };

		nanosleep(&pause, NULL);
	}
	ipcon_async_rcv_stop(seen.h);
	EXPECT(pthread_join(thread, NULL), 0);
	EXPECT(seen.ret, 0);
	ipcon_async_rcv_stop(NULL);
	if (srv)
		ipcon_free_handler(srv);
	ipcon_free_handler(seen.h);
}

static long open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	long n = 0;

	if (!dir)
		return -1;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static long heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	return (long)mallinfo2().uordblks;
#else
	return 0;
#endif
}

/* One handler's whole life: create, group, join, send, receive, free. */
static int one_life(void)
{
	IPCON_HANDLER h = ipcon_create_handler("capi_life", LIBIPCON_FLG_DEFAULT);
	struct ipcon_msg im;
	int ret;

	if (!h)
		return -errno;
	ret = ipcon_register_group(h, "capi_life_g");
	if (!ret)
		ret = ipcon_join_group(h, "capi_life", "capi_life_g");
	if (!ret)
		ret = ipcon_join_group(h, LIBIPCON_KERNEL_NAME, LIBIPCON_KERNEL_GROUP_NAME);
	if (!ret)
		ret = ipcon_send_multicast(h, "capi_life_g", "x", 1, 1);
	if (!ret)
		ret = ipcon_rcv(h, &im);
	if (!ret)
		ret = ipcon_send_unicast(h, "capi_nobody", "x", 1) == -ENOENT ? 0 : -EPROTO;
	ipcon_free_handler(h);
	return ret;
}

static void no_leaks(void)
{
	long fds, heap;
	int i, ret = one_life();

	EXPECT(ret, 0);
	fds = open_fds();
	heap = heap_in_use();
	for (i = 0; i < 50 && ret == 0; i++)
		ret = one_life();
	EXPECT(ret, 0);
	check(open_fds() == fds, "50 handler lives leave no descriptor open", open_fds() - fds);
	check(heap_in_use() == heap, "50 handler lives leave no heap in use", heap_in_use() - heap);
}

int main(void)
{
	IPCON_HANDLER h;

	memset(long_name, 'n', sizeof(long_name) - 1);
	memset(payload, 'p', sizeof(payload));
	setvbuf(stdout, NULL, _IOLBF, 0);

	null_handler_paths();
	create_paths();
	h = ipcon_create_handler("capi_self", LIBIPCON_FLG_DEFAULT);
	check(h != NULL, "create capi_self", errno);
	if (h) {
		handler_paths(h);
		good_paths(h);
		ipcon_free_handler(h);
	}
	async_paths();
	no_leaks();
	printf("c-api: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
