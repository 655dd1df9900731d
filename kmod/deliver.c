// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: building deliveries, unicast and group fan-out.
 *
 * Deliveries are queued without blocking on the receiving peer's own data
 * socket (the one it registered with, held by the peer), so a full receiver
 * never blocks the sender: unicast reports EAGAIN to the sender, fan-out
 * counts the loss in the receiver's missed counter, reported with its next
 * delivery.
 */
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/overflow.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/sock.h>

#include "ipcon.h"

/*
 * What a delivery tells its receiver besides the message, claimed from the
 * receiver when the delivery is built: messages it missed, unicasts refused
 * because its queue was full, and who filled the queue.
 */
struct ipcon_report {
	u32 missed;
	u32 refused;
	bool culprit;
	u32 port;
	u32 uid;
};

static bool ipcon_report_empty(const struct ipcon_report *report)
{
	return !report->missed && !report->refused && !report->culprit;
}

/*
 * Bytes of the attributes of one delivered message with a payload of @len:
 * exactly what ipcon_msg_put() puts.
 */
static size_t ipcon_msg_size(const struct ipcon_msg_desc *desc, u32 len,
			     size_t name_len, size_t group_len,
			     const struct ipcon_report *report)
{
	size_t size = 3 * nla_total_size(sizeof(u32)) +	/* port, pid, uid */
		      nla_total_size(len);

	if (name_len)
		size += nla_total_size(name_len + 1);
	if (desc->group)
		size += nla_total_size(group_len + 1);
	if (report->missed)
		size += nla_total_size(sizeof(u32));
	if (desc->replayed)
		size += nla_total_size(0);
	if (report->refused)
		size += nla_total_size(sizeof(u32));
	if (report->culprit)
		size += 2 * nla_total_size(sizeof(u32));
	return size;
}

/* The lengths of the sender's name and of the group's (0: unicast). */
static void ipcon_name_lens(const struct ipcon_msg_desc *desc,
			    size_t *name_len, size_t *group_len)
{
	*name_len = strnlen(desc->stamp->name, sizeof(desc->stamp->name));
	*group_len = desc->group ? strnlen(desc->group, IPCON_MAX_NAME_LEN) : 0;
}

/* The payload of one pack entry (the entries were checked to have one). */
static const struct nlattr *ipcon_pack_payload(const struct nlattr *entry)
{
	return nla_find_nested(entry, IPCON_A_PACK_ENTRY_PAYLOAD);
}

/*
 * Bytes of the whole delivery of @desc: its messages, each with its netlink
 * and generic netlink headers, the report with the first.
 */
static size_t ipcon_delivery_size(const struct ipcon_msg_desc *desc,
				  size_t name_len, size_t group_len,
				  const struct ipcon_report *report)
{
	const struct ipcon_report none = {};
	const struct nlattr *entry;
	size_t size = 0;
	int rem;

	if (!desc->pack)
		return nlmsg_total_size(GENL_HDRLEN +
					ipcon_msg_size(desc, desc->len, name_len,
						       group_len, report));
	nla_for_each_nested(entry, desc->pack, rem) {
		u32 len = nla_len(ipcon_pack_payload(entry));

		size += nlmsg_total_size(GENL_HDRLEN +
					 ipcon_msg_size(desc, len, name_len,
							group_len,
							size ? &none : report));
	}
	return size;
}

/*
 * Every delivery wakes its receiver, and a blocking allocation is a voluntary
 * preemption point: allocating the next delivery of a fan-out (or of a batch
 * of requests) with GFP_KERNEL would switch to the receiver just woken after
 * every single message, so receivers could never take several at once.
 * Allocate without blocking first; block only when memory is short.
 *
 * Deliveries are charged to the sender's memory cgroup (__GFP_ACCOUNT): a
 * message waiting in a receiver's queue is memory its sender caused.
 */
#define IPCON_GFP_NOWAIT	(GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT)

static struct sk_buff *ipcon_skb_new(size_t payload)
{
	return genlmsg_new(payload, IPCON_GFP_NOWAIT) ?:
	       genlmsg_new(payload, GFP_KERNEL_ACCOUNT);
}

/* An skb for @size bytes of whole netlink messages. */
static struct sk_buff *ipcon_skb_alloc(size_t size)
{
	return alloc_skb(size, IPCON_GFP_NOWAIT) ?:
	       alloc_skb(size, GFP_KERNEL_ACCOUNT);
}

static struct sk_buff *ipcon_skb_clone(struct sk_buff *skb)
{
	return skb_clone(skb, IPCON_GFP_NOWAIT) ?:
	       skb_clone(skb, GFP_KERNEL_ACCOUNT);
}

/*
 * Write one attribute at @pos, room for which was reserved; return the byte
 * after it.  Unlike nla_put(), no tail room check and no skb_put() per call.
 */
static void *ipcon_attr_fill(void *pos, int type, const void *data, int len)
{
	struct nlattr *nla = pos;

	nla->nla_type = type;
	nla->nla_len = nla_attr_size(len);
	if (len)
		memcpy(nla_data(nla), data, len);
	memset((u8 *)nla_data(nla) + len, 0, nla_padlen(len));
	return (u8 *)pos + nla_total_size(len);
}

static void *ipcon_attr_fill_u32(void *pos, int type, u32 value)
{
	return ipcon_attr_fill(pos, type, &value, sizeof(value));
}

/*
 * The number @ns knows the thread group @pid by: 0 when it has none there
 * (a process outside the receiver's pid namespace) or the process has exited
 * (its number may belong to another process by now).
 */
u32 ipcon_pid_nr(struct pid *pid, struct pid_namespace *ns)
{
	if (!pid_has_task(pid, PIDTYPE_TGID))
		return 0;
	return pid_nr_ns(pid, ns);
}

/*
 * Write @stamp's attributes at @pos (the sender's name unless anonymous, its
 * port, pid as pid namespace @pid_ns sees it, uid); return the byte after.
 */
static void *ipcon_stamp_fill(void *pos, const struct ipcon_stamp *stamp,
			      size_t name_len, struct pid_namespace *pid_ns)
{
	if (name_len)
		pos = ipcon_attr_fill(pos, IPCON_A_PEER_NAME, stamp->name,
				      name_len + 1);
	pos = ipcon_attr_fill_u32(pos, IPCON_A_PORT, stamp->port);
	pos = ipcon_attr_fill_u32(pos, IPCON_A_PID,
				  ipcon_pid_nr(stamp->pid, pid_ns));
	return ipcon_attr_fill_u32(pos, IPCON_A_UID, stamp->uid);
}

/*
 * Put one delivered message with payload @payload of @len bytes at the end of
 * @skb, which has room for it (ipcon_msg_size()).  A message has at most
 * eleven attributes of sizes known up front: reserve them with one skb_put()
 * instead of one nla_put() (and its skb_put()) each.  The attribute order is
 * the one receivers have always seen, the overflow report last.  The
 * sender's pid is given as @pid_ns, the receiver's pid namespace, sees it.
 */
static int ipcon_msg_put(struct sk_buff *skb, const struct ipcon_msg_desc *desc,
			 const void *payload, u32 len, size_t name_len,
			 size_t group_len, const struct ipcon_report *report,
			 struct pid_namespace *pid_ns)
{
	size_t size = ipcon_msg_size(desc, len, name_len, group_len, report);
	void *hdr, *pos;

	hdr = genlmsg_put(skb, 0, 0, &ipcon_family, 0, desc->cmd);
	if (!hdr || skb_tailroom(skb) < size)
		return -EMSGSIZE;
	pos = ipcon_stamp_fill(skb_put(skb, size), desc->stamp, name_len,
			       pid_ns);
	if (desc->group)
		pos = ipcon_attr_fill(pos, IPCON_A_GROUP_NAME, desc->group,
				      group_len + 1);
	pos = ipcon_attr_fill(pos, IPCON_A_PAYLOAD, payload, len);
	if (report->missed)
		pos = ipcon_attr_fill_u32(pos, IPCON_A_MISSED, report->missed);
	if (desc->replayed)
		pos = ipcon_attr_fill(pos, IPCON_A_REPLAYED, NULL, 0);
	if (report->refused)
		pos = ipcon_attr_fill_u32(pos, IPCON_A_OVERRUN, report->refused);
	if (report->culprit) {
		pos = ipcon_attr_fill_u32(pos, IPCON_A_OVERRUN_PORT,
					  report->port);
		ipcon_attr_fill_u32(pos, IPCON_A_OVERRUN_UID, report->uid);
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * Build the delivery of @desc for a receiver in pid namespace @pid_ns: one
 * message, or every message of the pack back to back in one skb, @report
 * with the first.
 */
static struct sk_buff *ipcon_msg_build(const struct ipcon_msg_desc *desc,
				       const struct ipcon_report *report,
				       struct pid_namespace *pid_ns)
{
	const struct ipcon_report none = {};
	const struct nlattr *entry;
	size_t name_len, group_len;
	struct sk_buff *skb;
	int rem;

	ipcon_name_lens(desc, &name_len, &group_len);
	/* Both names are NUL-terminated arrays of IPCON_MAX_NAME_LEN bytes. */
	if (WARN_ON_ONCE(name_len >= IPCON_MAX_NAME_LEN ||
			 group_len >= IPCON_MAX_NAME_LEN))
		return NULL;
	skb = ipcon_skb_alloc(ipcon_delivery_size(desc, name_len, group_len,
						  report));
	if (!skb)
		return NULL;
	if (!desc->pack) {
		if (ipcon_msg_put(skb, desc, desc->payload, desc->len,
				  name_len, group_len, report, pid_ns))
			goto err;
		return skb;
	}
	nla_for_each_nested(entry, desc->pack, rem) {
		const struct nlattr *payload = ipcon_pack_payload(entry);

		if (ipcon_msg_put(skb, desc, nla_data(payload),
				  nla_len(payload), name_len, group_len,
				  skb->len ? &none : report, pid_ns))
			goto err;
	}
	return skb;
err:
	nlmsg_free(skb);
	return NULL;
}

/*
 * Forwarding: a posted unicast's request becomes its own delivery.
 *
 * netlink_sendmsg() copied the request into an skb of its own; generic
 * netlink hands that skb to the handler.  Instead of building a second one
 * and copying the payload again, the handler may rewrite the request in
 * place into the unicast-msg the receiver would get (the headers of a
 * kernel message, the sender's stamp written over the stamp-room the
 * sender reserved, every other attribute but the payload turned into pad)
 * and queue a clone of it: one sk_buff, the data shared.  A Unix socket's
 * send works the same way: one buffer from the sender's copy to the
 * receiver's.
 *
 * Only a request that no one else can see qualifies (ipcon_forwardable()):
 * alone in its datagram, its data not shared (a netlink tap clones it
 * before the handler runs), posted and without NLM_F_ACK, so that nothing
 * after the handler reads the rewritten header but its length and flags:
 * netlink_rcv_skb() looks at NLM_F_ACK (now clear, and the handler of a
 * posted request returns 0: its failures become send-failed notices built
 * from info, which keeps the request's sequence number) and at the length,
 * which stays.  The rewrite keeps every attribute's data, so a failure after
 * it still reads the ticket and the target from info->attrs.
 *
 * The price: the buffer is netlink's, allocated for the request without
 * __GFP_ACCOUNT (as AF_UNIX allocates its datagrams), so a forwarded
 * message waiting in a queue is not charged to its sender's memory cgroup,
 * only to the receiver's socket buffer, which bounds it as it bounds every
 * delivery.  The module parameter forward_unicast=0 turns forwarding off.
 */
static bool ipcon_forwardable(const struct sk_buff *skb,
			      const struct genl_info *info,
			      const struct ipcon_msg_desc *desc)
{
	const struct nlmsghdr *nlh = info->nlhdr;

	return READ_ONCE(ipcon_forward_unicast) &&
	       info->attrs[IPCON_A_STAMP_ROOM] && info->attrs[IPCON_A_TICKET] &&
	       !desc->pack && !(nlh->nlmsg_flags & NLM_F_ACK) &&
	       /* no datagram the module queues is longer (receive buffers) */
	       nlh->nlmsg_len <= IPCON_MAX_DELIVERY_LEN &&
	       /* alone in its buffer (nlh is skb->data): nothing before or after */
	       (const unsigned char *)nlh == skb->head &&
	       skb->len <= NLMSG_ALIGN(nlh->nlmsg_len) &&
	       !skb_is_nonlinear(skb) && !skb_cloned(skb) &&
	       /* netlink's destructor, not the clone's release, frees vmalloc */
	       !is_vmalloc_addr(skb->head);
}

/* Fill the @size bytes at @pos with one pad attribute. */
static void ipcon_pad_fill(void *pos, int size)
{
	struct nlattr *nla = pos;

	nla->nla_type = IPCON_A_PAD;
	nla->nla_len = size;
	memset(nla_data(nla), 0, size - NLA_HDRLEN);
}

/*
 * Rewrite the request of @desc into the unicast-msg of its stamp for a
 * receiver in pid namespace @pid_ns: the attributes a built delivery
 * without a report has, and pad.  Only the payload the handler checked (the
 * last of duplicates, as nla_parse() keeps it) stays a payload.
 */
static void ipcon_forward_rewrite(const struct ipcon_msg_desc *desc,
				  struct pid_namespace *pid_ns)
{
	const struct ipcon_stamp *stamp = desc->stamp;
	struct nlmsghdr *nlh = nlmsg_hdr(desc->request);
	struct genlmsghdr *genl = nlmsg_data(nlh);
	struct nlattr *room = desc->room;
	size_t name_len = strnlen(stamp->name, sizeof(stamp->name));
	struct nlattr *nla;
	void *pos, *end;
	int rem;

	BUILD_BUG_ON(nla_total_size(IPCON_MAX_NAME_LEN) +
		     3 * nla_total_size(sizeof(u32)) + NLA_HDRLEN >
		     nla_total_size(IPCON_STAMP_ROOM_LEN));

	nlh->nlmsg_flags = 0;
	nlh->nlmsg_seq = 0;
	nlh->nlmsg_pid = 0;
	genl->cmd = IPCON_CMD_UNICAST_MSG;
	genl->version = ipcon_family.version;
	genl->reserved = 0;
	nla_for_each_attr(nla, genlmsg_data(genl), genlmsg_len(genl), rem) {
		if (nla == room)
			continue;
		nla->nla_type = nla_data(nla) == desc->payload ?
				IPCON_A_PAYLOAD : IPCON_A_PAD;
	}
	end = (u8 *)room + nla_total_size(IPCON_STAMP_ROOM_LEN);
	pos = ipcon_stamp_fill(room, stamp, name_len, pid_ns);
	ipcon_pad_fill(pos, (u8 *)end - (u8 *)pos);
}

/*
 * The delivery of a forwardable request (see above) for a receiver in pid
 * namespace @pid_ns, or NULL: the request rewritten, and a clone of it
 * that carries nothing of the request's skb but its data (no sender port,
 * no credentials: a kernel message).
 */
static struct sk_buff *ipcon_forward(const struct ipcon_msg_desc *desc,
				     struct pid_namespace *pid_ns)
{
	struct sk_buff *skb;

	ipcon_forward_rewrite(desc, pid_ns);
	skb = ipcon_skb_clone(desc->request);
	if (skb)
		memset(skb->cb, 0, sizeof(skb->cb));
	return skb;
}

/*
 * Queue @skb on the held socket @sk, as netlink_unicast() would for a kernel
 * sender that must not block, but without looking the receiver up by its
 * port number: that number is free again as soon as the socket is released,
 * before the release notifier removes the peer, and another socket may take
 * it in between.  The generic receive path does the rest netlink_unicast()
 * does: the socket's filter (a message it drops counts as delivered, as
 * there), the receive buffer limit, the owner accounting (sock_rfree, where a
 * netlink skb's destructor ends too) and the wakeup.  Deliveries do not pass
 * the nlmon taps.  Consumes @skb; returns 0, -EAGAIN (queue full) or
 * -ECONNREFUSED (the socket was released).
 */
static int ipcon_sock_queue(struct sock *sk, struct sk_buff *skb)
{
	if (sock_flag(sk, SOCK_DEAD)) {
		kfree_skb(skb);
		return -ECONNREFUSED;
	}
	if (sk_filter(sk, skb)) {
		consume_skb(skb);
		return 0;
	}
	if (__sock_queue_rcv_skb(sk, skb)) {
		kfree_skb(skb);
		return -EAGAIN;
	}
	return 0;
}

/*
 * Queue @skb (NULL: its allocation failed), a datagram of @count messages,
 * to @to's data socket.  Messages that cannot be queued count as dropped,
 * unless the socket is gone.  Returns 0, -EAGAIN when the queue is full,
 * -ECONNREFUSED when the socket is gone, or -ENOMEM.
 */
static int ipcon_queue(struct ipcon_peer *to, struct sk_buff *skb, u32 count)
{
	int err = skb ? ipcon_sock_queue(to->data.sk, skb) : -ENOMEM;

	if (err && err != -ECONNREFUSED)
		atomic64_add(count, &to->rx_dropped);
	return err;
}

/*
 * The sender of a delivery waiting in a receive queue: its port and uid
 * attributes, if @skb is a unicast or group message of ours.
 */
static bool ipcon_msg_sender(const struct sk_buff *skb, u32 *port, u32 *uid)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)skb->data;
	const struct genlmsghdr *genl;
	const struct nlattr *port_attr, *uid_attr;
	unsigned int len = skb_headlen(skb);

	if (len < NLMSG_HDRLEN + GENL_HDRLEN || nlh->nlmsg_len > len ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
	    nlh->nlmsg_type != ipcon_family.id)
		return false;
	genl = nlmsg_data(nlh);
	if (genl->cmd != IPCON_CMD_UNICAST_MSG &&
	    genl->cmd != IPCON_CMD_GROUP_MSG)
		return false;
	len = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	port_attr = nla_find(genlmsg_data(genl), len, IPCON_A_PORT);
	uid_attr = nla_find(genlmsg_data(genl), len, IPCON_A_UID);
	if (!port_attr || !uid_attr)
		return false;
	*port = nla_get_u32(port_attr);
	*uid = nla_get_u32(uid_attr);
	return true;
}

/*
 * Who filled @to's queue: a majority vote over the senders of the messages
 * in it (the sender of more than half of them, when there is one, wins).
 * Runs only when a delivery found the queue full, at most once per report.
 * overrun.lock held.
 */
static void ipcon_overrun_find(struct ipcon_peer *to)
{
	struct sk_buff_head *queue = &to->data.sk->sk_receive_queue;
	struct ipcon_overrun *overrun = &to->overrun;
	u32 port, uid, votes = 0;
	unsigned long flags;
	struct sk_buff *skb;

	lockdep_assert_held(&overrun->lock);
	spin_lock_irqsave(&queue->lock, flags);
	skb_queue_walk(queue, skb) {
		if (!ipcon_msg_sender(skb, &port, &uid))
			continue;
		if (!votes) {
			overrun->port = port;
			overrun->uid = uid;
			votes = 1;
		} else if (port == overrun->port) {
			votes++;
		} else {
			votes--;
		}
	}
	spin_unlock_irqrestore(&queue->lock, flags);
	overrun->known = overrun->known || votes;
}

/*
 * A delivery to @to found its queue full: count the @refused unicast
 * messages, and find who filled the queue unless that is known since the
 * last report.
 */
static void ipcon_overrun_note(struct ipcon_peer *to, u32 refused)
{
	struct ipcon_overrun *overrun = &to->overrun;

	spin_lock(&overrun->lock);
	overrun->refused += refused;
	if (!overrun->known)
		ipcon_overrun_find(to);
	WRITE_ONCE(overrun->pending, overrun->refused || overrun->known);
	spin_unlock(&overrun->lock);
}

/* Take what @to has not been told yet, to tell it with the next delivery. */
static void ipcon_report_claim(struct ipcon_peer *to,
			       struct ipcon_report *report)
{
	struct ipcon_overrun *overrun = &to->overrun;

	*report = (struct ipcon_report) {
		.missed = atomic_read(&to->missed) ?
			  atomic_xchg(&to->missed, 0) : 0,
	};
	if (!READ_ONCE(overrun->pending))
		return;
	spin_lock(&overrun->lock);
	report->refused = overrun->refused;
	report->culprit = overrun->known;
	report->port = overrun->port;
	report->uid = overrun->uid;
	overrun->refused = 0;
	overrun->known = false;
	WRITE_ONCE(overrun->pending, false);
	spin_unlock(&overrun->lock);
}

/* The delivery that carried @report was not queued: give the claim back. */
static void ipcon_report_giveback(struct ipcon_peer *to,
				  const struct ipcon_report *report)
{
	struct ipcon_overrun *overrun = &to->overrun;

	if (report->missed)
		atomic_add(report->missed, &to->missed);
	if (!report->refused && !report->culprit)
		return;
	spin_lock(&overrun->lock);
	overrun->refused += report->refused;
	if (report->culprit && !overrun->known) {
		overrun->known = true;
		overrun->port = report->port;
		overrun->uid = report->uid;
	}
	WRITE_ONCE(overrun->pending, true);
	spin_unlock(&overrun->lock);
}

/*
 * The copy of the shared fan-out message for one more subscriber: a clone
 * (its own header, the data shared) while others follow, the message itself
 * for the last one, as netlink_broadcast() hands its skb to its last
 * listener.  A fan-out to N subscribers builds one message and N - 1 clones.
 */
static struct sk_buff *ipcon_shared_take(struct sk_buff **shared, bool last)
{
	struct sk_buff *skb = *shared;

	if (!last)
		return ipcon_skb_clone(skb);
	*shared = NULL;
	return skb;
}

/*
 * Queue one delivery (one datagram: one message, or a pack of them, all or
 * none) to @to's data socket.  @shared, when given, points to
 * the message already built without a report for pid namespace
 * @desc->shared_ns: a peer of that namespace with nothing to be told gets a
 * copy of it (the message itself when @last: *@shared is then NULL), others
 * their own message (carrying the report, or their view of the sender's pid).
 *
 * The report is claimed atomically, so concurrent deliveries to one peer (two
 * groups, or a unicast) never report the same drops twice; a delivery that
 * fails gives its claim back, and a full queue is noted for the next report.
 * Most deliveries have nothing to claim: a plain read sees that without a
 * locked exchange (a drop counted meanwhile stays for the next delivery).
 * Returns 0, -EAGAIN when the queue is full, -ECONNREFUSED when the socket is
 * gone, or -ENOMEM.
 */
int ipcon_deliver(struct ipcon_peer *to, const struct ipcon_msg_desc *desc,
		  struct sk_buff **shared, bool last)
{
	struct ipcon_report report;
	struct sk_buff *skb;
	int err;

	ipcon_report_claim(to, &report);
	if (desc->request && ipcon_report_empty(&report))
		skb = ipcon_forward(desc, to->pid_ns);
	else if (shared && ipcon_report_empty(&report) &&
		 to->pid_ns == desc->shared_ns)
		skb = ipcon_shared_take(shared, last);
	else
		skb = ipcon_msg_build(desc, &report, to->pid_ns);
	err = ipcon_queue(to, skb, desc->count);
	if (!err) {
		atomic64_add(desc->count, &to->rx_msgs);
		return 0;
	}
	ipcon_report_giveback(to, &report);
	if (err == -EAGAIN)
		ipcon_overrun_note(to, desc->cmd == IPCON_CMD_UNICAST_MSG ?
				   desc->count : 0);
	return err;
}

/* Queue @group's last message to @to, marked replayed.  group->lock held. */
int ipcon_replay_last(struct ipcon_group *group, struct ipcon_peer *to)
{
	const struct ipcon_last_msg *last = group->last;
	struct ipcon_msg_desc desc = {
		.cmd = IPCON_CMD_GROUP_MSG,
		.stamp = &last->stamp,
		.group = group->name,
		.payload = last->data,
		.len = last->len,
		.count = 1,
		.replayed = true,
	};
	int err;

	lockdep_assert_held(&group->lock);
	err = ipcon_deliver(to, &desc, NULL, false);
	if (err && err != -ECONNREFUSED)
		atomic_inc(&to->missed);
	return err;
}

/*
 * A request's pack, or NULL: an empty pack counts as none, as the user code
 * YNL generates from the spec puts the attribute even without entries.
 */
static struct nlattr *ipcon_request_pack(struct genl_info *info)
{
	struct nlattr *pack = info->attrs[IPCON_A_PACK];

	return pack && nla_len(pack) ? pack : NULL;
}

/*
 * Whether a unicast or multicast request carries exactly one of payload and
 * pack, checked before the sender is identified, like the policy.
 */
static int ipcon_check_msg_attrs(struct genl_info *info)
{
	struct nlattr *payload = info->attrs[IPCON_A_PAYLOAD];
	struct nlattr *pack = ipcon_request_pack(info);

	if (payload && pack) {
		NL_SET_ERR_MSG_ATTR(info->extack, pack,
				    "give exactly one of payload or pack");
		return -EINVAL;
	}
	if (!payload && !pack) {
		/* Reported as payload missing: a plain message lacks it. */
#ifdef NL_SET_ERR_ATTR_MISS
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, IPCON_A_PAYLOAD);
#endif
		NL_SET_ERR_MSG(info->extack, "missing attribute payload or pack");
		return -EINVAL;
	}
	return 0;
}

/*
 * A unicast's stamp-room, when given, is exactly stamp-room-len bytes: the
 * policy bounds it from above only.
 */
static int ipcon_check_stamp_room(struct genl_info *info)
{
	struct nlattr *room = info->attrs[IPCON_A_STAMP_ROOM];

	if (!room || nla_len(room) == IPCON_STAMP_ROOM_LEN)
		return 0;
	NL_SET_ERR_MSG_ATTR(info->extack, room,
			    "stamp-room must be stamp-room-len bytes");
	return -EINVAL;
}

/*
 * The messages of a unicast or multicast request into @desc: its payload, or
 * the 1..max-pack entries of its pack, each with exactly one payload.  The
 * module checks payload lengths against max_payload itself (not in the
 * policy), so every oversized payload gets EMSGSIZE with a message.
 */
static int ipcon_request_msgs(struct genl_info *info,
			      struct ipcon_msg_desc *desc)
{
	struct nlattr *payload = info->attrs[IPCON_A_PAYLOAD];
	struct nlattr *pack = ipcon_request_pack(info);
	unsigned int max = READ_ONCE(ipcon_max_payload);
	const struct nlattr *entry, *one;
	int rem;

	if (payload) {
		if (nla_len(payload) > max)
			goto too_big;
		desc->payload = nla_data(payload);
		desc->len = nla_len(payload);
		desc->count = 1;
		return 0;
	}
	desc->count = 0;
	nla_for_each_nested(entry, pack, rem) {
		one = ipcon_pack_payload(entry);
		if (!one) {
			NL_SET_ERR_MSG_ATTR(info->extack, entry,
					    "pack entry without payload");
			return -EINVAL;
		}
		if (nla_len(entry) > nla_total_size(nla_len(one))) {
			NL_SET_ERR_MSG_ATTR(info->extack, entry,
					    "pack entry holds more than one payload");
			return -EINVAL;
		}
		if (nla_len(one) > max) {
			payload = (struct nlattr *)one;
			goto too_big;
		}
		if (++desc->count > IPCON_MAX_PACK) {
			NL_SET_ERR_MSG_ATTR(info->extack, entry,
					    "pack holds more than max-pack messages");
			return -EMSGSIZE;
		}
	}
	if (!desc->count) {
		NL_SET_ERR_MSG_ATTR(info->extack, pack, "pack holds no message");
		return -EINVAL;
	}
	desc->pack = pack;
	return 0;
too_big:
	NL_SET_ERR_MSG_ATTR(info->extack, payload,
			    "payload exceeds module parameter max_payload");
	return -EMSGSIZE;
}

/*
 * Whether the delivery of @desc (stamp and group set) fits one datagram a
 * receiver's buffer of max-delivery-len holds, whatever report it carries.
 */
static int ipcon_check_delivery_size(const struct ipcon_msg_desc *desc,
				     struct genl_info *info)
{
	const struct ipcon_report worst = {
		.missed = 1, .refused = 1, .culprit = true,
	};
	size_t name_len, group_len;

	/* One message always fits: at most 2048 bytes of payload. */
	if (!desc->pack)
		return 0;
	ipcon_name_lens(desc, &name_len, &group_len);
	if (ipcon_delivery_size(desc, name_len, group_len, &worst) <=
	    IPCON_MAX_DELIVERY_LEN)
		return 0;
	NL_SET_ERR_MSG_ATTR(info->extack, desc->pack,
			    "pack does not fit one datagram of max-delivery-len");
	return -EMSGSIZE;
}

static size_t ipcon_failure_size(const char *text)
{
	size_t size = 4 * nla_total_size(sizeof(u32)) +	/* ticket, errno, port, missed */
		      2 * nla_total_size(IPCON_MAX_NAME_LEN);	/* peer-, group-name */

	if (text)
		size += nla_total_size(strlen(text) + 1);
	return size;
}

/* Copy the target attributes of the failed request, as it gave them. */
static int ipcon_put_target(struct sk_buff *skb, struct genl_info *info)
{
	static const int types[] = {
		IPCON_A_PEER_NAME, IPCON_A_PORT, IPCON_A_GROUP_NAME,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		struct nlattr *attr = info->attrs[types[i]];

		if (!attr)
			continue;
		/* Names passed the NUL-string policy: strlen stays in bounds. */
		if (types[i] == IPCON_A_PORT ?
		    nla_put_u32(skb, types[i], nla_get_u32(attr)) :
		    nla_put_string(skb, types[i], nla_data(attr)))
			return -EMSGSIZE;
	}
	return 0;
}

/* The send-failed notice of @info's request, failed with @err, or NULL. */
static struct sk_buff *ipcon_failure_build(struct genl_info *info, int err,
					   const char *text, u32 missed)
{
	struct sk_buff *skb;
	void *hdr;

	skb = ipcon_skb_new(ipcon_failure_size(text));
	if (!skb)
		return NULL;
	hdr = genlmsg_put(skb, 0, info->snd_seq, &ipcon_family, 0,
			  IPCON_CMD_SEND_FAILED);
	if (!hdr ||
	    nla_put_u32(skb, IPCON_A_TICKET,
			nla_get_u32(info->attrs[IPCON_A_TICKET])) ||
	    nla_put_u32(skb, IPCON_A_ERROR, -err) ||
	    (text && nla_put_string(skb, IPCON_A_ERROR_MSG, text)) ||
	    ipcon_put_target(skb, info) ||
	    (missed && nla_put_u32(skb, IPCON_A_MISSED, missed))) {
		nlmsg_free(skb);
		return NULL;
	}
	genlmsg_end(skb, hdr);
	return skb;
}

/*
 * A posted request (one with a ticket) of @from failed with @err after @from
 * was identified: queue a send-failed notice to its data socket instead of
 * the error ACK it did not ask for.  Like any delivery the notice claims the
 * pending missed count; when it cannot be queued (the sender's own queue is
 * full, no memory) the sender's missed counter grows by one more, so its next
 * delivery tells it that something was lost: never silent.
 */
static void ipcon_post_failed(struct ipcon_peer *from, struct genl_info *info,
			      int err)
{
	const char *text = info->extack ? info->extack->_msg : NULL;
	u32 missed = atomic_xchg(&from->missed, 0);
	struct sk_buff *skb = ipcon_failure_build(info, err, text, missed);
	int ret = ipcon_queue(from, skb, 1);

	if (ret && missed)
		atomic_add(missed, &from->missed);
	/* A sender whose data socket is gone learns nothing any more. */
	if (ret && ret != -ECONNREFUSED)
		atomic_inc(&from->missed);
}

/*
 * Turn the failure of a request of @from into a send-failed notice if the
 * request was posted: netlink then sees success and sends no error ACK.
 */
static int ipcon_request_done(struct ipcon_peer *from, struct genl_info *info,
			      int err)
{
	if (!err || !info->attrs[IPCON_A_TICKET])
		return err;
	ipcon_post_failed(from, info, err);
	return 0;
}

/* The sending socket's peer, pinned, or NULL (with the extack set). */
static struct ipcon_peer *ipcon_sender_get(struct ipcon_net *inet,
					   struct sk_buff *skb,
					   struct genl_info *info)
{
	struct ipcon_peer *from;

	rcu_read_lock();
	from = ipcon_peer_sender_rcu(inet, skb, info);
	if (from && !refcount_inc_not_zero(&from->ref))
		from = NULL;
	rcu_read_unlock();
	if (!from)
		NL_SET_ERR_MSG(info->extack, "socket is not a registered peer");
	return from;
}

/*
 * Whether @to takes messages from the sender of @skb: its access rule and
 * the request's expect-uid.  -EACCES or -EPERM with the reason otherwise.
 */
static int ipcon_may_send(struct sk_buff *skb, struct net *net,
			  struct genl_info *info, const struct ipcon_peer *to)
{
	int err = ipcon_check_expected_uid(info, to);

	if (err)
		return err;
	if (ipcon_access_admits(&to->access, to->kuid) ||
	    netlink_ns_capable(skb, net->user_ns, CAP_NET_ADMIN))
		return 0;
	NL_SET_ERR_MSG(info->extack,
		       "receiver does not accept messages from this user");
	return -EACCES;
}

static int ipcon_unicast(struct sk_buff *skb, struct net *net,
			 struct ipcon_net *inet, struct ipcon_peer *from,
			 struct genl_info *info)
{
	struct nlattr *name_attr = info->attrs[IPCON_A_PEER_NAME];
	struct nlattr *port_attr = info->attrs[IPCON_A_PORT];
	struct ipcon_peer *to;
	struct ipcon_stamp stamp;
	struct ipcon_msg_desc desc = {
		.cmd = IPCON_CMD_UNICAST_MSG,
		.stamp = &stamp,
	};
	int err;

	err = ipcon_request_msgs(info, &desc);
	if (err)
		return err;

	rcu_read_lock();
	if (name_attr)
		to = ipcon_peer_by_name_rcu(inet, nla_data(name_attr));
	else
		to = ipcon_peer_by_data_port_rcu(inet, nla_get_u32(port_attr));
	if (!to || !refcount_inc_not_zero(&to->ref)) {
		rcu_read_unlock();
		NL_SET_ERR_MSG_ATTR(info->extack, name_attr ?: port_attr,
				    "no such peer");
		return -ENOENT;
	}
	ipcon_stamp_current(&stamp, from, net);
	rcu_read_unlock();

	err = ipcon_may_send(skb, net, info, to);
	if (err)
		goto out_put;
	/* All or none: a pack goes as one datagram, or not at all. */
	if (desc.pack && !(to->flags & IPCON_PEER_FLAGS_PACKED)) {
		NL_SET_ERR_MSG_ATTR(info->extack, desc.pack,
				    "receiver did not register packed");
		err = -EOPNOTSUPP;
		goto out_put;
	}
	err = ipcon_check_delivery_size(&desc, info);
	if (err)
		goto out_put;
	if (ipcon_forwardable(skb, info, &desc)) {
		desc.request = skb;
		desc.room = info->attrs[IPCON_A_STAMP_ROOM];
	}
	err = ipcon_deliver(to, &desc, NULL, false);
	if (!err) {
		atomic64_add(desc.count, &from->tx_msgs);
	} else if (err == -EAGAIN) {
		NL_SET_ERR_MSG(info->extack, "receiver queue is full");
	} else if (err == -ECONNREFUSED) {
		NL_SET_ERR_MSG(info->extack, "receiver is gone");
		err = -ENOENT;
	}
out_put:
	ipcon_peer_put(to);
	return err;
}

int ipcon_nl_unicast_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr *attrs[IPCON_A_MAX + 1];
	struct ipcon_peer *from;
	int err;

	err = ipcon_nl_parse(info, ipcon_unicast_nl_policy, attrs);
	if (err)
		return err;
	/* Like policy errors, malformed requests get an error ACK, posted too. */
	err = ipcon_check_peer_ref(info);
	if (err)
		return err;
	err = ipcon_check_msg_attrs(info);
	if (err)
		return err;
	err = ipcon_check_stamp_room(info);
	if (err)
		return err;
	from = ipcon_sender_get(inet, skb, info);
	if (!from)
		return -ENOTCONN;
	err = ipcon_unicast(skb, net, inet, from, info);
	err = ipcon_request_done(from, info, err);
	ipcon_peer_put(from);
	return err;
}

void ipcon_last_free(struct ipcon_last_msg *last)
{
	if (!last)
		return;
	put_pid(last->stamp.pid);
	kfree(last);
}

/* What a cached message of @cap bytes counts against its owner's user. */
static long ipcon_last_size(u32 cap)
{
	return sizeof(struct ipcon_last_msg) + cap;
}

/* Forget the group's last message.  group->lock held. */
void ipcon_last_drop(struct ipcon_group *group)
{
	lockdep_assert_held(&group->lock);
	WRITE_ONCE(group->has_last, false);
	if (!group->last)
		return;
	ipcon_user_uncharge(group->owner->user, IPCON_USER_CACHED,
			    ipcon_last_size(group->last->cap));
	ipcon_last_free(group->last);
	group->last = NULL;
}

/*
 * Room a cached last message may keep beyond its length: a group publishing
 * messages of about one size reuses its buffer, and no group pins much more
 * than its last message.
 */
#define IPCON_LAST_SLACK	64

/*
 * Keep @len bytes as the group's last message, counted against the owner's
 * user (the difference to the previous one).  group->lock held.
 */
static int ipcon_store_last(struct ipcon_group *group,
			    const struct ipcon_stamp *stamp,
			    const void *payload, u32 len,
			    struct netlink_ext_ack *extack)
{
	struct ipcon_user *user = group->owner->user;
	struct ipcon_last_msg *last = group->last;

	if (!last || last->cap < len || last->cap - len > IPCON_LAST_SLACK) {
		long old = last ? ipcon_last_size(last->cap) : 0;
		long delta = ipcon_last_size(len) - old;
		int err;

		if (delta > 0) {
			err = ipcon_user_charge(user, IPCON_USER_CACHED, delta,
						extack);
			if (err)
				return err;
		}
		last = kmalloc(ipcon_last_size(len), GFP_KERNEL_ACCOUNT);
		if (!last) {
			if (delta > 0)
				ipcon_user_uncharge(user, IPCON_USER_CACHED,
						    delta);
			return -ENOMEM;
		}
		if (delta < 0)
			ipcon_user_uncharge(user, IPCON_USER_CACHED, -delta);
		last->cap = len;
		ipcon_last_free(group->last);
		group->last = last;
	} else {
		put_pid(last->stamp.pid);
	}
	last->stamp = *stamp;
	get_pid(last->stamp.pid);
	last->len = len;
	memcpy(last->data, payload, len);
	WRITE_ONCE(group->last_len, len);
	WRITE_ONCE(group->has_last, true);
	return 0;
}

static int ipcon_multicast_reply(struct sk_buff *reply, struct genl_info *info,
				 u32 delivered, u32 dropped)
{
	void *hdr;

	hdr = genlmsg_put_reply(reply, info, &ipcon_family, 0,
				IPCON_CMD_MULTICAST);
	if (!hdr ||
	    nla_put_u32(reply, IPCON_A_DELIVERED, delivered) ||
	    nla_put_u32(reply, IPCON_A_DROPPED, dropped)) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

/*
 * What a fan-out's delivery of @count messages to @to ended with: counted in
 * @delivered, or in @dropped and @to's missed count; nothing when @to's
 * socket is gone.
 */
static void ipcon_fanout_tally(struct ipcon_peer *to, int err, u32 count,
			       u32 *delivered, u32 *dropped)
{
	if (!err) {
		*delivered += count;
	} else if (err != -ECONNREFUSED) {
		atomic_add(count, &to->missed);
		*dropped += count;
	}
}

/*
 * Queue a fan-out's messages to subscriber @to: a pack in one datagram when
 * @to registered packed, else one message per datagram.
 */
static void ipcon_fanout_to(struct ipcon_peer *to,
			    const struct ipcon_msg_desc *desc,
			    struct sk_buff **shared, bool last,
			    u32 *delivered, u32 *dropped)
{
	const struct nlattr *entry, *payload;
	struct ipcon_msg_desc one;
	int rem;

	if (!desc->pack || (to->flags & IPCON_PEER_FLAGS_PACKED)) {
		ipcon_fanout_tally(to, ipcon_deliver(to, desc, shared, last),
				   desc->count, delivered, dropped);
		return;
	}
	one = *desc;
	one.pack = NULL;
	one.count = 1;
	nla_for_each_nested(entry, desc->pack, rem) {
		payload = ipcon_pack_payload(entry);
		one.payload = nla_data(payload);
		one.len = nla_len(payload);
		ipcon_fanout_tally(to, ipcon_deliver(to, &one, NULL, false), 1,
				   delivered, dropped);
	}
}

/* The payload the group keeps as its last message: the last of a pack. */
static void ipcon_last_payload(const struct ipcon_msg_desc *desc,
			       const void **payload, u32 *len)
{
	const struct nlattr *entry, *last = NULL;
	int rem;

	*payload = desc->payload;
	*len = desc->len;
	if (!desc->pack)
		return;
	nla_for_each_nested(entry, desc->pack, rem)
		last = ipcon_pack_payload(entry);
	*payload = nla_data(last);
	*len = nla_len(last);
}

static int ipcon_multicast(struct net *net, struct ipcon_peer *owner,
			   struct genl_info *info)
{
	struct nlattr *group_attr = info->attrs[IPCON_A_GROUP_NAME];
	bool sync = nla_get_flag(info->attrs[IPCON_A_SYNC]);
	struct sk_buff *shared, *reply = NULL;
	struct ipcon_group *group = NULL;
	struct ipcon_stamp stamp;
	struct ipcon_msg_desc desc = {
		.cmd = IPCON_CMD_GROUP_MSG,
		.stamp = &stamp,
	};
	u32 delivered = 0, dropped = 0;
	struct ipcon_sub *sub;
	const void *last;
	u32 last_len;
	int err;

	err = ipcon_request_msgs(info, &desc);
	if (err)
		return err;

	rcu_read_lock();
	group = ipcon_group_find_rcu(owner, nla_data(group_attr));
	if (!group || !refcount_inc_not_zero(&group->ref)) {
		rcu_read_unlock();
		NL_SET_ERR_MSG_ATTR(info->extack, group_attr,
				    "no such group of this peer");
		return -ENOENT;
	}
	ipcon_stamp_current(&stamp, owner, net);
	rcu_read_unlock();

	desc.group = group->name;
	/* Subscribers mostly see pids as the owner does. */
	desc.shared_ns = owner->pid_ns;
	err = ipcon_check_delivery_size(&desc, info);
	if (err)
		goto out_put;

	err = -ENOMEM;
	shared = ipcon_msg_build(&desc, &(struct ipcon_report) {},
				 desc.shared_ns);
	if (!shared)
		goto out_put;
	if (sync) {
		reply = genlmsg_new(2 * nla_total_size(sizeof(u32)),
				    GFP_KERNEL_ACCOUNT);
		if (!reply)
			goto out_free;
	}

	mutex_lock(&group->lock);
	if (group->dead) {
		err = -ENOENT;
		NL_SET_ERR_MSG_ATTR(info->extack, group_attr,
				    "no such group of this peer");
		goto out_unlock;
	}
	ipcon_last_payload(&desc, &last, &last_len);
	err = ipcon_store_last(group, &stamp, last, last_len, info->extack);
	if (err)
		goto out_unlock;
	list_for_each_entry(sub, &group->subs, group_node)
		ipcon_fanout_to(sub->peer, &desc, &shared,
				list_is_last(&sub->group_node, &group->subs),
				&delivered, &dropped);
	err = 0;
	atomic64_add(desc.count, &group->tx_msgs);
	atomic64_add(desc.count, &group->owner->tx_msgs);
out_unlock:
	mutex_unlock(&group->lock);
out_free:
	/* NULL when the last subscriber took it. */
	consume_skb(shared);
out_put:
	ipcon_group_put(group);

	if (reply) {
		if (err) {
			nlmsg_free(reply);
			return err;
		}
		return ipcon_multicast_reply(reply, info, delivered, dropped);
	}
	return err;
}

int ipcon_nl_multicast_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct nlattr *attrs[IPCON_A_MAX + 1];
	struct ipcon_peer *owner;
	int err;

	err = ipcon_nl_parse(info, ipcon_multicast_nl_policy, attrs);
	if (err)
		return err;
	/* Like policy errors, malformed requests get an error ACK, posted too. */
	if (ipcon_nl_attr_missing(info, IPCON_A_GROUP_NAME))
		return -EINVAL;
	err = ipcon_check_msg_attrs(info);
	if (err)
		return err;
	/* A posted request has no reply to carry the fan-out report. */
	if (info->attrs[IPCON_A_TICKET] && info->attrs[IPCON_A_SYNC]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[IPCON_A_SYNC],
				    "sync cannot be combined with ticket");
		return -EINVAL;
	}
	owner = ipcon_sender_get(ipcon_net(net), skb, info);
	if (!owner)
		return -ENOTCONN;
	err = ipcon_multicast(net, owner, info);
	err = ipcon_request_done(owner, info, err);
	ipcon_peer_put(owner);
	return err;
}
