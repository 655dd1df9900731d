/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * ipcon_calc - a calculator service and its client in C, on libipcon's
 * calls (ipcon_call, ipcon_serve). Rust clients and services (ipcon-linux's
 * Client and Service, `ipcon call`) talk to it and it to them.
 *
 *   ipcon_calc serve NAME [-n COUNT]
 *       serves add, mul, div ("A B": decimal integers), sleep ("MS": answers
 *       after MS milliseconds) as peer NAME; with -n, exits after COUNT
 *       requests. Prints "calc: serving NAME" once ready.
 *   ipcon_calc call PEER METHOD [ARG [TIMEOUT_MS]]
 *       calls METHOD of PEER with ARG (TIMEOUT_MS: negative or none, no
 *       limit) and prints "calc: ok LEN: REPLY", or
 *       "calc: error -ERRNO (TEXT): REPLY" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libipcon.h>

/* "A B" into two integers; 0, or -EINVAL with a text in reply. */
static int two_numbers(const void *args, size_t len, long *a, long *b, char *reply,
		       size_t cap, size_t *reply_len)
{
	char text[64];
	char *end;

	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, args, len);
	text[len] = '\0';
	*a = strtol(text, &end, 10);
	if (end != text && *end == ' ') {
		char *start = end + 1;

		*b = strtol(start, &end, 10);
		if (end != start && *end == '\0')
			return 0;
	}
	*reply_len = (size_t)snprintf(reply, cap, "expected \"A B\", got \"%s\"", text);
	if (*reply_len >= cap)
		*reply_len = cap - 1;
	return IPCON_CALL_BAD_REQUEST;
}

static int answer(long value, char *reply, size_t cap, size_t *reply_len)
{
	int n = snprintf(reply, cap, "%ld", value);

	*reply_len = n < 0 ? 0 : (size_t)n;
	return IPCON_CALL_OK;
}

static int calc(const char *op, const void *args, size_t len, void *reply, size_t cap,
		size_t *reply_len)
{
	long a, b;
	int status = two_numbers(args, len, &a, &b, reply, cap, reply_len);

	if (status != IPCON_CALL_OK)
		return status;
	if (op[0] == 'a')
		return answer(a + b, reply, cap, reply_len);
	if (op[0] == 'm')
		return answer(a * b, reply, cap, reply_len);
	if (b == 0) {
		*reply_len = (size_t)snprintf(reply, cap, "division by zero");
		return IPCON_CALL_FAILED;
	}
	return answer(a / b, reply, cap, reply_len);
}

static int add(IPCON_HANDLER h, const struct ipcon_msg *request, const void *args,
	       size_t len, void *reply, size_t cap, size_t *reply_len, void *data)
{
	(void)h;
	(void)request;
	(void)data;
	return calc("add", args, len, reply, cap, reply_len);
}

static int mul(IPCON_HANDLER h, const struct ipcon_msg *request, const void *args,
	       size_t len, void *reply, size_t cap, size_t *reply_len, void *data)
{
	(void)h;
	(void)request;
	(void)data;
	return calc("mul", args, len, reply, cap, reply_len);
}

static int divide(IPCON_HANDLER h, const struct ipcon_msg *request, const void *args,
		  size_t len, void *reply, size_t cap, size_t *reply_len, void *data)
{
	(void)h;
	(void)request;
	(void)data;
	return calc("div", args, len, reply, cap, reply_len);
}

/* Sleeps ARG milliseconds, then answers "slept ARG" (and who asked). */
static int sleep_ms(IPCON_HANDLER h, const struct ipcon_msg *request, const void *args,
		    size_t len, void *reply, size_t cap, size_t *reply_len, void *data)
{
	char text[32];
	long ms;
	struct timespec ts;
	int n;

	(void)h;
	(void)data;
	if (len >= sizeof(text))
		return -EINVAL;
	memcpy(text, args, len);
	text[len] = '\0';
	ms = strtol(text, NULL, 10);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	n = snprintf(reply, cap, "slept %ld for uid %u", ms, (unsigned)request->uid);
	*reply_len = n < 0 ? 0 : (size_t)n;
	return IPCON_CALL_OK;
}

static const struct ipcon_method methods[] = {
	{ "add", "A B: their sum", add, NULL },
	{ "mul", "A B: their product", mul, NULL },
	{ "div", "A B: their quotient (fails on B = 0)", divide, NULL },
	{ "sleep", "MS: answers after MS milliseconds", sleep_ms, NULL },
};

static int serve(const char *name, long count)
{
	IPCON_HANDLER h = ipcon_create_handler(name, LIBIPCON_FLG_DEFAULT);
	long served = 0;
	int ret = 0;

	if (!h) {
		fprintf(stderr, "calc: create %s: %s\n", name, ipcon_strerror(errno));
		return 1;
	}
	printf("calc: serving %s\n", name);
	fflush(stdout);
	while (count < 0 || served < count) {
		ret = ipcon_serve(h, methods, (int)(sizeof(methods) / sizeof(methods[0])), -1);
		if (ret < 0) {
			fprintf(stderr, "calc: serve: %s\n", ipcon_strerror(ret));
			break;
		}
		served++;
	}
	ipcon_free_handler(h);
	return ret < 0;
}

static int call(const char *peer, const char *method, const char *arg, int timeout_ms)
{
	IPCON_HANDLER h = ipcon_create_handler(NULL, LIBIPCON_FLG_DEFAULT);
	char reply[LIBIPCON_MAX_PAYLOAD_LEN + 1];
	size_t len = 0;
	int ret;

	if (!h) {
		fprintf(stderr, "calc: create: %s\n", ipcon_strerror(errno));
		return 1;
	}
	ret = ipcon_call(h, peer, method, arg, strlen(arg), reply, sizeof(reply) - 1, &len,
			 timeout_ms);
	if (len > sizeof(reply) - 1)
		len = sizeof(reply) - 1;
	reply[len] = '\0';
	if (ret == 0)
		printf("calc: ok %zu: %s\n", len, reply);
	else
		printf("calc: error %d (%s): %s\n", ret, ipcon_strerror(ret), reply);
	ipcon_free_handler(h);
	return ret != 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "serve") == 0) {
		long count = -1;

		if (argc == 5 && strcmp(argv[3], "-n") == 0)
			count = strtol(argv[4], NULL, 10);
		return serve(argv[2], count);
	}
	if (argc >= 4 && strcmp(argv[1], "call") == 0)
		return call(argv[2], argv[3], argc > 4 ? argv[4] : "",
			    argc > 5 ? (int)strtol(argv[5], NULL, 10) : -1);
	fprintf(stderr, "usage: %s serve NAME [-n COUNT] | call PEER METHOD [ARG [TIMEOUT_MS]]\n",
		argv[0]);
	return 2;
}
