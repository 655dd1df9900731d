/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_sender: the tutorial's sender. Waits until the server peer is
 * present, then sends MESSAGE to it COUNT times, INTERVAL_MS apart.
 *
 * usage: ipcon_sender [-t PEER] [-n COUNT] [-i INTERVAL_MS] MESSAGE
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libipcon.h>

static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char *argv[])
{
	const char *to = "ipcon_server";
	long count = 1, interval_ms = 1000, i;
	IPCON_HANDLER handler;
	int opt, ret = 0, tries;

	while ((opt = getopt(argc, argv, "t:n:i:")) != -1) {
		switch (opt) {
		case 't':
			to = optarg;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval_ms = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: %s [-t PEER] [-n COUNT] [-i INTERVAL_MS] MESSAGE\n", argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: %s [-t PEER] [-n COUNT] [-i INTERVAL_MS] MESSAGE\n", argv[0]);
		return 2;
	}

	handler = ipcon_create_handler("ipcon_sender", LIBIPCON_FLG_DEFAULT);
	if (!handler) {
		fprintf(stderr, "sender: cannot create peer: %s\n", ipcon_strerror(-errno));
		return 1;
	}
	/* The tutorial checks once; a sender started with its server waits. */
	for (tries = 0; (ret = is_peer_present(handler, to)) == 0 && tries < 100; tries++)
		sleep_ms(50);
	if (ret <= 0) {
		fprintf(stderr, "sender: peer %s is not present\n", to);
		ipcon_free_handler(handler);
		return 1;
	}
	for (i = 0; i < count; i++) {
		ret = ipcon_send_unicast(handler, to, argv[optind], strlen(argv[optind]) + 1);
		if (ret == -EAGAIN) {	/* its queue is full: not queued, retry */
			sleep_ms(10);
			i--;
			continue;
		}
		if (ret < 0) {
			fprintf(stderr, "sender: send to %s: %s (%d)\n", to, ipcon_strerror(ret), ret);
			break;
		}
		printf("sender: sent to %s: %s\n", to, argv[optind]);
		fflush(stdout);
		if (i + 1 < count)
			sleep_ms(interval_ms);
	}
	ipcon_free_handler(handler);
	return ret < 0 ? 1 : 0;
}
