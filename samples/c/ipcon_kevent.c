/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_kevent: a kernel event monitor, as the tutorial's IPCON_KERNEL_GROUP
 * section describes. Prints one line per peer or group that appears or
 * disappears (and why), with poll() on the read fd and non-blocking
 * receives, until COUNT events.
 *
 * usage: ipcon_kevent [COUNT]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <libipcon.h>

static const char *kind(int type)
{
	switch (type) {
	case LIBIPCON_EVENT_PEER_ADD:
		return "peer-add";
	case LIBIPCON_EVENT_PEER_REMOVE:
		return "peer-remove";
	case LIBIPCON_EVENT_GRP_ADD:
		return "group-add";
	case LIBIPCON_EVENT_GRP_REMOVE:
		return "group-remove";
	default:
		return "unknown";
	}
}

int main(int argc, char *argv[])
{
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : -1, seen = 0;
	IPCON_HANDLER handler;
	struct pollfd pfd;
	int ret;

	handler = ipcon_create_handler(NULL, LIBIPCON_FLG_DEFAULT);
	if (!handler) {
		fprintf(stderr, "kevent: cannot create peer: %s\n", ipcon_strerror(-errno));
		return 1;
	}
	ret = ipcon_join_group(handler, LIBIPCON_KERNEL_NAME, LIBIPCON_KERNEL_GROUP_NAME);
	if (ret < 0) {
		fprintf(stderr, "kevent: join %s: %s\n", IPCON_KERNEL_GROUP, ipcon_strerror(ret));
		ipcon_free_handler(handler);
		return 1;
	}
	printf("kevent: watching\n");
	fflush(stdout);
	pfd.fd = ipcon_get_read_fd(handler);
	pfd.events = POLLIN;
	while (count < 0 || seen < count) {
		struct ipcon_msg im;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		while (count < 0 || seen < count) {
			ret = ipcon_rcv_nonblock(handler, &im);
			if (ret == -EAGAIN)
				break;
			if (ret < 0)
				goto out;
			if (im.type != LIBIPCON_KEVENT_MSG)
				continue;
			seen++;
			printf("kevent: %s peer=%s port=%u pid=%u uid=%u", kind(im.kevent.type),
			       im.peer[0] ? im.peer : "(anonymous)", (unsigned)im.port,
			       (unsigned)im.pid, (unsigned)im.uid);
			if (im.kevent.type == LIBIPCON_EVENT_GRP_ADD ||
			    im.kevent.type == LIBIPCON_EVENT_GRP_REMOVE)
				printf(" group=%s", im.kevent.group.name);
			if (im.kevent.type == LIBIPCON_EVENT_PEER_REMOVE ||
			    im.kevent.type == LIBIPCON_EVENT_GRP_REMOVE)
				printf(" reason=%s", im.flags & LIBIPCON_MSG_CLOSED ? "closed" : "unregistered");
			if (im.missed)
				printf(" missed=%u", (unsigned)im.missed);
			printf("\n");
			fflush(stdout);
		}
	}
out:
	if (ret < 0 && ret != -EAGAIN)
		fprintf(stderr, "kevent: %s (%d)\n", ipcon_strerror(ret), ret);
	ipcon_free_handler(handler);
	return ret < 0 && ret != -EAGAIN ? 1 : 0;
}
