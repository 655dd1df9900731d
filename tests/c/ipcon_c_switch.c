/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_c_switch NAME PEER: libipcon's switch (ipcon_loop_add_switch) on a
 * real TCP connection. Registers peer NAME, listens on 127.0.0.1 (a port
 * the kernel picks) and prints "switch: listening PORT". The loop watches
 * the listening socket; the first connection accepted is switched to PEER:
 * what the TCP client writes is sent to PEER, what PEER sends to NAME is
 * written to the connection. One line per event:
 *   "switch: accepted"              the connection is switched
 *   "switch: rx N (ok|ERROR)"       N bytes read from TCP, sent to PEER
 *   "switch: tx N (ok|ERROR)"       a message of PEER written to TCP
 *   "switch: message from P: TEXT"  a message of another peer
 *   "switch: hangup"                the TCP client closed: the switch is
 *                                   removed and the program exits 0
 * A message "quit" (from any other peer) ends it with exit status 1.
 *
 * ipcon_c_switch -g NAME GROUP PEER: the group switch
 * (ipcon_loop_add_switch_group). Registers NAME and its group GROUP, and
 * first prints the add-time failures as negative errnos:
 *   "switch: checks unregistered=E badfd=E nullgroup=E"
 * (a group NAME did not register, fd -1, a NULL group). A SOCK_SEQPACKET
 * pair's end is peer-switched to PEER, its other end watched: what PEER
 * sends comes out there, "switch: pair TEXT" (the peer switch takes its
 * peer's unicasts). The accepted connection is switched to GROUP: what the
 * TCP client writes is multicast to GROUP ("switch: rx N ..."), every other
 * unicast to NAME is written to the connection ("switch: tx N ..."). After
 * "switch: accepted" comes "switch: second group switch=E" (a second group
 * switch of the handler: -EBUSY). Hangup as above.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libipcon.h>

static int listen_loopback(unsigned int *port)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

/* Group mode: the add-time failures, a peer switch to PEER on a socket
 * pair (pair[0] switched, pair[1] watched; its id into *pair_id). */
static int group_setup(struct ipcon_loop *loop, IPCON_HANDLER h, int listener,
		       const char *group, const char *peer, int pair[2], int *pair_id)
{
	int unregistered, badfd, nullgroup;

	if (ipcon_register_group(h, group) != 0) {
		fprintf(stderr, "switch: register group %s failed\n", group);
		return -1;
	}
	unregistered = ipcon_loop_add_switch_group(loop, listener, h, "c_no_such_group", NULL);
	badfd = ipcon_loop_add_switch_group(loop, -1, h, group, NULL);
	nullgroup = ipcon_loop_add_switch_group(loop, listener, h, NULL, NULL);
	printf("switch: checks unregistered=%d badfd=%d nullgroup=%d\n", unregistered, badfd,
	       nullgroup);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0 ||
	    fcntl(pair[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(pair[1], F_SETFL, O_NONBLOCK) != 0) {
		fprintf(stderr, "switch: socketpair: %s\n", strerror(errno));
		return -1;
	}
	if (ipcon_loop_add_switch(loop, pair[0], h, peer, NULL) < 0) {
		fprintf(stderr, "switch: peer switch failed\n");
		return -1;
	}
	*pair_id = ipcon_loop_add_fd(loop, pair[1], IPCON_LOOP_READABLE, NULL);
	if (*pair_id < 0) {
		fprintf(stderr, "switch: add pair: %s\n", ipcon_strerror(*pair_id));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct ipcon_msg msg;
	static char pair_buf[LIBIPCON_MAX_PAYLOAD_LEN];
	struct ipcon_loop *loop = NULL;
	struct ipcon_loop_event ev;
	IPCON_HANDLER h;
	int listener, conn = -1, listen_id, switch_id = -1, ret, status = -1;
	int pair[2] = { -1, -1 }, pair_id = -1;
	const char *name, *peer, *group = NULL;
	unsigned int port = 0;
	ssize_t got;

	if (argc == 5 && strcmp(argv[1], "-g") == 0) {
		name = argv[2];
		group = argv[3];
		peer = argv[4];
	} else if (argc == 3) {
		name = argv[1];
		peer = argv[2];
	} else {
		fprintf(stderr, "usage: %s NAME PEER | -g NAME GROUP PEER\n", argv[0]);
		return 2;
	}
	h = ipcon_create_handler(name, LIBIPCON_FLG_DEFAULT);
	if (!h) {
		fprintf(stderr, "switch: create %s: %s\n", name, ipcon_strerror(errno));
		return 1;
	}
	listener = listen_loopback(&port);
	if (listener < 0) {
		fprintf(stderr, "switch: listen on 127.0.0.1: %s\n", strerror(errno));
		return 1;
	}
	if (ipcon_loop_create(&loop, 6) != 0 || ipcon_loop_add_handler(loop, h, NULL) < 0) {
		fprintf(stderr, "switch: loop setup failed\n");
		return 1;
	}
	listen_id = ipcon_loop_add_fd(loop, listener, IPCON_LOOP_READABLE, NULL);
	if (listen_id < 0) {
		fprintf(stderr, "switch: add listener: %s\n", ipcon_strerror(listen_id));
		return 1;
	}
	if (group && group_setup(loop, h, listener, group, peer, pair, &pair_id) != 0)
		return 1;
	printf("switch: listening %u\n", port);
	fflush(stdout);
	while (status < 0) {
		ret = ipcon_loop_wait(loop, &ev, &msg, -1);
		if (ret < 0) {
			fprintf(stderr, "switch: wait: %s\n", ipcon_strerror(ret));
			status = 1;
			break;
		}
		switch (ev.type) {
		case IPCON_LOOP_FD:
			if (ev.id == listen_id && conn < 0) {
				conn = accept(listener, NULL, NULL);
				/* The switch reads when poll() said readable:
				 * never block the loop on a drained socket. */
				if (conn < 0 || fcntl(conn, F_SETFL, O_NONBLOCK) != 0) {
					printf("switch: accept failed: %s\n", strerror(errno));
					status = 1;
					break;
				}
				if (group)
					switch_id = ipcon_loop_add_switch_group(loop, conn, h, group,
										NULL);
				else
					switch_id = ipcon_loop_add_switch(loop, conn, h, peer, NULL);
				if (switch_id < 0) {
					printf("switch: add switch: %s\n", ipcon_strerror(switch_id));
					status = 1;
					break;
				}
				ipcon_loop_remove(loop, listen_id);
				printf("switch: accepted\n");
				if (group)
					printf("switch: second group switch=%d\n",
					       ipcon_loop_add_switch_group(loop, pair[1], h, group,
									   NULL));
			} else if (ev.id == switch_id && (ev.events & IPCON_LOOP_HANGUP)) {
				ipcon_loop_remove(loop, switch_id);
				printf("switch: hangup\n");
				status = 0;
			} else if (ev.id == pair_id && (ev.events & IPCON_LOOP_READABLE)) {
				got = read(pair[1], pair_buf, sizeof(pair_buf));
				if (got > 0)
					printf("switch: pair %.*s\n", (int)got, pair_buf);
			} else {
				printf("switch: unexpected fd %d events %u\n", ev.fd, ev.events);
			}
			break;
		case IPCON_LOOP_SWITCH_RX:
		case IPCON_LOOP_SWITCH_TX:
			printf("switch: %s%s %u (%s)\n", ev.id == switch_id ? "" : "peer ",
			       ev.type == IPCON_LOOP_SWITCH_RX ? "rx" : "tx", (unsigned int)ev.len,
			       ev.error ? ipcon_strerror(ev.error) : "ok");
			break;
		case IPCON_LOOP_MESSAGE:
			if (msg.type != LIBIPCON_NORMAL_MSG)
				break;
			printf("switch: message from %s: %.*s\n", msg.peer, (int)msg.len, msg.buf);
			if (msg.len == 4 && memcmp(msg.buf, "quit", 4) == 0)
				status = 1;
			break;
		case IPCON_LOOP_ERROR:
			printf("switch: receive error %s\n", ipcon_strerror(ev.error));
			break;
		default:
			printf("switch: event %d\n", ev.type);
			break;
		}
		fflush(stdout);
	}
	ipcon_loop_free(loop);
	ipcon_free_handler(h);
	if (conn >= 0)
		close(conn);
	if (pair[0] >= 0) {
		close(pair[0]);
		close(pair[1]);
	}
	close(listener);
	return status;
}
