// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: introspection - peer-get and group-get replies and dumps.
 *
 * Dumps walk the registry under RCU; a dump that spans registry changes is
 * flagged NLM_F_DUMP_INTR through the namespace's generation counter.
 *
 * What a requester is shown depends on who it is: pids as its pid namespace
 * sees them; the message counters of other users' peers, and the
 * subscribers, message count and last message length of a group whose
 * access rule does not admit it, only with CAP_NET_ADMIN over the network
 * namespace (the attributes are left out otherwise).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/pid_namespace.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <net/sock.h>

#include "ipcon.h"

size_t ipcon_peer_info_size(void)
{
	return nla_total_size(IPCON_MAX_NAME_LEN) +
	       5 * nla_total_size(sizeof(u32)) +	/* port pid uid flags groups */
	       3 * nla_total_size_64bit(sizeof(u64));	/* tx rx rx-dropped */
}

/*
 * The requester of a reply or dump (current) in @net.  Not audited: being
 * shown less is not a denial.
 */
void ipcon_viewer_init(struct ipcon_viewer *viewer, const struct net *net)
{
	viewer->pid_ns = task_active_pid_ns(current);
	viewer->euid = current_euid();
	viewer->admin = ns_capable_noaudit(net->user_ns, CAP_NET_ADMIN);
}

int ipcon_fill_peer(struct sk_buff *skb, const struct ipcon_peer *peer,
		    const struct ipcon_viewer *viewer, u32 portid, u32 seq,
		    int flags, struct netlink_callback *cb)
{
	bool counters = viewer->admin || uid_eq(viewer->euid, peer->kuid);
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &ipcon_family, flags,
			  IPCON_CMD_PEER_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	if ((!(peer->flags & IPCON_PEER_FLAGS_ANONYMOUS) &&
	     nla_put_string(skb, IPCON_A_PEER_NAME, peer->name)) ||
	    nla_put_u32(skb, IPCON_A_PORT, peer->data.port) ||
	    nla_put_u32(skb, IPCON_A_PID,
			ipcon_pid_nr(peer->pid, viewer->pid_ns)) ||
	    nla_put_u32(skb, IPCON_A_UID, peer->uid) ||
	    nla_put_u32(skb, IPCON_A_PEER_FLAGS, peer->flags) ||
	    (counters &&
	     (nla_put_u64_64bit(skb, IPCON_A_TX_MSGS,
				atomic64_read(&peer->tx_msgs), IPCON_A_PAD) ||
	      nla_put_u64_64bit(skb, IPCON_A_RX_MSGS,
				atomic64_read(&peer->rx_msgs), IPCON_A_PAD) ||
	      nla_put_u64_64bit(skb, IPCON_A_RX_DROPPED,
				atomic64_read(&peer->rx_dropped),
				IPCON_A_PAD))) ||
	    nla_put_u32(skb, IPCON_A_GROUPS, READ_ONCE(peer->n_groups))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

size_t ipcon_group_info_size(void)
{
	return 2 * nla_total_size(IPCON_MAX_NAME_LEN) +
	       5 * nla_total_size(sizeof(u32)) +	/* port access gid subs len */
	       nla_total_size_64bit(sizeof(u64));	/* tx */
}

int ipcon_fill_group(struct sk_buff *skb, const struct ipcon_group *group,
		     const struct ipcon_viewer *viewer, u32 portid, u32 seq,
		     int flags, struct netlink_callback *cb)
{
	const struct ipcon_peer *owner = group->owner;
	bool details = viewer->admin || ipcon_group_admits(group);
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &ipcon_family, flags,
			  IPCON_CMD_GROUP_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	if ((!(owner->flags & IPCON_PEER_FLAGS_ANONYMOUS) &&
	     nla_put_string(skb, IPCON_A_PEER_NAME, owner->name)) ||
	    nla_put_u32(skb, IPCON_A_PORT, owner->data.port) ||
	    nla_put_string(skb, IPCON_A_GROUP_NAME, group->name) ||
	    nla_put_u32(skb, IPCON_A_ACCESS, group->access) ||
	    (group->access == IPCON_GROUP_ACCESS_GID &&
	     nla_put_u32(skb, IPCON_A_GID, group->gid)) ||
	    (details &&
	     (nla_put_u32(skb, IPCON_A_SUBSCRIBERS, READ_ONCE(group->n_subs)) ||
	      nla_put_u64_64bit(skb, IPCON_A_TX_MSGS,
				atomic64_read(&group->tx_msgs), IPCON_A_PAD) ||
	      (READ_ONCE(group->has_last) &&
	       nla_put_u32(skb, IPCON_A_LAST_MSG_LEN,
			   READ_ONCE(group->last_len)))))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Whether @peer passes a dump's peer-name and port filters (where given). */
static bool ipcon_peer_matches(const struct ipcon_peer *peer,
			       struct nlattr **attrs)
{
	struct nlattr *name = attrs[IPCON_A_PEER_NAME];
	struct nlattr *port = attrs[IPCON_A_PORT];

	if (name && ((peer->flags & IPCON_PEER_FLAGS_ANONYMOUS) ||
		     strcmp(peer->name, nla_data(name))))
		return false;
	return !port || peer->data.port == nla_get_u32(port);
}

/*
 * Resumes at peer cb->args[0].  The filters come from the request, validated
 * against the dump's policy and kept for the whole dump.
 */
int ipcon_nl_peer_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr **attrs = ipcon_nl_dump_attrs(cb);
	long start = cb->args[0], idx = 0;
	struct ipcon_viewer viewer;
	struct ipcon_peer *peer;

	ipcon_viewer_init(&viewer, net);
	rcu_read_lock();
	cb->seq = atomic_read(&inet->gen);
	list_for_each_entry_rcu(peer, &inet->peers, list) {
		if (idx >= start && ipcon_peer_matches(peer, attrs) &&
		    ipcon_fill_peer(skb, peer, &viewer,
				    NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI, cb))
			break;
		idx++;
	}
	rcu_read_unlock();

	cb->args[0] = idx;
	return skb->len;
}

/*
 * Resumes at peer cb->args[0], group cb->args[1] of that peer.  The peer-name
 * and group-name filters come from the request, as for the peer dump.
 */
int ipcon_nl_group_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr **attrs = ipcon_nl_dump_attrs(cb);
	struct nlattr *owner_filter = attrs[IPCON_A_PEER_NAME];
	struct nlattr *group_filter = attrs[IPCON_A_GROUP_NAME];
	long peer_start = cb->args[0], group_start = cb->args[1];
	long peer_idx = 0, group_idx = 0;
	struct ipcon_viewer viewer;
	struct ipcon_group *group;
	struct ipcon_peer *peer;

	ipcon_viewer_init(&viewer, net);
	rcu_read_lock();
	cb->seq = atomic_read(&inet->gen);
	list_for_each_entry_rcu(peer, &inet->peers, list) {
		if (peer_idx < peer_start ||
		    (owner_filter &&
		     ((peer->flags & IPCON_PEER_FLAGS_ANONYMOUS) ||
		      strcmp(peer->name, nla_data(owner_filter))))) {
			peer_idx++;
			continue;
		}
		group_idx = 0;
		list_for_each_entry_rcu(group, &peer->groups, owner_node) {
			if (group_idx >= group_start &&
			    (!group_filter ||
			     !strcmp(group->name, nla_data(group_filter))) &&
			    ipcon_fill_group(skb, group, &viewer,
					     NETLINK_CB(cb->skb).portid,
					     cb->nlh->nlmsg_seq, NLM_F_MULTI,
					     cb))
				goto out;
			group_idx++;
		}
		group_start = 0;
		group_idx = 0;
		peer_idx++;
	}
out:
	rcu_read_unlock();

	cb->args[0] = peer_idx;
	cb->args[1] = group_idx;
	return skb->len;
}
