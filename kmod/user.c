// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: per-user limits.
 *
 * What a user holds through the module (peers, groups, memberships, cached
 * message bytes) is counted per user over every network namespace together,
 * in the manner of the kernel's per-user ucounts, and limited by module
 * parameters.  A module cannot add ucount types, so it keeps its own
 * counters, keyed by the user's kuid: its uid in the initial user namespace.
 * Creating user and network namespaces does not give a user more: the uids a
 * user namespace maps all are kuids of the initial namespace, and an
 * unprivileged user can map only its own.
 *
 * A task with CAP_SYS_RESOURCE (in the initial user namespace) is counted
 * but never refused, as with the kernel's per-user pipe buffer limits.
 */
#include <linux/capability.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "ipcon.h"

static unsigned int ipcon_max_peers_per_user;
module_param_named(max_peers_per_user, ipcon_max_peers_per_user, uint, 0444);
MODULE_PARM_DESC(max_peers_per_user,
		 "Most peers one user holds in all network namespaces (default: a quarter of max_peers)");

static unsigned int ipcon_max_groups_per_user = 1024;
module_param_named(max_groups_per_user, ipcon_max_groups_per_user, uint, 0444);
MODULE_PARM_DESC(max_groups_per_user,
		 "Most groups one user's peers own in all network namespaces (default 1024)");

static unsigned int ipcon_max_subscriptions_per_user = 4096;
module_param_named(max_subscriptions_per_user,
		   ipcon_max_subscriptions_per_user, uint, 0444);
MODULE_PARM_DESC(max_subscriptions_per_user,
		 "Most groups one user's peers have joined in all network namespaces (default 4096)");

static unsigned int ipcon_max_cached_bytes_per_user = 1 << 20;
module_param_named(max_cached_bytes_per_user,
		   ipcon_max_cached_bytes_per_user, uint, 0444);
MODULE_PARM_DESC(max_cached_bytes_per_user,
		 "Most bytes of last messages cached for one user's groups (default 1 MiB)");

struct ipcon_user {
	struct hlist_node node;		/* ipcon_users, ipcon_users_lock */
	refcount_t ref;			/* one per peer */
	kuid_t uid;
	atomic_long_t count[IPCON_USER_NR];
};

#define IPCON_USERS_BITS 6
static DEFINE_HASHTABLE(ipcon_users, IPCON_USERS_BITS);
static DEFINE_SPINLOCK(ipcon_users_lock);

/* The parameter bounding @what. */
static unsigned int ipcon_user_limit(enum ipcon_user_count what)
{
	switch (what) {
	case IPCON_USER_PEERS:
		return READ_ONCE(ipcon_max_peers_per_user);
	case IPCON_USER_GROUPS:
		return READ_ONCE(ipcon_max_groups_per_user);
	case IPCON_USER_SUBS:
		return READ_ONCE(ipcon_max_subscriptions_per_user);
	default:
		return READ_ONCE(ipcon_max_cached_bytes_per_user);
	}
}

static void ipcon_user_limit_msg(struct netlink_ext_ack *extack,
				 enum ipcon_user_count what)
{
	switch (what) {
	case IPCON_USER_PEERS:
		NL_SET_ERR_MSG(extack,
			       "this user's peer limit is reached (module parameter max_peers_per_user)");
		break;
	case IPCON_USER_GROUPS:
		NL_SET_ERR_MSG(extack,
			       "this user's group limit is reached (module parameter max_groups_per_user)");
		break;
	case IPCON_USER_SUBS:
		NL_SET_ERR_MSG(extack,
			       "this user's subscription limit is reached (module parameter max_subscriptions_per_user)");
		break;
	default:
		NL_SET_ERR_MSG(extack,
			       "this user's cached message bytes limit is reached (module parameter max_cached_bytes_per_user)");
		break;
	}
}

/* Defaults that depend on other parameters.  Module init. */
void ipcon_users_init(void)
{
	if (!ipcon_max_peers_per_user)
		ipcon_max_peers_per_user = max(1U, ipcon_max_peers / 4);
}

/* Every peer has gone (module exit, after the peer frees ran). */
void ipcon_users_exit(void)
{
	WARN_ON(!hash_empty(ipcon_users));
}

static struct ipcon_user *ipcon_user_find(kuid_t uid)
{
	struct ipcon_user *user;

	lockdep_assert_held(&ipcon_users_lock);
	hash_for_each_possible(ipcon_users, user, node, __kuid_val(uid))
		if (uid_eq(user->uid, uid))
			return user;
	return NULL;
}

/* The counters of user @uid, referenced, or NULL when out of memory. */
struct ipcon_user *ipcon_user_get(kuid_t uid)
{
	struct ipcon_user *user, *fresh;

	spin_lock(&ipcon_users_lock);
	user = ipcon_user_find(uid);
	if (user)
		refcount_inc(&user->ref);
	spin_unlock(&ipcon_users_lock);
	if (user)
		return user;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	refcount_set(&fresh->ref, 1);
	fresh->uid = uid;

	spin_lock(&ipcon_users_lock);
	user = ipcon_user_find(uid);
	if (user) {
		refcount_inc(&user->ref);
	} else {
		hash_add(ipcon_users, &fresh->node, __kuid_val(uid));
		user = fresh;
		fresh = NULL;
	}
	spin_unlock(&ipcon_users_lock);
	kfree(fresh);
	return user;
}

void ipcon_user_put(struct ipcon_user *user)
{
	bool last;

	spin_lock(&ipcon_users_lock);
	last = refcount_dec_and_test(&user->ref);
	if (last)
		hash_del(&user->node);
	spin_unlock(&ipcon_users_lock);
	if (last)
		kfree(user);
}

/*
 * Count @amount more of @what for @user, or refuse with -ENOSPC (and the
 * extack naming the parameter) when that would pass the limit and the
 * current task may not.
 */
int ipcon_user_charge(struct ipcon_user *user, enum ipcon_user_count what,
		      long amount, struct netlink_ext_ack *extack)
{
	atomic_long_t *count = &user->count[what];
	long limit = ipcon_user_limit(what);
	long old = atomic_long_read(count);
	int privileged = -1;

	do {
		if (old + amount > limit) {
			/* Asked only when it matters: capable() audits. */
			if (privileged < 0)
				privileged = capable(CAP_SYS_RESOURCE);
			if (!privileged) {
				ipcon_user_limit_msg(extack, what);
				return -ENOSPC;
			}
		}
	} while (!atomic_long_try_cmpxchg(count, &old, old + amount));
	return 0;
}

void ipcon_user_uncharge(struct ipcon_user *user, enum ipcon_user_count what,
			 long amount)
{
	WARN_ON_ONCE(atomic_long_sub_return(amount, &user->count[what]) < 0);
}
