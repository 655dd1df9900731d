/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_server: the tutorial's server. Registers the peer "ipcon_server"
 * and its group "str_msg"; every string a peer sends to it is printed with
 * the sender's kernel-stamped identity and forwarded to the group. "bye"
 * (forwarded too) ends it.
 *
 * usage: ipcon_server [PEER_NAME [GROUP_NAME]]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libipcon.h>

int main(int argc, char *argv[])
{
	const char *name = argc > 1 ? argv[1] : "ipcon_server";
	const char *group = argc > 2 ? argv[2] : "str_msg";
	char why[160];
	IPCON_HANDLER handler;
	int ret;

	handler = ipcon_create_handler(name, LIBIPCON_FLG_DEFAULT);
	if (!handler) {
		fprintf(stderr, "server: cannot create peer %s: %s\n", name,
			ipcon_strerror(-errno));
		return 1;
	}
	ret = ipcon_register_group(handler, group);
	if (ret < 0) {
		ipcon_last_error(handler, why, sizeof(why));
		fprintf(stderr, "server: register group %s: %s\n", group, why);
		ipcon_free_handler(handler);
		return 1;
	}
	printf("server: %s serving group %s\n", ipcon_selfname(handler), group);
	fflush(stdout);

	for (;;) {
		struct ipcon_msg im;
		int bye;

		ret = ipcon_rcv(handler, &im);
		if (ret < 0) {
			fprintf(stderr, "server: receive: %s (%d)\n", ipcon_strerror(ret), ret);
			break;
		}
		if (im.type != LIBIPCON_NORMAL_MSG)
			continue;
		/* Strings come NUL-terminated; a message that is not one is cut. */
		if (im.len == 0 || im.buf[im.len - 1] != '\0') {
			if (im.len == LIBIPCON_MAX_PAYLOAD_LEN)
				im.len--;
			im.buf[im.len++] = '\0';
		}
		printf("server: from %s port=%u pid=%u uid=%u: %s\n",
		       im.peer[0] ? im.peer : "(anonymous)", (unsigned)im.port,
		       (unsigned)im.pid, (unsigned)im.uid, im.buf);
		fflush(stdout);
		bye = strcmp(im.buf, "bye") == 0;
		ret = ipcon_send_multicast(handler, group, im.buf, im.len, 1);
		if (ret < 0) {
			ipcon_last_error(handler, why, sizeof(why));
			fprintf(stderr, "server: forward: %s\n", why);
			break;
		}
		if (bye)
			break;
	}
	ipcon_free_handler(handler);
	return ret < 0 ? 1 : 0;
}
