/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_c_leak: the negative test of the VM suite's leak check. Built only
 * with AddressSanitizer (see xtask/src/libipcon.rs); it creates a handler
 * and drops the last pointer to it without ipcon_free_handler(), so
 * LeakSanitizer must report the handler ipcon_create_handler() allocated
 * and make the program fail. It exits 0 itself: only the checker can make
 * it fail. With "free" as its argument it frees the handler (the control:
 * then nothing is reported).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libipcon.h>

/* Not static, so the compiler cannot reason the pointer away. */
IPCON_HANDLER leaked;

int main(int argc, char **argv)
{
	int do_free = argc > 1 && strcmp(argv[1], "free") == 0;

	/* The sanitizer ends the process without flushing stdio. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	leaked = ipcon_create_handler("c_leak", LIBIPCON_FLG_DEFAULT);
	if (!leaked) {
		printf("leak: create c_leak: %s\n", ipcon_strerror(-errno));
		return 2;
	}
	printf("leak: created c_leak\n");
	if (do_free)
		ipcon_free_handler(leaked);
	/* The only reference goes: the handler is unreachable from now on. */
	leaked = NULL;
	printf("leak: handler %s\n", do_free ? "freed" : "dropped");
	return 0;
}
