// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon-smoke: a self-checking smoke test of the ipcon kernel module over raw
 * generic netlink sockets (no library), for bring-up in a VM.
 *
 *   ipcon-smoke            run every check; exit status 0 when all pass
 *   ipcon-smoke hold       register peers, a group and a membership, print
 *                          "holding" and sleep (to unload the module under it)
 *   ipcon-smoke churn N    N rounds of a peer with everything it can own,
 *                          then closed (a leak probe)
 *   ipcon-smoke stress N [unload]
 *                          N seconds of concurrent publishers, subscribers
 *                          joining and leaving, unicast into full queues, peer
 *                          churn, dumps and a kernel event listener; exits 0
 *                          when no invariant broke.  With "unload" the module
 *                          is expected to go away meanwhile: workers stop on
 *                          the errors that follow from that
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "../uapi/ipcon.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define BUF_SIZE 16384
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int failures, checks;
static uint16_t family_id;
static uint32_t kevent_grp;
static uint32_t seq_no = 1;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

struct sock {
	int fd;
	uint32_t port;
};

static struct sock nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(sa);
	struct sock s;
	int one = 1;

	s.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s.fd < 0)
		die("socket");
	if (bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind");
	if (getsockname(s.fd, (struct sockaddr *)&sa, &len))
		die("getsockname");
	s.port = sa.nl_pid;
	setsockopt(s.fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(s.fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return s;
}

/* A request being built. */
struct req {
	union {
		struct nlmsghdr nlh;
		char buf[4096];
	};
};

static void req_init(struct req *r, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct genlmsghdr *g;

	memset(r, 0, sizeof(*r));
	r->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->nlh.nlmsg_type = type;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	r->nlh.nlmsg_seq = seq_no++;
	g = NLMSG_DATA(&r->nlh);
	g->cmd = cmd;
	g->version = IPCON_FAMILY_VERSION;
}

static void req_put(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(r->buf + NLMSG_ALIGN(r->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nlh.nlmsg_len = NLMSG_ALIGN(r->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void req_str(struct req *r, uint16_t type, const char *s)
{
	req_put(r, type, s, strlen(s) + 1);
}

static void req_u32(struct req *r, uint16_t type, uint32_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static void req_send(struct sock *s, struct req *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(s->fd, r->buf, r->nlh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		die("sendto");
}

/* A received message: its header and its attributes by type. */
struct msg {
	char buf[BUF_SIZE];
	struct nlmsghdr *nlh;
	uint8_t cmd;
	struct nlattr *tb[IPCON_A_MAX + 1];
	int error;		/* NLMSG_ERROR: 0 or -errno */
	char extack[256];
	int is_ack;
};

static void parse_attrs(struct nlattr **tb, int max, void *start, int len)
{
	struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	for (a = start; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	     a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len),
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
	}
}

#define ATTR_DATA(a) ((void *)((char *)(a) + NLA_HDRLEN))
#define ATTR_LEN(a) ((int)(a)->nla_len - NLA_HDRLEN)

static uint32_t attr_u32(struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, ATTR_DATA(a), 4);
	return v;
}

static uint64_t attr_u64(struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, ATTR_DATA(a), 8);
	return v;
}

/*
 * Receive one netlink message; 0 on timeout.  A datagram may carry several
 * messages (dumps): the rest of it is kept per socket for the next call.
 */
struct pending {
	int fd;
	char buf[BUF_SIZE];
	int off, len;
};

static struct pending pending[16];

static struct pending *pending_of(int fd)
{
	int i;

	for (i = 0; i < 16; i++)
		if (pending[i].fd == fd && pending[i].len)
			return &pending[i];
	return NULL;
}

static void sock_close(struct sock *s)
{
	struct pending *p;

	while ((p = pending_of(s->fd)))
		p->len = 0;
	close(s->fd);
	s->fd = -1;
}

static int recv_msg(struct sock *s, struct msg *m, int timeout_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	struct pending *p = pending_of(s->fd);
	struct nlmsghdr *nlh;
	ssize_t n;
	int i;

	memset(m->tb, 0, sizeof(m->tb));
	m->is_ack = 0;
	m->error = 0;
	m->extack[0] = 0;
	if (!p) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		for (i = 0; i < 16 && pending[i].len; i++)
			;
		if (i == 16)
			die("pending");
		p = &pending[i];
		n = recv(s->fd, p->buf, sizeof(p->buf), 0);
		if (n < 0)
			return -errno;
		p->fd = s->fd;
		p->off = 0;
		p->len = n;
	}
	nlh = (struct nlmsghdr *)(p->buf + p->off);
	if (p->len - p->off < (int)NLMSG_HDRLEN ||
	    nlh->nlmsg_len > (unsigned int)(p->len - p->off))
		die("truncated netlink message");
	memcpy(m->buf, nlh, nlh->nlmsg_len);
	p->off += NLMSG_ALIGN(nlh->nlmsg_len);
	if (p->off >= p->len)
		p->len = 0;
	m->nlh = (struct nlmsghdr *)m->buf;
	if (m->nlh->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(m->nlh);
		struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
		int hlen = NLMSG_HDRLEN + sizeof(*e);

		m->is_ack = 1;
		m->error = e->error;
		if (!(m->nlh->nlmsg_flags & NLM_F_CAPPED))
			hlen += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
		if ((int)m->nlh->nlmsg_len > hlen) {
			parse_attrs(tb, NLMSGERR_ATTR_MAX, m->buf + hlen,
				    m->nlh->nlmsg_len - hlen);
			if (tb[NLMSGERR_ATTR_MSG])
				snprintf(m->extack, sizeof(m->extack), "%s",
					 (char *)ATTR_DATA(tb[NLMSGERR_ATTR_MSG]));
		}
		return 1;
	}
	if (m->nlh->nlmsg_type == NLMSG_DONE)
		return 1;
	m->cmd = ((struct genlmsghdr *)NLMSG_DATA(m->nlh))->cmd;
	parse_attrs(m->tb, IPCON_A_MAX,
		    (char *)NLMSG_DATA(m->nlh) + GENL_HDRLEN,
		    m->nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
	return 1;
}

/*
 * Send @r with NLM_F_ACK and wait for its ACK; a reply message before it is
 * kept in @reply (if given).  Returns the ACK's error (0 or -errno).
 */
static int transact(struct sock *s, struct req *r, struct msg *reply,
		    char *extack)
{
	static struct msg m;
	uint32_t seq = r->nlh.nlmsg_seq;

	r->nlh.nlmsg_flags |= NLM_F_ACK;
	req_send(s, r);
	for (;;) {
		if (recv_msg(s, &m, 2000) <= 0) {
			fprintf(stderr, "no ACK for seq %u\n", seq);
			return -ETIMEDOUT;
		}
		if (m.nlh->nlmsg_seq != seq)
			continue;	/* a delivery on a shared socket */
		if (m.is_ack) {
			if (extack)
				strcpy(extack, m.extack);
			return m.error;
		}
		if (reply) {
			/* Copy, then re-point the header and attributes. */
			memcpy(reply, &m, sizeof(m));
			reply->nlh = (struct nlmsghdr *)reply->buf;
			parse_attrs(reply->tb, IPCON_A_MAX,
				    (char *)NLMSG_DATA(reply->nlh) + GENL_HDRLEN,
				    reply->nlh->nlmsg_len -
				    NLMSG_LENGTH(GENL_HDRLEN));
		}
	}
}

static void resolve_family(void)
{
	struct sock s = nl_open();
	struct nlattr *a, *grp;
	static struct msg m;
	struct req r;
	int rem;

	req_init(&r, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	((struct genlmsghdr *)NLMSG_DATA(&r.nlh))->version = 1;
	req_str(&r, CTRL_ATTR_FAMILY_NAME, IPCON_FAMILY_NAME);
	req_send(&s, &r);
	if (recv_msg(&s, &m, 2000) <= 0 || m.is_ack) {
		fprintf(stderr, "family %s not found (module loaded?)\n",
			IPCON_FAMILY_NAME);
		exit(2);
	}
	parse_attrs(m.tb, IPCON_A_MAX, (char *)NLMSG_DATA(m.nlh) + GENL_HDRLEN,
		    m.nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
	family_id = *(uint16_t *)ATTR_DATA(m.tb[CTRL_ATTR_FAMILY_ID]);
	grp = m.tb[CTRL_ATTR_MCAST_GROUPS];
	for (a = ATTR_DATA(grp), rem = ATTR_LEN(grp); rem >= NLA_HDRLEN;
	     rem -= NLA_ALIGN(a->nla_len),
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1];

		parse_attrs(tb, CTRL_ATTR_MCAST_GRP_MAX, ATTR_DATA(a), ATTR_LEN(a));
		if (tb[CTRL_ATTR_MCAST_GRP_NAME] &&
		    !strcmp(ATTR_DATA(tb[CTRL_ATTR_MCAST_GRP_NAME]),
			    IPCON_MCGRP_KEVENT))
			kevent_grp = attr_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	close(s.fd);
	check(family_id && kevent_grp, "resolved family id %u, kevent group %u",
	      family_id, kevent_grp);
}

/* peer-register on @s; returns the errno, stores the cookie. */
static int peer_register(struct sock *s, const char *name, uint64_t *cookie,
			 char *extack)
{
	static struct msg reply;
	struct req r;
	int err;

	req_init(&r, family_id, IPCON_CMD_PEER_REGISTER, 0);
	if (name)
		req_str(&r, IPCON_A_PEER_NAME, name);
	memset(reply.tb, 0, sizeof(reply.tb));
	err = transact(s, &r, &reply, extack);
	if (!err && cookie) {
		*cookie = reply.tb[IPCON_A_COOKIE] ? attr_u64(reply.tb[IPCON_A_COOKIE]) : 0;
		if (!reply.tb[IPCON_A_PORT] || attr_u32(reply.tb[IPCON_A_PORT]) != s->port)
			return -EBADMSG;
	}
	return err;
}

static int simple(struct sock *s, uint8_t cmd, const char *peer,
		  const char *group, char *extack)
{
	struct req r;

	req_init(&r, family_id, cmd, 0);
	if (peer)
		req_str(&r, IPCON_A_PEER_NAME, peer);
	if (group)
		req_str(&r, IPCON_A_GROUP_NAME, group);
	return transact(s, &r, NULL, extack);
}

static int unicast(struct sock *s, const char *to, const void *p, size_t len,
		   char *extack)
{
	struct req r;

	req_init(&r, family_id, IPCON_CMD_UNICAST, 0);
	req_str(&r, IPCON_A_PEER_NAME, to);
	req_put(&r, IPCON_A_PAYLOAD, p, len);
	return transact(s, &r, NULL, extack);
}

/* Multicast; with @sync, fills @delivered/@dropped from the reply. */
static int multicast(struct sock *s, const char *group, const void *p,
		     size_t len, int sync, uint32_t *delivered, uint32_t *dropped)
{
	static struct msg reply;
	struct req r;
	int err;

	req_init(&r, family_id, IPCON_CMD_MULTICAST, 0);
	req_str(&r, IPCON_A_GROUP_NAME, group);
	req_put(&r, IPCON_A_PAYLOAD, p, len);
	if (sync)
		req_put(&r, IPCON_A_SYNC, NULL, 0);
	memset(reply.tb, 0, sizeof(reply.tb));
	err = transact(s, &r, &reply, NULL);
	if (!err && sync) {
		if (!reply.tb[IPCON_A_DELIVERED] || !reply.tb[IPCON_A_DROPPED])
			return -EBADMSG;
		*delivered = attr_u32(reply.tb[IPCON_A_DELIVERED]);
		*dropped = attr_u32(reply.tb[IPCON_A_DROPPED]);
	}
	return err;
}

static int payload_is(struct msg *m, const char *s)
{
	struct nlattr *a = m->tb[IPCON_A_PAYLOAD];

	return a && ATTR_LEN(a) == (int)strlen(s) && !memcmp(ATTR_DATA(a), s, strlen(s));
}

static int str_attr_is(struct msg *m, int type, const char *s)
{
	return m->tb[type] && !strcmp(ATTR_DATA(m->tb[type]), s);
}

/* Count the messages a dump returns. */
static int dump_count(struct sock *s, uint8_t cmd, const char *owner)
{
	static struct msg m;
	struct req r;
	int n = 0;

	req_init(&r, family_id, cmd, NLM_F_DUMP);
	if (owner)
		req_str(&r, IPCON_A_PEER_NAME, owner);
	req_send(s, &r);
	while (recv_msg(s, &m, 2000) > 0) {
		if (m.is_ack)
			return m.error ? m.error : -EBADMSG;
		if (m.nlh->nlmsg_type == NLMSG_DONE)
			return n;
		n++;
	}
	return -ETIMEDOUT;
}

static void set_rcvbuf(struct sock *s, int size)
{
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static void no_enobufs(struct sock *s)
{
	int one = 1;

	setsockopt(s->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
}

static int drain(struct sock *s)
{
	static struct msg m;
	int n = 0;

	while (recv_msg(s, &m, 100) > 0)
		n++;
	return n;
}

/* Kernel events seen by the listener, checked at the end. */
struct kev {
	uint32_t type, reason;
	uint64_t seq;
	char peer[IPCON_MAX_NAME_LEN], group[IPCON_MAX_NAME_LEN];
};

static int read_kevents(struct sock *k, struct kev *out, int max)
{
	static struct msg m;
	int n = 0;

	while (n < max && recv_msg(k, &m, 200) > 0) {
		if (m.is_ack || m.cmd != IPCON_CMD_KEVENT)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = m.tb[IPCON_A_KEVENT_TYPE] ? attr_u32(m.tb[IPCON_A_KEVENT_TYPE]) : 0;
		out[n].seq = m.tb[IPCON_A_KEVENT_SEQ] ? attr_u64(m.tb[IPCON_A_KEVENT_SEQ]) : 0;
		out[n].reason = m.tb[IPCON_A_REASON] ? attr_u32(m.tb[IPCON_A_REASON]) : 0;
		if (m.tb[IPCON_A_PEER_NAME])
			snprintf(out[n].peer, sizeof(out[n].peer), "%s",
				 (char *)ATTR_DATA(m.tb[IPCON_A_PEER_NAME]));
		if (m.tb[IPCON_A_GROUP_NAME])
			snprintf(out[n].group, sizeof(out[n].group), "%s",
				 (char *)ATTR_DATA(m.tb[IPCON_A_GROUP_NAME]));
		n++;
	}
	return n;
}

/* Attach @ctrl to the peer registered on @data (the two-socket shape). */
static int attach(struct sock *data, struct sock *ctrl, const char *name)
{
	uint64_t cookie;
	struct req r;
	int err;

	err = peer_register(data, name, &cookie, NULL);
	if (err)
		return err;
	req_init(&r, family_id, IPCON_CMD_PEER_ATTACH, 0);
	req_put(&r, IPCON_A_COOKIE, &cookie, sizeof(cookie));
	return transact(ctrl, &r, NULL, NULL);
}

/*
 * Two owners publish concurrently to one slow subscriber: every drop must be
 * reported exactly once, summed over all the deliveries it receives (the last
 * one a unicast to itself, which reports whatever is left).
 */
static void check_concurrent_missed(void)
{
	uint32_t delivered, dropped, total = 0, reported = 0, part;
	struct sock sub = nl_open(), ctl = nl_open();
	static struct msg m;
	int ready[2], go[2], result[2];
	char buf[1000], c;
	int i, k, err, ok = 1;
	pid_t pids[2];

	if (pipe(ready) || pipe(go) || pipe(result))
		die("pipe");
	no_enobufs(&sub);
	if (attach(&sub, &ctl, "slowsub"))
		die("register slowsub");
	memset(buf, 'c', sizeof(buf));
	for (k = 0; k < 2; k++) {
		fflush(stdout);
		pids[k] = fork();
		if (pids[k] < 0)
			die("fork");
		if (!pids[k]) {
			struct sock own = nl_open();
			char name[8];

			snprintf(name, sizeof(name), "pub%d", k);
			if (peer_register(&own, name, NULL, NULL) ||
			    simple(&own, IPCON_CMD_GROUP_REGISTER, NULL, "cg", NULL))
				_exit(1);
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(1);
			part = 0;
			for (i = 0; i < 150; i++) {
				if (multicast(&own, "cg", buf, sizeof(buf), 1,
					      &delivered, &dropped))
					_exit(1);
				part += dropped;
			}
			if (write(result[1], &part, sizeof(part)) != sizeof(part))
				_exit(1);
			_exit(0);
		}
	}
	for (k = 0; k < 2; k++)
		if (read(ready[0], &c, 1) != 1)
			ok = 0;
	ok = ok && !simple(&ctl, IPCON_CMD_GROUP_JOIN, "pub0", "cg", NULL) &&
	     !simple(&ctl, IPCON_CMD_GROUP_JOIN, "pub1", "cg", NULL);
	set_rcvbuf(&sub, 4096);
	if (write(go[1], "gg", 2) != 2)
		ok = 0;
	for (k = 0; k < 2; k++) {
		if (read(result[0], &part, sizeof(part)) != sizeof(part))
			ok = 0;
		else
			total += part;
	}
	for (k = 0; k < 2; k++) {
		int status;

		waitpid(pids[k], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
	}
	set_rcvbuf(&sub, 1 << 20);
	while (recv_msg(&sub, &m, 100) > 0)
		if (m.tb[IPCON_A_MISSED])
			reported += attr_u32(m.tb[IPCON_A_MISSED]);
	/* The data socket only receives: the ACK goes to the control socket. */
	err = unicast(&ctl, "slowsub", "last", 4, NULL);
	while (!err && recv_msg(&sub, &m, 500) > 0)
		if (m.tb[IPCON_A_MISSED])
			reported += attr_u32(m.tb[IPCON_A_MISSED]);
	check(ok && !err && total > 0 && reported == total,
	      "two concurrent publishers: %u drops, %u reported missed", total,
	      reported);
	sock_close(&ctl);
	sock_close(&sub);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(result[0]);
	close(result[1]);
}

static int hold(void)
{
	struct sock a = nl_open(), b = nl_open(), c = nl_open();
	uint64_t cookie;
	struct req r;

	resolve_family();
	if (peer_register(&a, "holder", &cookie, NULL) ||
	    peer_register(&b, "holder-sub", NULL, NULL))
		return 2;
	req_init(&r, family_id, IPCON_CMD_PEER_ATTACH, 0);
	req_put(&r, IPCON_A_COOKIE, &cookie, sizeof(cookie));
	if (transact(&c, &r, NULL, NULL) ||
	    simple(&c, IPCON_CMD_GROUP_REGISTER, NULL, "held", NULL) ||
	    simple(&b, IPCON_CMD_GROUP_JOIN, "holder", "held", NULL) ||
	    multicast(&c, "held", "x", 1, 0, NULL, NULL))
		return 2;
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}

static time_t deadline;

static int running(void)
{
	return time(NULL) < deadline;
}

/*
 * A request failing with these means the family is gone (module unloaded):
 * ENOENT for an unknown family id, EPROTONOSUPPORT for a dump started while
 * the module is going away.
 */
static int unloading;

static int family_gone(int err)
{
	if (err == -ETIMEDOUT || err == -ENOENT || err == -EOPNOTSUPP ||
	    err == -EPROTONOSUPPORT)
		return 1;
	/*
	 * The module stops watching socket releases before it unregisters the
	 * family: a peer closed in between stays registered until the module
	 * frees everything, so its port or name is refused meanwhile.
	 */
	return unloading && (err == -EALREADY || err == -EEXIST);
}

static int stress_publisher(void)
{
	struct sock s = nl_open();
	uint32_t delivered, dropped;
	char buf[512];
	long sent = 0;
	int err;

	if (peer_register(&s, "pub", NULL, NULL) ||
	    simple(&s, IPCON_CMD_GROUP_REGISTER, NULL, "g1", NULL) ||
	    simple(&s, IPCON_CMD_GROUP_REGISTER, NULL, "g2", NULL))
		return 1;
	memset(buf, 'p', sizeof(buf));
	while (running()) {
		err = multicast(&s, sent & 1 ? "g1" : "g2", buf,
				sent % sizeof(buf), sent % 3 == 0,
				&delivered, &dropped);
		if (err) {
			printf("stress: publisher: error %d\n", err);
			return family_gone(err) ? 0 : 1;
		}
		sent++;
	}
	printf("stress: publisher sent %ld\n", sent);
	return 0;
}

static int stress_subscriber(int id)
{
	static struct msg m;
	long rounds = 0, got = 0;
	int err, i;

	while (running()) {
		struct sock data = nl_open(), ctrl = nl_open();
		const char *group = rounds & 1 ? "g1" : "g2";

		no_enobufs(&data);
		if (id & 1)
			set_rcvbuf(&data, 2048);	/* overruns: missed counts */
		err = attach(&data, &ctrl, NULL);
		if (!err)
			err = simple(&ctrl, IPCON_CMD_GROUP_JOIN, "pub", group, NULL);
		if (err && err != -ENOENT) {
			printf("stress: subscriber %d: error %d\n", id, err);
			return family_gone(err) ? 0 : 1;
		}
		for (i = 0; i < 20 && recv_msg(&data, &m, 5) > 0; i++)
			got++;
		if (rounds % 3 == 0)
			simple(&ctrl, IPCON_CMD_GROUP_LEAVE, "pub", group, NULL);
		if (rounds % 2 == 0) {
			struct req r;

			req_init(&r, family_id, IPCON_CMD_PEER_UNREGISTER, 0);
			transact(&ctrl, &r, NULL, NULL);
		}
		/* Alternate which socket closes first: either ends the peer. */
		if (rounds & 2) {
			sock_close(&ctrl);
			sock_close(&data);
		} else {
			sock_close(&data);
			sock_close(&ctrl);
		}
		rounds++;
	}
	printf("stress: subscriber %d: %ld rounds, %ld messages\n", id, rounds, got);
	return 0;
}

static int stress_unicast(void)
{
	struct sock a = nl_open(), b = nl_open();
	long ok = 0, full = 0;
	static struct msg m;
	int err = 0;

	set_rcvbuf(&b, 4096);
	if (peer_register(&a, "ua", NULL, NULL) || peer_register(&b, "ub", NULL, NULL))
		return 1;
	while (running()) {
		err = unicast(&a, "ub", "0123456789", 10, NULL);
		if (!err)
			ok++;
		else if (err == -EAGAIN)
			full++;
		else
			break;
		if (full && full % 16 == 0)
			drain(&b);
		if ((ok + full) % 5 == 0)
			recv_msg(&b, &m, 0);
	}
	printf("stress: unicast %ld queued, %ld EAGAIN\n", ok, full);
	if (running() && !family_gone(err)) {
		printf("stress: unicast: error %d\n", err);
		return 1;
	}
	return 0;
}

static int stress_churn(void)
{
	long rounds = 0;
	char name[IPCON_MAX_NAME_LEN];
	int err;

	while (running()) {
		struct sock s = nl_open();

		snprintf(name, sizeof(name), "churn%ld", rounds % 4);
		err = peer_register(&s, name, NULL, NULL);
		if (err && err != -EEXIST) {
			sock_close(&s);
			printf("stress: churn: error %d\n", err);
			return family_gone(err) ? 0 : 1;
		}
		if (!err)
			simple(&s, IPCON_CMD_GROUP_REGISTER, NULL, "cg", NULL);
		sock_close(&s);
		rounds++;
	}
	printf("stress: churn %ld rounds\n", rounds);
	return 0;
}

static int stress_dumper(void)
{
	struct sock s = nl_open();
	long rounds = 0;
	int n;

	while (running()) {
		n = dump_count(&s, rounds & 1 ? IPCON_CMD_GROUP_GET : IPCON_CMD_PEER_GET,
			       NULL);
		if (n < 0) {
			printf("stress: dump: error %d\n", n);
			return family_gone(n) ? 0 : 1;
		}
		rounds++;
	}
	printf("stress: %ld dumps\n", rounds);
	return 0;
}

/* Kernel events must arrive with strictly increasing kevent-seq. */
static int stress_listener(void)
{
	struct sock k = nl_open();
	static struct kev kev[64];
	uint64_t last = 0;
	long total = 0;
	int n, i;

	no_enobufs(&k);
	if (setsockopt(k.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &kevent_grp,
		       sizeof(kevent_grp)))
		return 1;
	while (running()) {
		n = read_kevents(&k, kev, 64);
		for (i = 0; i < n; i++) {
			if (kev[i].seq <= last) {
				printf("stress: kevent-seq %llu after %llu\n",
				       (unsigned long long)kev[i].seq,
				       (unsigned long long)last);
				return 1;
			}
			last = kev[i].seq;
		}
		total += n;
	}
	printf("stress: %ld kernel events, last seq %llu\n", total,
	       (unsigned long long)last);
	return 0;
}

/*
 * Leak probe: @n times a peer with a control socket, a group with a cached
 * message, a membership and a unicast, then both sockets closed.
 */
static int leak_probe(int n)
{
	static struct msg m;
	char name[IPCON_MAX_NAME_LEN];
	int i, err;

	resolve_family();
	for (i = 0; i < n; i++) {
		struct sock data = nl_open(), ctrl = nl_open();

		snprintf(name, sizeof(name), "leak%d", i % 8);
		err = attach(&data, &ctrl, name);
		if (!err)
			err = simple(&ctrl, IPCON_CMD_GROUP_REGISTER, NULL, "lg", NULL);
		if (!err)
			err = simple(&ctrl, IPCON_CMD_GROUP_JOIN, name, "lg", NULL);
		if (!err)
			err = multicast(&ctrl, "lg", "cached", 6, 0, NULL, NULL);
		if (!err)
			err = unicast(&ctrl, name, "self", 4, NULL);
		if (err) {
			printf("churn: round %d: error %d\n", i, err);
			return 1;
		}
		while (recv_msg(&data, &m, 0) > 0)
			;
		sock_close(i & 1 ? &data : &ctrl);
		sock_close(i & 1 ? &ctrl : &data);
	}
	printf("churn: %d rounds\n", n);
	return 0;
}

static int stress_run(int seconds)
{
	int (*const workers[])(void) = {
		stress_publisher, stress_unicast, stress_churn, stress_dumper,
		stress_listener,
	};
	int i, status, failed = 0, n = 0;
	pid_t pid;

	resolve_family();
	deadline = time(NULL) + seconds;
	for (i = 0; i < (int)ARRAY_SIZE(workers) + 4; i++) {
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			if (i < (int)ARRAY_SIZE(workers))
				exit(workers[i]());
			usleep(100000);	/* let the publisher register */
			exit(stress_subscriber(i));
		}
		n++;
	}
	while (n-- > 0) {
		pid = wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("stress: worker %d failed (status %#x)\n", pid, status);
			failed = 1;
		}
	}
	printf("%s\n", failed ? "STRESS FAILED" : "STRESS OK");
	return failed;
}

int main(int argc, char **argv)
{
	struct sock k, a_data, a_ctrl, b, c, stranger, a2;
	static struct msg m;
	static struct kev kev[256];
	char extack[256], big[2048];
	uint64_t cookie = 0, seq;
	uint32_t delivered = 0, dropped = 0, total_dropped = 0;
	int err, n, i, ok;
	struct req r;

	if (argc > 1 && !strcmp(argv[1], "hold"))
		return hold();
	if (argc > 2 && !strcmp(argv[1], "churn"))
		return leak_probe(atoi(argv[2]));
	if (argc > 2 && !strcmp(argv[1], "stress")) {
		unloading = argc > 3 && !strcmp(argv[3], "unload");
		return stress_run(atoi(argv[2]));
	}

	resolve_family();

	/* Kernel event listener first, so it sees everything below. */
	k = nl_open();
	set_rcvbuf(&k, 1 << 20);
	if (setsockopt(k.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &kevent_grp,
		       sizeof(kevent_grp)))
		die("NETLINK_ADD_MEMBERSHIP");

	/* Peer alpha: a data socket and an attached control socket. */
	a_data = nl_open();
	a_ctrl = nl_open();
	no_enobufs(&a_data);
	err = peer_register(&a_data, "alpha", &cookie, NULL);
	check(!err && cookie, "register alpha (err %d, cookie %s)", err,
	      cookie ? "set" : "missing");
	req_init(&r, family_id, IPCON_CMD_PEER_ATTACH, 0);
	req_put(&r, IPCON_A_COOKIE, &cookie, sizeof(cookie));
	err = transact(&a_ctrl, &r, NULL, NULL);
	check(!err, "attach alpha's control socket (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_PEER_ATTACH, 0);
	req_put(&r, IPCON_A_COOKIE, &cookie, sizeof(cookie));
	err = transact(&a_ctrl, &r, NULL, NULL);
	check(err == -EALREADY, "attach twice -> EALREADY (err %d)", err);
	stranger = nl_open();
	cookie ^= 1;
	req_init(&r, family_id, IPCON_CMD_PEER_ATTACH, 0);
	req_put(&r, IPCON_A_COOKIE, &cookie, sizeof(cookie));
	err = transact(&stranger, &r, NULL, NULL);
	check(err == -ENOENT, "attach with a wrong cookie -> ENOENT (err %d)", err);

	/* Peer beta: one socket for everything. */
	b = nl_open();
	no_enobufs(&b);
	err = peer_register(&b, "beta", NULL, NULL);
	check(!err, "register beta (err %d)", err);

	err = peer_register(&stranger, "alpha", NULL, extack);
	check(err == -EEXIST && extack[0], "duplicate name -> EEXIST \"%s\"", extack);
	err = peer_register(&stranger, "a/b", NULL, extack);
	check(err == -EINVAL && extack[0], "bad name -> EINVAL \"%s\"", extack);
	err = peer_register(&stranger, "0123456789abcdef0123456789abcdef", NULL, extack);
	check(err == -EINVAL, "32-byte name -> EINVAL (err %d)", err);
	err = peer_register(&a_data, "again", NULL, NULL);
	check(err == -EALREADY, "register a registered socket -> EALREADY (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_PEER_REGISTER, 0);
	req_u32(&r, IPCON_A_SUBSCRIBERS, 1);
	err = transact(&stranger, &r, NULL, extack);
	check(err == -EINVAL, "attribute outside the policy -> EINVAL \"%s\"", extack);

	/* Unicast from alpha's control socket to beta. */
	err = unicast(&a_ctrl, "beta", "hello", 5, NULL);
	check(!err, "unicast alpha -> beta (err %d)", err);
	ok = recv_msg(&b, &m, 1000) > 0 && !m.is_ack && m.cmd == IPCON_CMD_UNICAST_MSG &&
	     payload_is(&m, "hello") && str_attr_is(&m, IPCON_A_PEER_NAME, "alpha") &&
	     m.tb[IPCON_A_PORT] && attr_u32(m.tb[IPCON_A_PORT]) == a_data.port &&
	     m.tb[IPCON_A_PID] && attr_u32(m.tb[IPCON_A_PID]) == (uint32_t)getpid() &&
	     m.tb[IPCON_A_UID] && attr_u32(m.tb[IPCON_A_UID]) == geteuid() &&
	     !m.tb[IPCON_A_MISSED] && m.nlh->nlmsg_pid == 0;
	check(ok, "beta got the stamped unicast");
	err = unicast(&b, "nobody", "x", 1, extack);
	check(err == -ENOENT && extack[0], "unicast to nobody -> ENOENT \"%s\"", extack);
	err = unicast(&stranger, "beta", "x", 1, NULL);
	check(err == -ENOTCONN, "unicast from a non-peer -> ENOTCONN (err %d)", err);
	memset(big, 'x', sizeof(big));
	err = unicast(&b, "alpha", big, 1500, extack);
	check(err == -EMSGSIZE && extack[0],
	      "1500-byte payload over max_payload=1024 -> EMSGSIZE \"%s\"", extack);
	err = unicast(&b, "alpha", big, 1024, NULL);
	check(!err, "1024-byte payload (err %d)", err);
	ok = recv_msg(&a_data, &m, 1000) > 0 && m.tb[IPCON_A_PAYLOAD] &&
	     ATTR_LEN(m.tb[IPCON_A_PAYLOAD]) == 1024;
	check(ok, "alpha's data socket got the 1024-byte unicast");
	err = unicast(&b, "alpha", "", 0, NULL);
	ok = !err && recv_msg(&a_data, &m, 1000) > 0 && m.tb[IPCON_A_PAYLOAD] &&
	     ATTR_LEN(m.tb[IPCON_A_PAYLOAD]) == 0;
	check(ok, "empty payload delivered (err %d)", err);

	/* Groups. */
	err = simple(&a_ctrl, IPCON_CMD_GROUP_REGISTER, NULL, "news", NULL);
	check(!err, "alpha registers group news (err %d)", err);
	err = simple(&a_ctrl, IPCON_CMD_GROUP_REGISTER, NULL, "news", NULL);
	check(err == -EEXIST, "group twice -> EEXIST (err %d)", err);
	err = simple(&b, IPCON_CMD_GROUP_JOIN, "alpha", "news", NULL);
	check(!err, "beta joins alpha/news (err %d)", err);
	err = simple(&b, IPCON_CMD_GROUP_JOIN, "alpha", "news", NULL);
	check(err == -EALREADY, "join twice -> EALREADY (err %d)", err);
	err = simple(&b, IPCON_CMD_GROUP_JOIN, "alpha", "nope", extack);
	check(err == -ENOENT && extack[0], "join a missing group -> ENOENT \"%s\"", extack);
	err = multicast(&b, "news", "x", 1, 0, NULL, NULL);
	check(err == -ENOENT, "non-owner multicast -> ENOENT (err %d)", err);
	err = multicast(&a_ctrl, "news", "m1", 2, 1, &delivered, &dropped);
	check(!err && delivered == 1 && dropped == 0,
	      "sync multicast: delivered %u dropped %u (err %d)", delivered, dropped, err);
	ok = recv_msg(&b, &m, 1000) > 0 && m.cmd == IPCON_CMD_GROUP_MSG &&
	     payload_is(&m, "m1") && str_attr_is(&m, IPCON_A_GROUP_NAME, "news") &&
	     str_attr_is(&m, IPCON_A_PEER_NAME, "alpha") && !m.tb[IPCON_A_REPLAYED];
	check(ok, "beta got the group message");
	err = multicast(&a_ctrl, "news", "m2", 2, 0, NULL, NULL);
	check(!err, "async multicast (err %d)", err);
	check(recv_msg(&b, &m, 1000) > 0 && payload_is(&m, "m2"), "beta got m2");

	/* Anonymous peer c joins with replay: replay precedes the ACK. */
	c = nl_open();
	err = peer_register(&c, NULL, NULL, NULL);
	check(!err, "register an anonymous peer (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_GROUP_JOIN, NLM_F_ACK);
	req_str(&r, IPCON_A_PEER_NAME, "alpha");
	req_str(&r, IPCON_A_GROUP_NAME, "news");
	req_put(&r, IPCON_A_RCV_LAST_MSG, NULL, 0);
	req_send(&c, &r);
	ok = recv_msg(&c, &m, 1000) > 0 && !m.is_ack && payload_is(&m, "m2") &&
	     m.tb[IPCON_A_REPLAYED] && str_attr_is(&m, IPCON_A_PEER_NAME, "alpha");
	check(ok, "replayed last message arrives first");
	ok = recv_msg(&c, &m, 1000) > 0 && m.is_ack && m.error == 0;
	check(ok, "then the join's ACK");
	err = unicast(&c, "beta", "anon", 4, NULL);
	ok = !err && recv_msg(&b, &m, 1000) > 0 && payload_is(&m, "anon") &&
	     !m.tb[IPCON_A_PEER_NAME] && attr_u32(m.tb[IPCON_A_PORT]) == c.port;
	check(ok, "unicast from the anonymous peer has no name, its port");

	/* Introspection. */
	n = dump_count(&stranger, IPCON_CMD_PEER_GET, NULL);
	check(n == 3, "peer dump lists 3 peers (%d)", n);
	n = dump_count(&stranger, IPCON_CMD_GROUP_GET, NULL);
	check(n == 1, "group dump lists 1 group (%d)", n);
	n = dump_count(&stranger, IPCON_CMD_GROUP_GET, "beta");
	check(n == 0, "group dump of beta lists 0 groups (%d)", n);
	req_init(&r, family_id, IPCON_CMD_GROUP_GET, 0);
	req_str(&r, IPCON_A_PEER_NAME, "alpha");
	req_str(&r, IPCON_A_GROUP_NAME, "news");
	err = transact(&stranger, &r, &m, NULL);
	ok = !err && m.tb[IPCON_A_SUBSCRIBERS] && attr_u32(m.tb[IPCON_A_SUBSCRIBERS]) == 2 &&
	     m.tb[IPCON_A_LAST_MSG_LEN] && attr_u32(m.tb[IPCON_A_LAST_MSG_LEN]) == 2 &&
	     m.tb[IPCON_A_TX_MSGS] && attr_u64(m.tb[IPCON_A_TX_MSGS]) == 2 &&
	     m.tb[IPCON_A_ACCESS] && attr_u32(m.tb[IPCON_A_ACCESS]) == IPCON_GROUP_ACCESS_OPEN;
	check(ok, "group-get: 2 subscribers, last-msg-len 2, tx 2, open (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_PEER_GET, 0);
	req_str(&r, IPCON_A_PEER_NAME, "beta");
	err = transact(&stranger, &r, &m, NULL);
	ok = !err && m.tb[IPCON_A_PORT] && attr_u32(m.tb[IPCON_A_PORT]) == b.port &&
	     m.tb[IPCON_A_RX_MSGS] && attr_u64(m.tb[IPCON_A_RX_MSGS]) == 4 &&
	     m.tb[IPCON_A_TX_MSGS] && attr_u64(m.tb[IPCON_A_TX_MSGS]) == 2;
	check(ok, "peer-get beta: port, rx 4, tx 2 (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_PEER_GET, 0);
	req_u32(&r, IPCON_A_PORT, a_ctrl.port);
	err = transact(&stranger, &r, NULL, NULL);
	check(err == -ENOENT, "peer-get by a control port -> ENOENT (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_GROUP_GET, NLM_F_DUMP);
	req_str(&r, IPCON_A_GROUP_NAME, "news");
	req_send(&stranger, &r);
	ok = recv_msg(&stranger, &m, 1000) > 0 && m.is_ack && m.error == -EINVAL;
	check(ok, "group dump with group-name -> EINVAL (%d)", m.error);
	drain(&stranger);

	/* Overrun beta (alone in the group): sync multicast until drops. */
	err = simple(&c, IPCON_CMD_GROUP_LEAVE, "alpha", "news", NULL);
	check(!err, "the anonymous peer leaves (err %d)", err);
	set_rcvbuf(&b, 1024);
	for (i = 0; i < 200; i++) {
		if (multicast(&a_ctrl, "news", big, 1000, 1, &delivered, &dropped))
			break;
		total_dropped += dropped;
	}
	check(total_dropped > 0, "beta's full queue dropped %u group messages",
	      total_dropped);
	err = unicast(&a_ctrl, "beta", "u", 1, extack);
	check(err == -EAGAIN, "unicast to a full queue -> EAGAIN \"%s\"", extack);
	n = drain(&b);
	check(n > 0, "drained %d queued messages from beta", n);
	set_rcvbuf(&b, 1 << 20);
	err = multicast(&a_ctrl, "news", "after", 5, 0, NULL, NULL);
	ok = !err && recv_msg(&b, &m, 1000) > 0 && payload_is(&m, "after") &&
	     m.tb[IPCON_A_MISSED] && attr_u32(m.tb[IPCON_A_MISSED]) == total_dropped;
	check(ok, "next delivery reports missed %u (expected %u)",
	      m.tb[IPCON_A_MISSED] ? attr_u32(m.tb[IPCON_A_MISSED]) : 0, total_dropped);
	req_init(&r, family_id, IPCON_CMD_PEER_GET, 0);
	req_str(&r, IPCON_A_PEER_NAME, "beta");
	err = transact(&stranger, &r, &m, NULL);
	ok = !err && m.tb[IPCON_A_RX_DROPPED] &&
	     attr_u64(m.tb[IPCON_A_RX_DROPPED]) == total_dropped + 1;
	check(ok, "beta's rx-dropped counts the drops and the refused unicast");
	err = multicast(&a_ctrl, "news", "again", 5, 0, NULL, NULL);
	ok = !err && recv_msg(&b, &m, 1000) > 0 && payload_is(&m, "again") &&
	     !m.tb[IPCON_A_MISSED];
	check(ok, "and the one after reports none");
	drain(&c);

	check_concurrent_missed();

	/* Leave. */
	err = simple(&b, IPCON_CMD_GROUP_LEAVE, "alpha", "news", NULL);
	check(!err, "beta leaves (err %d)", err);
	err = simple(&b, IPCON_CMD_GROUP_LEAVE, "alpha", "news", NULL);
	check(err == -ENOENT, "leave again -> ENOENT (err %d)", err);

	/* Kill alpha by closing its data socket: group-remove, then peer-remove. */
	sock_close(&a_data);
	a2 = nl_open();
	err = peer_register(&a2, "alpha", NULL, NULL);
	check(!err, "name alpha is free once its data socket closed (err %d)", err);
	err = simple(&a_ctrl, IPCON_CMD_GROUP_REGISTER, NULL, "x", NULL);
	check(err == -ENOTCONN, "the dead peer's control socket -> ENOTCONN (err %d)", err);
	req_init(&r, family_id, IPCON_CMD_PEER_UNREGISTER, 0);
	err = transact(&b, &r, NULL, NULL);
	check(!err, "beta unregisters (err %d)", err);

	n = read_kevents(&k, kev, 256);
	ok = n > 0;
	seq = n ? kev[0].seq : 0;
	for (i = 1; i < n; i++)
		if (kev[i].seq != seq + i)
			ok = 0;
	check(ok, "%d kernel events, kevent-seq consecutive from %llu", n,
	      (unsigned long long)seq);
	for (i = 0; i < n; i++)
		if (kev[i].type == IPCON_KEVENT_TYPE_GROUP_REMOVE &&
		    !strcmp(kev[i].group, "news"))
			break;
	ok = i + 2 < n && !strcmp(kev[i].group, "news") &&
	     kev[i].reason == IPCON_REMOVE_REASON_CLOSED &&
	     kev[i + 1].type == IPCON_KEVENT_TYPE_PEER_REMOVE &&
	     !strcmp(kev[i + 1].peer, "alpha") &&
	     kev[i + 1].reason == IPCON_REMOVE_REASON_CLOSED &&
	     kev[i + 2].type == IPCON_KEVENT_TYPE_PEER_ADD &&
	     !strcmp(kev[i + 2].peer, "alpha");
	check(ok, "group-remove news (closed), peer-remove alpha (closed), peer-add alpha");
	ok = n > 0 && kev[n - 1].type == IPCON_KEVENT_TYPE_PEER_REMOVE &&
	     !strcmp(kev[n - 1].peer, "beta") &&
	     kev[n - 1].reason == IPCON_REMOVE_REASON_UNREGISTERED;
	check(ok, "last event: peer-remove beta (unregistered)");
	ok = n >= 4 && kev[0].type == IPCON_KEVENT_TYPE_PEER_ADD &&
	     !strcmp(kev[0].peer, "alpha") && kev[1].type == IPCON_KEVENT_TYPE_PEER_ADD &&
	     !strcmp(kev[1].peer, "beta") && kev[2].type == IPCON_KEVENT_TYPE_GROUP_ADD &&
	     !strcmp(kev[2].group, "news");
	check(ok, "first events: peer-add alpha, peer-add beta, group-add news");

	printf("%s: %d checks, %d failed\n", failures ? "SMOKE FAILED" : "SMOKE OK",
	       checks, failures);
	return failures ? 1 : 0;
}
