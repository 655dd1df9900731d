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
 *
 * Identity: a peer is its sockets, never their port numbers.  Each port table
 * entry holds a reference on its socket; requests are matched by the sending
 * socket itself (NETLINK_CB(skb).sk) and deliveries are queued on the held
 * socket, so a socket that later gets a dead peer's port number inherits
 * nothing.  A peer's memory, socket and pid references are released by a
 * work item one RCU grace period after its last reference is gone, so code
 * that found it under RCU may still look at its sockets.
 *
 * Memory: everything a request makes the module allocate (peers, groups,
 * memberships, cached messages, deliveries, replies, events) is allocated
 * with __GFP_ACCOUNT, charged to the memory cgroup of the task that caused
 * it.
 */
#ifndef _IPCON_PRIV_H
#define _IPCON_PRIV_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/version.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "ipcon-nl-gen.h"

#define IPCON_HASH_BITS 8

/* Module parameters (main.c), read with READ_ONCE. */
extern unsigned int ipcon_max_peers;
extern unsigned int ipcon_max_groups_per_peer;
extern unsigned int ipcon_max_subscriptions_per_peer;
extern unsigned int ipcon_max_payload;
extern bool ipcon_forward_unicast;

/* Where a peer's memory and socket references are released (main.c). */
extern struct workqueue_struct *ipcon_wq;

/*
 * An entry of the per-namespace port table: a peer's data or control socket.
 * Hashed by port number, but the socket is what identifies the peer: while a
 * released socket's peer waits for the release notifier, another socket may
 * already have been given the same number, so one number may have two entries
 * (the dead socket's and the new one's).
 */
struct ipcon_port_ref {
	struct hlist_node node;
	u32 port;
	struct sock *sk;		/* holds a reference */
	struct ipcon_peer *peer;
};

/*
 * Who sent a message, as stamped into deliveries.  The sender's pid is kept
 * as its struct pid and given each receiver as the number the receiver's pid
 * namespace knows it by (0 if none), never as a number the sender's own
 * namespace chose.
 */
struct ipcon_stamp {
	char name[IPCON_MAX_NAME_LEN];	/* empty for an anonymous peer */
	u32 port;
	u32 uid;
	struct pid *pid;		/* thread group; counted when cached */
};

/* Who may send to a peer or join a group (ownership.c). */
struct ipcon_access {
	u32 rule;			/* enum ipcon_group_access */
	u32 gid;			/* as given, for replies */
	kgid_t kgid;
};

/*
 * The overflows of a peer's receive queue not yet reported to it: unicasts
 * refused, and the sender most of the queue was from at the first overflow.
 */
struct ipcon_overrun {
	spinlock_t lock;		/* guards the members below */
	bool pending;			/* anything below; read locklessly */
	u32 refused;
	bool known;			/* port and uid found */
	u32 port;
	u32 uid;
};

struct ipcon_peer {
	struct list_head list;		/* ipcon_net.peers (RCU) */
	struct hlist_node name_node;	/* ipcon_net.names (RCU), named peers */
	struct ipcon_port_ref data;	/* identity; always hashed while live */
	struct ipcon_port_ref ctrl;	/* hashed once a control socket attached */
	struct rcu_work free_work;	/* after the last reference */
	refcount_t ref;

	u64 cookie;
	u32 flags;			/* enum ipcon_peer_flags */
	u32 uid;			/* registrant's euid, netns user namespace */
	kuid_t kuid;			/* the same, for access checks */
	struct ipcon_user *user;	/* what kuid holds (referenced) */
	struct pid *pid;		/* registrant's thread group (counted) */
	struct pid_namespace *pid_ns;	/* registrant's: how it sees pids */
	char name[IPCON_MAX_NAME_LEN];
	struct ipcon_access access;	/* who may send to it */

	/* Protected by ipcon_net.lock; counts read locklessly by dumps. */
	bool dead;
	struct list_head groups;	/* owned groups (RCU for readers) */
	struct list_head subs;		/* ipcon_sub.peer_node */
	u32 n_groups;
	u32 n_subs;

	/* Drops not yet reported; claimed by the delivery reporting them. */
	atomic_t missed;
	struct ipcon_overrun overrun;
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
	struct ipcon_access access;	/* who may join */

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
	/* How kernel events show pids: the namespace's creator's view. */
	struct pid_namespace *pid_ns;
	struct ipcon_policy *policy;	/* reserved names, or NULL */
	struct ipcon_policy_load *load;	/* a policy being loaded, or NULL */
	/* Port of the socket loading a policy, or 0: the notifier's hint. */
	u32 load_port;
};

/* A message to deliver: what the builder needs besides the missed count. */
struct ipcon_msg_desc {
	u8 cmd;				/* IPCON_CMD_UNICAST_MSG or _GROUP_MSG */
	const struct ipcon_stamp *stamp;
	const char *group;		/* NULL for unicast */
	const void *payload;
	u32 len;
	/*
	 * A pack (IPCON_A_PACK, checked) instead of payload and len: @count
	 * messages, delivered in one datagram to a peer registered packed.
	 */
	const struct nlattr *pack;
	u32 count;			/* messages: 1 without a pack */
	bool replayed;
	/* The pid namespace a shared copy of the message was built for. */
	struct pid_namespace *shared_ns;
	/*
	 * A posted unicast that may become its own delivery (deliver.c,
	 * ipcon_forwardable()): the request's skb and its stamp-room.
	 */
	struct sk_buff *request;
	struct nlattr *room;
};

/* Who asked for a peer-get or group-get reply, and so what it is shown. */
struct ipcon_viewer {
	struct pid_namespace *pid_ns;	/* pids as the requester sees them */
	kuid_t euid;			/* sees its own peers' counters */
	bool admin;			/* CAP_NET_ADMIN over the namespace */
};

/* What the per-user limits count (user.c). */
enum ipcon_user_count {
	IPCON_USER_PEERS,
	IPCON_USER_GROUPS,
	IPCON_USER_SUBS,
	IPCON_USER_CACHED,		/* bytes of cached last messages */
	IPCON_USER_NR
};

struct ipcon_user;
struct ipcon_policy;
struct ipcon_policy_load;

/* netns.c */
struct ipcon_net *ipcon_net(const struct net *net);
int ipcon_netns_register(void);
void ipcon_netns_unregister(void);

/* peer.c */
bool ipcon_name_valid(const char *name);
int ipcon_check_peer_ref(struct genl_info *info);
struct ipcon_peer *ipcon_peer_by_sock_rcu(struct ipcon_net *inet,
					  const struct sock *sk, u32 port);
struct ipcon_peer *ipcon_peer_sender_rcu(struct ipcon_net *inet,
					 const struct sk_buff *skb,
					 const struct genl_info *info);
struct ipcon_peer *ipcon_peer_by_data_port_rcu(struct ipcon_net *inet,
					       u32 port);
struct ipcon_peer *ipcon_peer_by_name_rcu(struct ipcon_net *inet,
					  const char *name);
int ipcon_check_expected_uid(struct genl_info *info,
			     const struct ipcon_peer *peer);
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
u32 ipcon_pid_nr(struct pid *pid, struct pid_namespace *ns);
void ipcon_last_free(struct ipcon_last_msg *last);
void ipcon_last_drop(struct ipcon_group *group);
int ipcon_deliver(struct ipcon_peer *to, const struct ipcon_msg_desc *desc,
		  struct sk_buff **shared, bool last);
int ipcon_replay_last(struct ipcon_group *group, struct ipcon_peer *to);

/* kevent.c */
void ipcon_kevent_peer(struct ipcon_net *inet, struct net *net,
		       const struct ipcon_peer *peer, u32 type, u32 reason);
void ipcon_kevent_group(struct ipcon_net *inet, struct net *net,
			const struct ipcon_group *group, u32 type, u32 reason);

/* dump.c */
void ipcon_viewer_init(struct ipcon_viewer *viewer, const struct net *net);
int ipcon_fill_peer(struct sk_buff *skb, const struct ipcon_peer *peer,
		    const struct ipcon_viewer *viewer, u32 portid, u32 seq,
		    int flags, struct netlink_callback *cb);
size_t ipcon_peer_info_size(void);
int ipcon_fill_group(struct sk_buff *skb, const struct ipcon_group *group,
		     const struct ipcon_viewer *viewer, u32 portid, u32 seq,
		     int flags, struct netlink_callback *cb);
size_t ipcon_group_info_size(void);

/* ownership.c */
bool ipcon_name_permitted(struct ipcon_net *inet, const char *name);
void ipcon_policy_free(struct ipcon_net *inet);
void ipcon_policy_port_released_locked(struct ipcon_net *inet, u32 port);
int ipcon_access_parse(struct ipcon_access *access, struct net *net,
		       struct genl_info *info);
bool ipcon_access_admits(const struct ipcon_access *access, kuid_t owner);
int ipcon_access_put(struct sk_buff *skb, const struct ipcon_access *access);

/* user.c */
void ipcon_users_init(void);
void ipcon_users_exit(void);
struct ipcon_user *ipcon_user_get(kuid_t uid);
void ipcon_user_put(struct ipcon_user *user);
int ipcon_user_charge(struct ipcon_user *user, enum ipcon_user_count what,
		      long amount, struct netlink_ext_ack *extack);
void ipcon_user_uncharge(struct ipcon_user *user, enum ipcon_user_count what,
			 long amount);

/* Attribute helpers. */
static inline const char *ipcon_attr_str(struct genl_info *info, int type)
{
	return info->attrs[type] ? nla_data(info->attrs[type]) : NULL;
}

#endif /* _IPCON_PRIV_H */
