// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: kernel events on the generic netlink multicast group kevent.
 *
 * Every event is numbered and sent with the namespace lock held, so the
 * sequence (+1 per event, per namespace) is the order of the changes.  A
 * number is used up even when nobody listens or the message cannot be
 * allocated: listeners then see a gap, never a silent loss.
 */
#include "ipcon.h"

static size_t ipcon_kevent_size(void)
{
	return nla_total_size(sizeof(u32)) +		/* kevent-type */
	       nla_total_size_64bit(sizeof(u64)) +	/* kevent-seq */
	       2 * nla_total_size(IPCON_MAX_NAME_LEN) +	/* peer, group */
	       5 * nla_total_size(sizeof(u32));		/* port pid uid flags reason */
}

static void ipcon_kevent_send(struct ipcon_net *inet, struct net *net,
			      u32 type, const struct ipcon_peer *peer,
			      const struct ipcon_group *group, u32 reason)
{
	struct sk_buff *skb;
	void *hdr;
	u64 seq;

	lockdep_assert_held(&inet->lock);
	seq = ++inet->kevent_seq;

	if (!genl_has_listeners(&ipcon_family, net, IPCON_NLGRP_KEVENT))
		return;
	skb = genlmsg_new(ipcon_kevent_size(), GFP_KERNEL_ACCOUNT);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &ipcon_family, 0, IPCON_CMD_KEVENT);
	if (!hdr ||
	    nla_put_u32(skb, IPCON_A_KEVENT_TYPE, type) ||
	    nla_put_u64_64bit(skb, IPCON_A_KEVENT_SEQ, seq, IPCON_A_PAD) ||
	    (!(peer->flags & IPCON_PEER_FLAGS_ANONYMOUS) &&
	     nla_put_string(skb, IPCON_A_PEER_NAME, peer->name)) ||
	    nla_put_u32(skb, IPCON_A_PORT, peer->data.port) ||
	    nla_put_u32(skb, IPCON_A_PID,
			ipcon_pid_nr(peer->pid, inet->pid_ns)) ||
	    nla_put_u32(skb, IPCON_A_UID, peer->uid) ||
	    nla_put_u32(skb, IPCON_A_PEER_FLAGS, peer->flags) ||
	    (group && nla_put_string(skb, IPCON_A_GROUP_NAME, group->name)) ||
	    (reason && nla_put_u32(skb, IPCON_A_REASON, reason))) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	/* ESRCH (the last listener just left) is not an error here. */
	genlmsg_multicast_netns(&ipcon_family, net, skb, 0, IPCON_NLGRP_KEVENT,
				GFP_KERNEL_ACCOUNT);
}

void ipcon_kevent_peer(struct ipcon_net *inet, struct net *net,
		       const struct ipcon_peer *peer, u32 type, u32 reason)
{
	ipcon_kevent_send(inet, net, type, peer, NULL, reason);
}

void ipcon_kevent_group(struct ipcon_net *inet, struct net *net,
			const struct ipcon_group *group, u32 type, u32 reason)
{
	ipcon_kevent_send(inet, net, type, group->owner, group, reason);
}
