/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_c_owner PEER GROUP UID: ipcon_send_unicast_expect_uid() to PEER and
 * ipcon_join_group_expect_uid() of PEER's GROUP, both expecting UID.
 * Prints "owner: send RET" and "owner: join RET" (0 or a negative errno).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libipcon.h>

int main(int argc, char **argv)
{
	IPCON_HANDLER h;
	uint32_t uid;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PEER GROUP UID\n", argv[0]);
		return 2;
	}
	uid = (uint32_t)strtoul(argv[3], NULL, 10);
	h = ipcon_create_handler(NULL, LIBIPCON_FLG_DEFAULT);
	if (!h) {
		fprintf(stderr, "owner: create: %s\n", ipcon_strerror(errno));
		return 1;
	}
	ret = ipcon_send_unicast_expect_uid(h, argv[1], "expected", 8, uid);
	printf("owner: send %d (%s)\n", ret, ret ? ipcon_strerror(ret) : "ok");
	ret = ipcon_join_group_expect_uid(h, argv[1], argv[2], 0, uid);
	printf("owner: join %d (%s)\n", ret, ret ? ipcon_strerror(ret) : "ok");
	ipcon_free_handler(h);
	return 0;
}
