// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * A client of the ipcon family written only against what the kernel's YNL
 * tools make of kmod/ipcon.yaml: the C code `ynl_gen_c.py --mode user`
 * generates (ipcon-user.h/.c) and YNL's own library (ynl.c).  It calls every
 * request of the spec, do and dump, and receives every notification, in the
 * VM with the module loaded; `cargo xtask ynl` builds and judges it.
 * Packed deliveries too: peer-register's packed flag, and unicast and
 * multicast with a pack (an indexed array of pack-entry nests) instead of
 * payload.
 *
 * Output: "ok <what>" or "FAIL <what>: <why>" per check, then
 * "ynl-client: N passed, M failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>

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

/*
 * How many netlink messages the next datagram queued on @ys's socket holds,
 * -1 if none is queued or it does not parse.  YNL's receive API cannot
 * tell: ynl_ntf_check() reads every queued datagram and lines up the
 * messages of all of them as one list of notifications, with nothing that
 * says where a datagram ended.  So this peeks (MSG_PEEK, the datagram stays
 * queued for ynl_ntf_check()) at the socket YNL hands out with
 * ynl_socket_get_fd(), and walks the datagram's netlink headers.
 */
static int next_datagram_msgs(struct ynl_sock *ys)
{
	static unsigned char buf[2 * IPCON_MAX_DELIVERY_LEN];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	ssize_t len = recv(ynl_socket_get_fd(ys), buf, sizeof(buf),
			   MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	int rem, n = 0;

	if (len <= 0 || len > IPCON_MAX_DELIVERY_LEN)
		return -1;
	for (rem = len; NLMSG_OK(nlh, rem); nlh = NLMSG_NEXT(nlh, rem))
		n++;
	return rem ? -1 : n;
}

/* A pack of @n messages for a generated request's __..._set_pack(). */
static struct ipcon_pack_entry *make_pack(const char *const *payloads, unsigned int n)
{
	struct ipcon_pack_entry *pack = ipcon_pack_entry_alloc(n);
	unsigned int i;

	for (i = 0; i < n; i++)
		ipcon_pack_entry_set_payload(&pack[i], payloads[i], strlen(payloads[i]));
	return pack;
}

/*
 * Whether what is queued on @ys is exactly @n notifications @cmd (unicast-msg
 * or group-msg, of group @group), in order, with @payloads, each stamped
 * with the sender @name at @port and this process's pid and uid.
 */
static int pack_delivered(struct ynl_sock *ys, __u8 cmd, const char *const *payloads,
			  unsigned int n, const char *name, __u32 port, const char *group)
{
	struct ynl_ntf_base_type *ntf;
	unsigned int i = 0;
	int ok = ynl_ntf_check(ys) == 0;

	while ((ntf = ynl_ntf_dequeue(ys))) {
		/* unicast-msg and group-msg share the stamp and payload members */
		struct ipcon_unicast_msg_rsp *um = &((struct ipcon_unicast_msg *)ntf)->obj;
		struct ipcon_group_msg_rsp *gm = &((struct ipcon_group_msg *)ntf)->obj;
		size_t len = i < n ? strlen(payloads[i]) : 0;

		if (ntf->cmd != cmd || i >= n)
			ok = 0;
		else if (cmd == IPCON_CMD_UNICAST_MSG)
			ok = ok && um->_len.payload == len && !memcmp(um->payload, payloads[i], len) &&
			     um->peer_name && !strcmp(um->peer_name, name) && um->port == port &&
			     um->_present.pid && um->pid == (__u32)getpid() &&
			     um->_present.uid && um->uid == (__u32)getuid();
		else
			ok = ok && gm->_len.payload == len && !memcmp(gm->payload, payloads[i], len) &&
			     gm->peer_name && !strcmp(gm->peer_name, name) && gm->port == port &&
			     gm->_present.pid && gm->pid == (__u32)getpid() &&
			     gm->_present.uid && gm->uid == (__u32)getuid() &&
			     gm->group_name && !strcmp(gm->group_name, group) &&
			     !gm->_present.replayed;
		i++;
		ynl_ntf_free(ntf);
	}
	return ok && i == n;
}

static __u32 register_peer(struct ynl_sock *ys, const char *name, __u64 *cookie, int packed)
{
	struct ipcon_peer_register_req *req = ipcon_peer_register_req_alloc();
	struct ipcon_peer_register_rsp *rsp;
	__u32 port = 0;

	ipcon_peer_register_req_set_peer_name(req, name);
	if (packed)
		ipcon_peer_register_req_set_packed(req);
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
	a_port = register_peer(a_data, "ynl_a", &cookie, 0);
	check(a_port && cookie, "peer-register ynl_a", a_data);
	{
		struct ipcon_peer_attach_req *req = ipcon_peer_attach_req_alloc();

		ipcon_peer_attach_req_set_cookie(req, cookie);
		check(!ipcon_peer_attach(a_ctl, req), "peer-attach a's control socket", a_ctl);
		ipcon_peer_attach_req_free(req);
	}
	b_port = register_peer(b, "ynl_b", NULL, 1);
	check(b_port && b_port != a_port, "peer-register ynl_b, packed", b);

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
	/* peer-flags: packed for ynl_b, which registered packed, not for ynl_a */
	{
		static const char *const names[] = { "ynl_a", "ynl_b" };
		__u32 flags[2] = { ~0u, 0 };
		unsigned int i;

		for (i = 0; i < 2; i++) {
			struct ipcon_peer_get_req *req = ipcon_peer_get_req_alloc();
			struct ipcon_peer_get_rsp *rsp;

			ipcon_peer_get_req_set_peer_name(req, names[i]);
			rsp = ipcon_peer_get(a_ctl, req);
			if (rsp && rsp->_present.peer_flags)
				flags[i] = rsp->peer_flags;
			if (rsp)
				ipcon_peer_get_rsp_free(rsp);
			ipcon_peer_get_req_free(req);
		}
		check(!(flags[0] & IPCON_PEER_FLAGS_PACKED) && (flags[1] & IPCON_PEER_FLAGS_PACKED),
		      "peer-get: peer-flags packed for ynl_b, not for ynl_a", a_ctl);
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

	/*
	 * Packed deliveries.  A unicast with a pack of 3 to ynl_b, registered
	 * packed: three unicast-msg in order, in one datagram.
	 */
	{
		static const char *const payloads[] = { "first", "second!", "third msg" };
		struct ipcon_unicast_req *req = ipcon_unicast_req_alloc();

		ipcon_unicast_req_set_peer_name(req, "ynl_b");
		__ipcon_unicast_req_set_pack(req, make_pack(payloads, 3), 3);
		check(!ipcon_unicast(a_ctl, req), "unicast, pack of 3, to packed ynl_b", a_ctl);
		ipcon_unicast_req_free(req);
		/* the kernel queues the delivery before it ACKs the request */
		check(next_datagram_msgs(b) == 3,
		      "the pack of 3 came in one datagram of 3 unicast-msg", NULL);
		check(pack_delivered(b, IPCON_CMD_UNICAST_MSG, payloads, 3, "ynl_a", a_port, NULL),
		      "3 unicast-msg notifications in order, payloads, stamped ynl_a", b);
	}
	/* A sync multicast with a pack of 2 to news, ynl_b its one subscriber. */
	{
		static const char *const payloads[] = { "m2", "m3-last" };
		struct ipcon_multicast_req *req = ipcon_multicast_req_alloc();
		struct ipcon_multicast_rsp *rsp;

		ipcon_multicast_req_set_group_name(req, "news");
		__ipcon_multicast_req_set_pack(req, make_pack(payloads, 2), 2);
		ipcon_multicast_req_set_sync(req);
		rsp = ipcon_multicast(a_ctl, req);
		check(rsp && rsp->_present.delivered && rsp->delivered == 2 &&
		      rsp->_present.dropped && rsp->dropped == 0,
		      "sync multicast, pack of 2: delivered 2, dropped 0", a_ctl);
		if (rsp)
			ipcon_multicast_rsp_free(rsp);
		ipcon_multicast_req_free(req);
		check(next_datagram_msgs(b) == 2,
		      "the pack of 2 came to packed ynl_b in one datagram of 2 group-msg", NULL);
		check(pack_delivered(b, IPCON_CMD_GROUP_MSG, payloads, 2, "ynl_a", a_port, "news"),
		      "2 group-msg notifications on news in order, payloads, stamped ynl_a", b);
	}
	/* A unicast pack to ynl_a, registered without packed: EOPNOTSUPP. */
	{
		static const char *const payloads[] = { "x", "y" };
		struct ipcon_unicast_req *req = ipcon_unicast_req_alloc();

		ipcon_unicast_req_set_peer_name(req, "ynl_a");
		__ipcon_unicast_req_set_pack(req, make_pack(payloads, 2), 2);
		ok = ipcon_unicast(b, req);
		check(ok && b->err.code == EOPNOTSUPP &&
		      strstr(b->err.msg, "receiver did not register packed"),
		      "unicast pack to ynl_a (not packed): EOPNOTSUPP, extended ACK",
		      ok ? b : NULL);
		ipcon_unicast_req_free(req);
		check(next_datagram_msgs(a_data) == -1, "nothing delivered to ynl_a", NULL);
	}

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
