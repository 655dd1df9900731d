// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: groups and memberships.
 *
 * A group belongs to the peer that registered it and lives until that peer
 * unregisters it or goes away.  Membership changes take the namespace lock
 * and then the group's lock; publishing takes only the group's lock.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "ipcon.h"

/* Called with rcu_read_lock() (or inet->lock) held. */
struct ipcon_group *ipcon_group_find_rcu(struct ipcon_peer *owner,
					 const char *name)
{
	struct ipcon_group *group;

	list_for_each_entry_rcu(group, &owner->groups, owner_node)
		if (!strcmp(group->name, name))
			return group;
	return NULL;
}

void ipcon_group_put(struct ipcon_group *group)
{
	if (!refcount_dec_and_test(&group->ref))
		return;
	ipcon_last_free(group->last);
	mutex_destroy(&group->lock);
	ipcon_peer_put(group->owner);
	kfree_rcu(group, rcu);
}

/* Drop one membership.  Called with inet->lock held, group->lock not held. */
void ipcon_sub_remove(struct ipcon_sub *sub)
{
	struct ipcon_group *group = sub->group;

	mutex_lock(&group->lock);
	list_del(&sub->group_node);
	WRITE_ONCE(group->n_subs, group->n_subs - 1);
	mutex_unlock(&group->lock);

	list_del(&sub->peer_node);
	WRITE_ONCE(sub->peer->n_subs, sub->peer->n_subs - 1);
	ipcon_user_uncharge(sub->peer->user, IPCON_USER_SUBS, 1);
	kfree(sub);
}

/*
 * Remove @group with all its memberships and send group-remove (unless
 * @reason is 0).  Called with inet->lock held.
 */
void ipcon_group_remove(struct ipcon_net *inet, struct net *net,
			struct ipcon_group *group, u32 reason)
{
	struct ipcon_sub *sub, *tmp;

	lockdep_assert_held(&inet->lock);

	mutex_lock(&group->lock);
	group->dead = true;
	list_for_each_entry_safe(sub, tmp, &group->subs, group_node) {
		list_del(&sub->group_node);
		list_del(&sub->peer_node);
		WRITE_ONCE(sub->peer->n_subs, sub->peer->n_subs - 1);
		ipcon_user_uncharge(sub->peer->user, IPCON_USER_SUBS, 1);
		kfree(sub);
	}
	WRITE_ONCE(group->n_subs, 0);
	ipcon_last_drop(group);
	mutex_unlock(&group->lock);

	list_del_rcu(&group->owner_node);
	WRITE_ONCE(group->owner->n_groups, group->owner->n_groups - 1);
	ipcon_user_uncharge(group->owner->user, IPCON_USER_GROUPS, 1);
	atomic_inc(&inet->gen);

	if (reason)
		ipcon_kevent_group(inet, net, group,
				   IPCON_KEVENT_TYPE_GROUP_REMOVE, reason);
	ipcon_group_put(group);
}

static int ipcon_require_name(struct genl_info *info, int type)
{
	struct nlattr *attr = info->attrs[type];

	if (ipcon_nl_attr_missing(info, type))
		return -EINVAL;
	if (!ipcon_name_valid(nla_data(attr))) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "name must be 1..31 bytes without '/' or control characters");
		return -EINVAL;
	}
	return 0;
}

/* The sender's own peer, or NULL with ENOTCONN reported.  inet->lock held. */
static struct ipcon_peer *ipcon_sender_locked(struct ipcon_net *inet,
					      struct sk_buff *skb,
					      struct genl_info *info)
{
	struct ipcon_peer *peer;

	rcu_read_lock();
	peer = ipcon_peer_sender_rcu(inet, skb, info);
	rcu_read_unlock();
	if (!peer)
		NL_SET_ERR_MSG(info->extack, "socket is not a registered peer");
	return peer;
}

/* Owner @owner_name's group @group_name.  inet->lock held. */
static struct ipcon_group *ipcon_group_lookup_locked(struct ipcon_net *inet,
						     struct genl_info *info)
{
	struct nlattr *owner_attr = info->attrs[IPCON_A_PEER_NAME];
	struct nlattr *group_attr = info->attrs[IPCON_A_GROUP_NAME];
	struct ipcon_peer *owner;
	struct ipcon_group *group = NULL;

	rcu_read_lock();
	owner = ipcon_peer_by_name_rcu(inet, nla_data(owner_attr));
	if (owner)
		group = ipcon_group_find_rcu(owner, nla_data(group_attr));
	rcu_read_unlock();

	if (!owner)
		NL_SET_ERR_MSG_ATTR(info->extack, owner_attr, "no such peer");
	else if (!group)
		NL_SET_ERR_MSG_ATTR(info->extack, group_attr, "no such group");
	return group;
}

int ipcon_nl_group_register_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr *access_attr = info->attrs[IPCON_A_ACCESS];
	struct nlattr *gid_attr = info->attrs[IPCON_A_GID];
	struct ipcon_group *group;
	struct ipcon_peer *owner;
	u32 access = IPCON_GROUP_ACCESS_OPEN;
	int err;

	err = ipcon_require_name(info, IPCON_A_GROUP_NAME);
	if (err)
		return err;
	if (access_attr)
		access = nla_get_u32(access_attr);
	if (access == IPCON_GROUP_ACCESS_GID &&
	    ipcon_nl_attr_missing(info, IPCON_A_GID)) {
		NL_SET_ERR_MSG(info->extack, "access gid needs a gid");
		return -EINVAL;
	}
	if (access != IPCON_GROUP_ACCESS_GID && gid_attr) {
		NL_SET_ERR_MSG_ATTR(info->extack, gid_attr,
				    "gid is only valid with access gid");
		return -EINVAL;
	}

	group = kzalloc(sizeof(*group), GFP_KERNEL_ACCOUNT);
	if (!group)
		return -ENOMEM;
	refcount_set(&group->ref, 1);
	mutex_init(&group->lock);
	INIT_LIST_HEAD(&group->subs);
	strscpy(group->name, nla_data(info->attrs[IPCON_A_GROUP_NAME]),
		sizeof(group->name));
	group->access = access;
	if (gid_attr) {
		group->gid = nla_get_u32(gid_attr);
		group->kgid = make_kgid(net->user_ns, group->gid);
		if (!gid_valid(group->kgid)) {
			NL_SET_ERR_MSG_ATTR(info->extack, gid_attr,
					    "gid is not mapped in this namespace");
			err = -EINVAL;
			goto err_free;
		}
	}

	mutex_lock(&inet->lock);
	owner = ipcon_sender_locked(inet, skb, info);
	if (!owner) {
		err = -ENOTCONN;
	} else if (ipcon_group_find_rcu(owner, group->name)) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[IPCON_A_GROUP_NAME],
				    "group exists");
		err = -EEXIST;
	} else if (owner->n_groups >= READ_ONCE(ipcon_max_groups_per_peer)) {
		NL_SET_ERR_MSG(info->extack,
			       "group limit reached (module parameter max_groups_per_peer)");
		err = -ENOSPC;
	} else {
		err = ipcon_user_charge(owner->user, IPCON_USER_GROUPS, 1,
					info->extack);
	}
	if (err) {
		mutex_unlock(&inet->lock);
		goto err_free;
	}

	refcount_inc(&owner->ref);
	group->owner = owner;
	list_add_tail_rcu(&group->owner_node, &owner->groups);
	WRITE_ONCE(owner->n_groups, owner->n_groups + 1);
	atomic_inc(&inet->gen);
	ipcon_kevent_group(inet, net, group, IPCON_KEVENT_TYPE_GROUP_ADD, 0);
	mutex_unlock(&inet->lock);
	return 0;

err_free:
	mutex_destroy(&group->lock);
	kfree(group);
	return err;
}

int ipcon_nl_group_unregister_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct ipcon_group *group = NULL;
	struct ipcon_peer *owner;
	int err;

	err = ipcon_require_name(info, IPCON_A_GROUP_NAME);
	if (err)
		return err;

	mutex_lock(&inet->lock);
	owner = ipcon_sender_locked(inet, skb, info);
	if (owner)
		group = ipcon_group_find_rcu(owner,
					     nla_data(info->attrs[IPCON_A_GROUP_NAME]));
	if (!owner) {
		err = -ENOTCONN;
	} else if (!group) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[IPCON_A_GROUP_NAME],
				    "no such group of this peer");
		err = -ENOENT;
	} else {
		ipcon_group_remove(inet, net, group,
				   IPCON_REMOVE_REASON_UNREGISTERED);
	}
	mutex_unlock(&inet->lock);
	return err;
}

/* Whether @group's access rule admits the current task (no capabilities). */
bool ipcon_group_admits(const struct ipcon_group *group)
{
	switch (group->access) {
	case IPCON_GROUP_ACCESS_OPEN:
		return true;
	case IPCON_GROUP_ACCESS_SAME_UID:
		return uid_eq(current_euid(), group->owner->kuid);
	case IPCON_GROUP_ACCESS_GID:
		return in_group_p(group->kgid);
	}
	return false;
}

/* CAP_NET_ADMIN over the namespace always passes; see README.md. */
static bool ipcon_may_join(struct sk_buff *skb, struct net *net,
			   const struct ipcon_group *group)
{
	return ipcon_group_admits(group) ||
	       netlink_ns_capable(skb, net->user_ns, CAP_NET_ADMIN);
}

static struct ipcon_sub *ipcon_sub_find(struct ipcon_peer *peer,
					struct ipcon_group *group)
{
	struct ipcon_sub *sub;

	list_for_each_entry(sub, &peer->subs, peer_node)
		if (sub->group == group)
			return sub;
	return NULL;
}

static int ipcon_check_membership_request(struct genl_info *info)
{
	int err;

	err = ipcon_require_name(info, IPCON_A_PEER_NAME);
	if (err)
		return err;
	return ipcon_require_name(info, IPCON_A_GROUP_NAME);
}

int ipcon_nl_group_join_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	bool replay = nla_get_flag(info->attrs[IPCON_A_RCV_LAST_MSG]);
	struct ipcon_group *group;
	struct ipcon_peer *joiner;
	struct ipcon_sub *sub;
	int err;

	err = ipcon_check_membership_request(info);
	if (err)
		return err;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL_ACCOUNT);
	if (!sub)
		return -ENOMEM;

	mutex_lock(&inet->lock);
	joiner = ipcon_sender_locked(inet, skb, info);
	if (!joiner) {
		err = -ENOTCONN;
		goto err_unlock;
	}
	group = ipcon_group_lookup_locked(inet, info);
	if (!group) {
		err = -ENOENT;
		goto err_unlock;
	}
	if (ipcon_sub_find(joiner, group)) {
		NL_SET_ERR_MSG(info->extack, "already a member of this group");
		err = -EALREADY;
		goto err_unlock;
	}
	if (!ipcon_may_join(skb, net, group)) {
		NL_SET_ERR_MSG(info->extack, "group access denied");
		err = -EACCES;
		goto err_unlock;
	}
	if (joiner->n_subs >= READ_ONCE(ipcon_max_subscriptions_per_peer)) {
		NL_SET_ERR_MSG(info->extack,
			       "subscription limit reached (module parameter max_subscriptions_per_peer)");
		err = -ENOSPC;
		goto err_unlock;
	}
	err = ipcon_user_charge(joiner->user, IPCON_USER_SUBS, 1, info->extack);
	if (err)
		goto err_unlock;

	sub->group = group;
	sub->peer = joiner;
	list_add_tail(&sub->peer_node, &joiner->subs);
	WRITE_ONCE(joiner->n_subs, joiner->n_subs + 1);

	mutex_lock(&group->lock);
	list_add_tail(&sub->group_node, &group->subs);
	WRITE_ONCE(group->n_subs, group->n_subs + 1);
	/*
	 * Queued under the group lock, before the ACK: the replay precedes
	 * every message published after the join.  A full queue counts as
	 * missed like any other group message.
	 */
	if (replay && group->last)
		ipcon_replay_last(group, joiner);
	mutex_unlock(&group->lock);

	mutex_unlock(&inet->lock);
	return 0;

err_unlock:
	mutex_unlock(&inet->lock);
	kfree(sub);
	return err;
}

int ipcon_nl_group_leave_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipcon_net *inet = ipcon_net(genl_info_net(info));
	struct ipcon_group *group;
	struct ipcon_peer *peer;
	struct ipcon_sub *sub;
	int err;

	err = ipcon_check_membership_request(info);
	if (err)
		return err;

	mutex_lock(&inet->lock);
	peer = ipcon_sender_locked(inet, skb, info);
	if (!peer) {
		err = -ENOTCONN;
		goto out;
	}
	group = ipcon_group_lookup_locked(inet, info);
	if (!group) {
		err = -ENOENT;
		goto out;
	}
	sub = ipcon_sub_find(peer, group);
	if (!sub) {
		NL_SET_ERR_MSG(info->extack, "not a member of this group");
		err = -ENOENT;
		goto out;
	}
	ipcon_sub_remove(sub);
out:
	mutex_unlock(&inet->lock);
	return err;
}

int ipcon_nl_group_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr *owner_attr = info->attrs[IPCON_A_PEER_NAME];
	struct nlattr *group_attr = info->attrs[IPCON_A_GROUP_NAME];
	struct ipcon_group *group = NULL;
	struct ipcon_viewer viewer;
	struct ipcon_peer *owner;
	struct sk_buff *reply;
	int err = 0;

	if (ipcon_nl_attr_missing(info, IPCON_A_PEER_NAME) ||
	    ipcon_nl_attr_missing(info, IPCON_A_GROUP_NAME))
		return -EINVAL;

	reply = genlmsg_new(ipcon_group_info_size(), GFP_KERNEL_ACCOUNT);
	if (!reply)
		return -ENOMEM;

	ipcon_viewer_init(&viewer, net);
	rcu_read_lock();
	owner = ipcon_peer_by_name_rcu(inet, nla_data(owner_attr));
	if (owner)
		group = ipcon_group_find_rcu(owner, nla_data(group_attr));
	if (group)
		err = ipcon_fill_group(reply, group, &viewer, info->snd_portid,
				       info->snd_seq, 0, NULL);
	rcu_read_unlock();

	if (!group) {
		if (owner)
			NL_SET_ERR_MSG_ATTR(info->extack, group_attr,
					    "no such group");
		else
			NL_SET_ERR_MSG_ATTR(info->extack, owner_attr,
					    "no such peer");
		nlmsg_free(reply);
		return -ENOENT;
	}
	if (err) {
		nlmsg_free(reply);
		return err;
	}
	return genlmsg_reply(reply, info);
}
