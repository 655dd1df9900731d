// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * A client of the ipcon family written only against what the kernel's YNL
 * tools make of kmod/ipcon.yaml: the C code `ynl_gen_c.py --mode user`
 * generates (ipcon-user.h/.c) and YNL's own library (ynl.c).  It calls every
 * request of the spec, do and dump, and receives every notification, in the
 * VM with the module loaded; `cargo xtask ynl` builds and judges it.
 *
 * Output: "ok <what>" or "FAIL <what>: <why>" per check, then
 * "ynl-client: N passed, M failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ynl.h"
#include "ipcon-user.h"

static int passed, failed;

static void check(int ok, const char *what, const struct ynl_sock *ys)
{
	if (ok) {
		passed++;
		printf("ok %s\n", what);
	} else {
		failed++;
		printf("FAIL %s: %s\n", what, ys && ys->err.msg[0] ? ys->err.msg : "wrong answer");
	}
}

static struct ynl_sock *open_socket(const char *what)
{
	struct ynl_error err;
	struct ynl_sock *ys = ynl_sock_create(&ynl_ipcon_family, &err);

	if (!ys) {
		printf("FAIL %s: ynl_sock_create: %s\n", what, err.msg);
		printf("ynl-client: %d passed, %d failed\n", passed, failed + 1);
		exit(1);
	}
	return ys;
}

/* The next parsed notification of @ys with command @cmd (others are dropped). */
static struct ynl_ntf_base_type *next_ntf(struct ynl_sock *ys, __u8 cmd)
{
	struct ynl_ntf_base_type *ntf;

	if (ynl_ntf_check(ys) < 0)
		return NULL;
	while ((ntf = ynl_ntf_dequeue(ys))) {
		if (ntf->cmd == cmd)
			return ntf;
		ynl_ntf_free(ntf);
	}
	return NULL;
}

static __u32 register_peer(struct ynl_sock *ys, const char *name, __u64 *cookie)
{
	struct ipcon_peer_register_req *req = ipcon_peer_register_req_alloc();
	struct ipcon_peer_register_rsp *rsp;
	__u32 port = 0;

	ipcon_peer_register_req_set_peer_name(req, name);
	rsp = ipcon_peer_register(ys, req);
	ipcon_peer_register_req_free(req);
	if (rsp && rsp->_present.port && rsp->_present.cookie && rsp->peer_name &&
	    !strcmp(rsp->peer_name, name)) {
		port = rsp->port;
		if (cookie)
			*cookie = rsp->cookie;
	}
	if (rsp)
		ipcon_peer_register_rsp_free(rsp);
	return port;
}

static size_t dump_peers(struct ynl_sock *ys, const char *name, __u32 port)
{
	struct ipcon_peer_get_req_dump *req = ipcon_peer_get_req_dump_alloc();
	struct ipcon_peer_get_list *list;
	size_t n = 0;

	if (name)
		ipcon_peer_get_req_dump_set_peer_name(req, name);
	if (port)
		ipcon_peer_get_req_dump_set_port(req, port);
	list = ipcon_peer_get_dump(ys, req);
	ipcon_peer_get_req_dump_free(req);
	if (!list)
		return (size_t)-1;
	ynl_dump_foreach(list, peer)
		n++;
	ipcon_peer_get_list_free(list);
	return n;
}

static size_t dump_groups(struct ynl_sock *ys, const char *owner, const char *group)
{
	struct ipcon_group_get_req_dump *req = ipcon_group_get_req_dump_alloc();
	struct ipcon_group_get_list *list;
	size_t n = 0;

	if (owner)
		ipcon_group_get_req_dump_set_peer_name(req, owner);
	if (group)
		ipcon_group_get_req_dump_set_group_name(req, group);
	list = ipcon_group_get_dump(ys, req);
	ipcon_group_get_req_dump_free(req);
	if (!list)
		return (size_t)-1;
	ynl_dump_foreach(list, g)
		n++;
	ipcon_group_get_list_free(list);
	return n;
}

int main(void)
{
	struct ynl_sock *a_data = open_socket("a's data socket");
	struct ynl_sock *a_ctl = open_socket("a's control socket");
	struct ynl_sock *b = open_socket("b's socket");
	struct ynl_sock *monitor = open_socket("monitor socket");
	struct ynl_ntf_base_type *ntf;
	__u32 a_port, b_port;
	__u64 cookie = 0;
	int ok;

	check(!ynl_subscribe(monitor, "kevent"), "subscribe to the kevent group", monitor);

	/* peer-register, peer-attach */
	a_port = register_peer(a_data, "ynl_a", &cookie);
	check(a_port && cookie, "peer-register ynl_a", a_data);
	{
		struct ipcon_peer_attach_req *req = ipcon_peer_attach_req_alloc();

		ipcon_peer_attach_req_set_cookie(req, cookie);
		check(!ipcon_peer_attach(a_ctl, req), "peer-attach a's control socket", a_ctl);
		ipcon_peer_attach_req_free(req);
	}
	b_port = register_peer(b, "ynl_b", NULL);
	check(b_port && b_port != a_port, "peer-register ynl_b", b);

	/* peer-get: do and dump, with and without filters */
	{
		struct ipcon_peer_get_req *req = ipcon_peer_get_req_alloc();
		struct ipcon_peer_get_rsp *rsp;

		ipcon_peer_get_req_set_peer_name(req, "ynl_a");
		rsp = ipcon_peer_get(b, req);
		check(rsp && rsp->_present.port && rsp->port == a_port,
		      "peer-get ynl_a", b);
		if (rsp)
			ipcon_peer_get_rsp_free(rsp);
		ipcon_peer_get_req_free(req);
		req = ipcon_peer_get_req_alloc();
		ipcon_peer_get_req_set_peer_name(req, "ynl_nobody");
		rsp = ipcon_peer_get(b, req);
		check(!rsp && b->err.code == ENOENT && strstr(b->err.msg, "no such peer"),
		      "peer-get of nobody: ENOENT, extended ACK", NULL);
		ipcon_peer_get_req_free(req);
	}
	check(dump_peers(b, NULL, 0) >= 2, "peer-get dump", b);
	check(dump_peers(b, "ynl_a", 0) == 1, "peer-get dump, peer-name filter", b);
	check(dump_peers(b, NULL, b_port) == 1, "peer-get dump, port filter", b);
	check(dump_peers(b, "ynl_a", b_port) == 0, "peer-get dump, both filters", b);

	/* group-register, group-get, group-join */
	{
		struct ipcon_group_register_req *req = ipcon_group_register_req_alloc();

		ipcon_group_register_req_set_group_name(req, "news");
		ipcon_group_register_req_set_access(req, IPCON_GROUP_ACCESS_OPEN);
		check(!ipcon_group_register(a_ctl, req), "group-register news", a_ctl);
		ipcon_group_register_req_free(req);
	}
	{
		struct ipcon_group_get_req *req = ipcon_group_get_req_alloc();
		struct ipcon_group_get_rsp *rsp;

		ipcon_group_get_req_set_peer_name(req, "ynl_a");
		ipcon_group_get_req_set_group_name(req, "news");
		rsp = ipcon_group_get(b, req);
		check(rsp && rsp->_present.port && rsp->port == a_port &&
		      rsp->access == IPCON_GROUP_ACCESS_OPEN, "group-get ynl_a/news", b);
		if (rsp)
			ipcon_group_get_rsp_free(rsp);
		ipcon_group_get_req_free(req);
	}
	check(dump_groups(b, NULL, "news") == 1, "group-get dump, group-name filter", b);
	check(dump_groups(b, "ynl_b", NULL) == 0, "group-get dump, peer-name filter", b);
	{
		struct ipcon_group_join_req *req = ipcon_group_join_req_alloc();

		ipcon_group_join_req_set_peer_name(req, "ynl_a");
		ipcon_group_join_req_set_group_name(req, "news");
		ipcon_group_join_req_set_rcv_last_msg(req);
		check(!ipcon_group_join(b, req), "group-join ynl_a/news", b);
		ipcon_group_join_req_free(req);
	}

	/* unicast and its unicast-msg notification */
	{
		struct ipcon_unicast_req *req = ipcon_unicast_req_alloc();

		ipcon_unicast_req_set_peer_name(req, "ynl_b");
		ipcon_unicast_req_set_payload(req, "hello", 5);
		check(!ipcon_unicast(a_ctl, req), "unicast to ynl_b", a_ctl);
		ipcon_unicast_req_free(req);
	}
	ntf = next_ntf(b, IPCON_CMD_UNICAST_MSG);
	if (ntf) {
		struct ipcon_unicast_msg *msg = (struct ipcon_unicast_msg *)ntf;

		ok = msg->obj._len.payload == 5 && !memcmp(msg->obj.payload, "hello", 5) &&
		     msg->obj.port == a_port && msg->obj.peer_name &&
		     !strcmp(msg->obj.peer_name, "ynl_a");
		ynl_ntf_free(ntf);
	} else {
		ok = 0;
	}
	check(ok, "unicast-msg notification, stamped ynl_a", b);

	/* multicast (sync) and its group-msg notification */
	{
		struct ipcon_multicast_req *req = ipcon_multicast_req_alloc();
		struct ipcon_multicast_rsp *rsp;

		ipcon_multicast_req_set_group_name(req, "news");
		ipcon_multicast_req_set_payload(req, "m1", 2);
		ipcon_multicast_req_set_sync(req);
		rsp = ipcon_multicast(a_ctl, req);
		check(rsp && rsp->_present.delivered && rsp->delivered == 1 &&
		      rsp->dropped == 0, "sync multicast: delivered 1, dropped 0", a_ctl);
		if (rsp)
			ipcon_multicast_rsp_free(rsp);
		ipcon_multicast_req_free(req);
	}
	ntf = next_ntf(b, IPCON_CMD_GROUP_MSG);
	if (ntf) {
		struct ipcon_group_msg *msg = (struct ipcon_group_msg *)ntf;

		ok = msg->obj._len.payload == 2 && !memcmp(msg->obj.payload, "m1", 2) &&
		     msg->obj.group_name && !strcmp(msg->obj.group_name, "news");
		ynl_ntf_free(ntf);
	} else {
		ok = 0;
	}
	check(ok, "group-msg notification on news", b);

	/* a posted unicast that fails: send-failed to a's data socket */
	{
		struct ipcon_unicast_req *req = ipcon_unicast_req_alloc();

		ipcon_unicast_req_set_peer_name(req, "ynl_nobody");
		ipcon_unicast_req_set_payload(req, "x", 1);
		ipcon_unicast_req_set_ticket(req, 7);
		check(!ipcon_unicast(a_ctl, req), "posted unicast to nobody is accepted", a_ctl);
		ipcon_unicast_req_free(req);
	}
	ntf = next_ntf(a_data, IPCON_CMD_SEND_FAILED);
	if (ntf) {
		struct ipcon_send_failed *sf = (struct ipcon_send_failed *)ntf;

		ok = sf->obj._present.ticket && sf->obj.ticket == 7 &&
		     sf->obj.error == ENOENT;
		ynl_ntf_free(ntf);
	} else {
		ok = 0;
	}
	check(ok, "send-failed notification: ticket 7, ENOENT", a_data);

	/* group-leave, group-unregister, peer-unregister */
	{
		struct ipcon_group_leave_req *req = ipcon_group_leave_req_alloc();

		ipcon_group_leave_req_set_peer_name(req, "ynl_a");
		ipcon_group_leave_req_set_group_name(req, "news");
		check(!ipcon_group_leave(b, req), "group-leave ynl_a/news", b);
		ipcon_group_leave_req_free(req);
	}
	{
		struct ipcon_group_unregister_req *req = ipcon_group_unregister_req_alloc();

		ipcon_group_unregister_req_set_group_name(req, "news");
		check(!ipcon_group_unregister(a_ctl, req), "group-unregister news", a_ctl);
		ipcon_group_unregister_req_free(req);
	}
	check(!ipcon_peer_unregister(b), "peer-unregister ynl_b", b);

	/* kevent notifications on the monitor, in order */
	{
		static const int want[] = {
			IPCON_KEVENT_TYPE_PEER_ADD, IPCON_KEVENT_TYPE_PEER_ADD,
			IPCON_KEVENT_TYPE_GROUP_ADD, IPCON_KEVENT_TYPE_GROUP_REMOVE,
			IPCON_KEVENT_TYPE_PEER_REMOVE,
		};
		unsigned int i = 0;
		__u64 seq = 0;

		ok = 1;
		while (ok && i < sizeof(want) / sizeof(want[0]) &&
		       (ntf = next_ntf(monitor, IPCON_CMD_KEVENT))) {
			struct ipcon_kevent *ev = (struct ipcon_kevent *)ntf;

			ok = (int)ev->obj.kevent_type == want[i] &&
			     (!seq || ev->obj.kevent_seq == seq + 1);
			seq = ev->obj.kevent_seq;
			i++;
			ynl_ntf_free(ntf);
		}
		check(ok && i == sizeof(want) / sizeof(want[0]),
		      "kevent notifications: peer-add x2, group-add, group-remove, peer-remove",
		      monitor);
	}

	ynl_sock_destroy(monitor);
	ynl_sock_destroy(b);
	ynl_sock_destroy(a_ctl);
	ynl_sock_destroy(a_data);
	printf("ynl-client: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
