/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipcon kernel module: private definitions shared by its files.
 *
 * Locking (see README.md for the full picture):
 *  - ipcon_net.lock (mutex, one per network namespace) serialises every change
 *    of the registry (peers, names, ports, groups, memberships) and the kernel
 *    events, so kevent-seq order is the order of the changes.
 *  - ipcon_group.lock (mutex, one per group) serialises a group's subscriber
 *    list, its cached last message and its fan-out, so a replay queued at join
 *    precedes every later message of the group.
 *  - The message path (unicast, multicast lookup, dumps) looks peers and groups
 *    up under RCU and pins what it needs with a reference before it sleeps.
 */
#ifndef _IPCON_PRIV_H
#define _IPCON_PRIV_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/version.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "ipcon-nl-gen.h"

#define IPCON_HASH_BITS 8

/* Module parameters (main.c), read with READ_ONCE. */
extern unsigned int ipcon_max_peers;
extern unsigned int ipcon_max_groups_per_peer;
extern unsigned int ipcon_max_subscriptions_per_peer;
extern unsigned int ipcon_max_payload;

/* An entry of the per-namespace port table: a peer's data or control socket. */
struct ipcon_port_ref {
	struct hlist_node node;
	u32 port;
	struct ipcon_peer *peer;
};

/* Who sent a message, as stamped into deliveries. */
struct ipcon_stamp {
	char name[IPCON_MAX_NAME_LEN];	/* empty for an anonymous peer */
	u32 port;
	u32 pid;
	u32 uid;
};

struct ipcon_peer {
	struct list_head list;		/* ipcon_net.peers (RCU) */
	struct hlist_node name_node;	/* ipcon_net.names (RCU), named peers */
	struct ipcon_port_ref data;	/* identity; always hashed while live */
	struct ipcon_port_ref ctrl;	/* hashed once a control socket attached */
	struct rcu_head rcu;
	refcount_t ref;

	u64 cookie;
	u32 flags;			/* enum ipcon_peer_flags */
	u32 pid;			/* registrant's tgid, its pid namespace */
	u32 uid;			/* registrant's euid, netns user namespace */
	kuid_t kuid;			/* the same, for access checks */
	char name[IPCON_MAX_NAME_LEN];

	/* Protected by ipcon_net.lock; counts read locklessly by dumps. */
	bool dead;
	struct list_head groups;	/* owned groups (RCU for readers) */
	struct list_head subs;		/* ipcon_sub.peer_node */
	u32 n_groups;
	u32 n_subs;

	/* Drops not yet reported; claimed by the delivery reporting them. */
	atomic_t missed;
	atomic64_t tx_msgs;
	atomic64_t rx_msgs;
	atomic64_t rx_dropped;
};

/* The last message published to a group, kept for replay on join. */
struct ipcon_last_msg {
	struct ipcon_stamp stamp;
	u32 len;
	u32 cap;
	u8 data[];
};

struct ipcon_group {
	struct list_head owner_node;	/* owner->groups (RCU) */
	struct rcu_head rcu;
	refcount_t ref;
	struct ipcon_peer *owner;	/* holds a reference */
	char name[IPCON_MAX_NAME_LEN];
	u32 access;			/* enum ipcon_group_access */
	u32 gid;			/* munged into the netns user namespace */
	kgid_t kgid;

	struct mutex lock;		/* guards the members below */
	bool dead;
	struct list_head subs;		/* ipcon_sub.group_node */
	u32 n_subs;			/* also read locklessly by dumps */
	struct ipcon_last_msg *last;
	u32 last_len;			/* read locklessly when has_last */
	bool has_last;
	atomic64_t tx_msgs;
};

/* A membership: @peer subscribed to @group. */
struct ipcon_sub {
	struct list_head group_node;	/* group->subs, group->lock */
	struct list_head peer_node;	/* peer->subs, ipcon_net.lock */
	struct ipcon_group *group;
	struct ipcon_peer *peer;
};

struct ipcon_net {
	struct mutex lock;		/* registry changes, kevents */
	struct list_head peers;
	DECLARE_HASHTABLE(names, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(ports, IPCON_HASH_BITS);
	u32 n_peers;
	u64 kevent_seq;
	atomic_t gen;			/* dump consistency (NLM_F_DUMP_INTR) */
};

/* A message to deliver: what the builder needs besides the missed count. */
struct ipcon_msg_desc {
	u8 cmd;				/* IPCON_CMD_UNICAST_MSG or _GROUP_MSG */
	const struct ipcon_stamp *stamp;
	const char *group;		/* NULL for unicast */
	const void *payload;
	u32 len;
	bool replayed;
};

/* netns.c */
struct ipcon_net *ipcon_net(const struct net *net);
int ipcon_netns_register(void);
void ipcon_netns_unregister(void);

/* peer.c */
bool ipcon_name_valid(const char *name);
int ipcon_check_peer_ref(struct genl_info *info);
struct ipcon_peer *ipcon_peer_by_port_rcu(struct ipcon_net *inet, u32 port);
struct ipcon_peer *ipcon_peer_by_data_port_rcu(struct ipcon_net *inet,
					       u32 port);
struct ipcon_peer *ipcon_peer_by_name_rcu(struct ipcon_net *inet,
					  const char *name);
void ipcon_peer_put(struct ipcon_peer *peer);
void ipcon_peer_remove(struct ipcon_net *inet, struct net *net,
		       struct ipcon_peer *peer, u32 reason);
void ipcon_port_released(struct net *net, u32 port);
void ipcon_stamp_current(struct ipcon_stamp *stamp,
			 const struct ipcon_peer *peer, struct net *net);

/* group.c */
struct ipcon_group *ipcon_group_find_rcu(struct ipcon_peer *owner,
					 const char *name);
void ipcon_group_put(struct ipcon_group *group);
void ipcon_group_remove(struct ipcon_net *inet, struct net *net,
			struct ipcon_group *group, u32 reason);
void ipcon_sub_remove(struct ipcon_sub *sub);

/* deliver.c */
int ipcon_deliver(struct net *net, struct ipcon_peer *to,
		  const struct ipcon_msg_desc *desc, struct sk_buff *shared);
int ipcon_replay_last(struct net *net, struct ipcon_group *group,
		      struct ipcon_peer *to);

/* kevent.c */
void ipcon_kevent_peer(struct ipcon_net *inet, struct net *net,
		       const struct ipcon_peer *peer, u32 type, u32 reason);
void ipcon_kevent_group(struct ipcon_net *inet, struct net *net,
			const struct ipcon_group *group, u32 type, u32 reason);

/* dump.c */
int ipcon_fill_peer(struct sk_buff *skb, const struct ipcon_peer *peer,
		    u32 portid, u32 seq, int flags,
		    struct netlink_callback *cb);
size_t ipcon_peer_info_size(void);
int ipcon_fill_group(struct sk_buff *skb, const struct ipcon_group *group,
		     u32 portid, u32 seq, int flags,
		     struct netlink_callback *cb);
size_t ipcon_group_info_size(void);

/* Attribute helpers. */
static inline const char *ipcon_attr_str(struct genl_info *info, int type)
{
	return info->attrs[type] ? nla_data(info->attrs[type]) : NULL;
}

#endif /* _IPCON_PRIV_H */
