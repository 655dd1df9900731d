/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_user: the tutorial's subscriber. Watches kernel events first, then
 * joins group GROUP of SERVER as soon as it exists (now or later), and
 * prints what the group publishes until "bye" or COUNT messages. If the
 * server goes away, it waits for it to come back.
 *
 * usage: ipcon_user [-s SERVER] [-g GROUP] [-n COUNT] [-l]
 *   -l  join with rcv_last_msg: get the group's last message first
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libipcon.h>

/*
 * Joins GROUP of SERVER unless already joined. The group can be seen twice:
 * by the look after subscribing to kernel events and by the GRP_ADD event
 * that was queued in between; the kernel answers a second join with
 * -EALREADY, which means joined.
 */
static int join(IPCON_HANDLER handler, const char *server, const char *group, int last,
		int *joined)
{
	int ret;

	if (*joined)
		return 0;
	ret = ipcon_join_group_rcv_last(handler, server, group, last);
	if (ret == -EALREADY)
		ret = 0;
	if (ret == 0) {
		*joined = 1;
		printf("user: joined %s/%s\n", server, group);
		fflush(stdout);
	}
	return ret;
}

/* Joins GROUP of SERVER if it exists now; -ENOENT is not an error. */
static int join_if_present(IPCON_HANDLER handler, const char *server, const char *group,
			   int last, int *joined)
{
	int ret = is_group_present(handler, server, group);

	if (ret == 1)
		ret = join(handler, server, group, last, joined);
	return ret == -ENOENT ? 0 : ret;
}

int main(int argc, char *argv[])
{
	const char *server = "ipcon_server", *group = "str_msg";
	long count = -1, got = 0;
	IPCON_HANDLER handler;
	int opt, ret, last = 0, joined = 0;

	while ((opt = getopt(argc, argv, "s:g:n:l")) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'l':
			last = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-s SERVER] [-g GROUP] [-n COUNT] [-l]\n", argv[0]);
			return 2;
		}
	}

	handler = ipcon_create_handler(NULL, LIBIPCON_FLG_DEFAULT);
	if (!handler) {
		fprintf(stderr, "user: cannot create peer: %s\n", ipcon_strerror(-errno));
		return 1;
	}
	/* Events first, then look: a group registered in between is not missed. */
	ret = ipcon_join_group(handler, LIBIPCON_KERNEL_NAME, LIBIPCON_KERNEL_GROUP_NAME);
	if (ret == 0)
		ret = join_if_present(handler, server, group, last, &joined);
	if (ret < 0) {
		fprintf(stderr, "user: %s\n", ipcon_strerror(ret));
		ipcon_free_handler(handler);
		return 1;
	}

	while (count < 0 || got < count) {
		struct ipcon_msg im;

		ret = ipcon_rcv(handler, &im);
		if (ret == -ENOBUFS) {
			/*
			 * The socket overflowed: messages or kernel events were
			 * lost. Say so, and look again in case a GRP_ADD was.
			 */
			printf("user: receive queue overrun: messages were lost\n");
			fflush(stdout);
			ret = join_if_present(handler, server, group, last, &joined);
			if (ret < 0)
				break;
			continue;
		}
		if (ret < 0) {
			fprintf(stderr, "user: receive: %s (%d)\n", ipcon_strerror(ret), ret);
			break;
		}
		if (im.type == LIBIPCON_KEVENT_MSG) {
			if (im.kevent.type == LIBIPCON_EVENT_GRP_ADD &&
			    !strcmp(im.kevent.group.peer_name, server) &&
			    !strcmp(im.kevent.group.name, group)) {
				ret = join(handler, server, group, last, &joined);
				if (ret < 0 && ret != -ENOENT)
					break;
			} else if (im.kevent.type == LIBIPCON_EVENT_GRP_REMOVE &&
				   !strcmp(im.kevent.group.peer_name, server) &&
				   !strcmp(im.kevent.group.name, group)) {
				joined = 0;
				printf("user: %s/%s is gone%s\n", server, group,
				       im.flags & LIBIPCON_MSG_CLOSED ? " (its process ended)" : "");
				fflush(stdout);
			}
			continue;
		}
		if (im.type != LIBIPCON_GROUP_MSG || strcmp(im.group, group))
			continue;
		got++;
		printf("user: %s/%s pid=%u uid=%u%s: %.*s\n", im.peer, im.group,
		       (unsigned)im.pid, (unsigned)im.uid,
		       im.flags & LIBIPCON_MSG_REPLAYED ? " replayed" : "",
		       (int)strnlen(im.buf, im.len), im.buf);
		fflush(stdout);
		if (strnlen(im.buf, im.len) == 3 && !strncmp(im.buf, "bye", 3))
			break;
	}
	ipcon_free_handler(handler);
	return ret < 0 ? 1 : 0;
}
