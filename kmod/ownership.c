// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: who owns a name, who may send to a peer or join a group.
 *
 * Names: an administrator of a network namespace (CAP_NET_ADMIN in its user
 * namespace) loads a policy that reserves peer names, or patterns of them,
 * for a uid, for the members of a gid, or for either.  A name is judged by
 * the first rule it matches; names that no rule matches are free to anyone,
 * so a device without a policy works as it always did.  A group belongs to
 * its owner peer, so reserving a peer name reserves the groups of its peers
 * too.
 *
 * Access: a peer (who may send to it) and a group (who may join it) carry an
 * access rule chosen by their owner: anyone, the owner's uid, or a gid.
 * CAP_NET_ADMIN over the namespace passes every access rule (not the name
 * reservations: an administrator changes the policy instead).
 *
 * A policy comes as one request per rule, in order, from one socket; the
 * last rule replaces the namespace's policy at once, so a reload never
 * leaves a moment without reservations.  Policies are read and replaced
 * under the namespace lock, which registration holds anyway.
 */
#include <linux/cred.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "ipcon.h"

struct ipcon_rule {
	char pattern[IPCON_MAX_NAME_LEN];
	bool has_uid;
	bool has_gid;
	kuid_t uid;
	kgid_t gid;
};

struct ipcon_policy {
	u32 count;
	struct ipcon_rule rules[];
};

/*
 * A policy being loaded: rules 0..next-1 of count arrived from @sk, of port
 * @port.  The release of @sk drops the load (its notifier runs before the
 * socket is freed), so a socket allocated later at the same address cannot
 * continue it.
 */
struct ipcon_policy_load {
	const struct sock *sk;		/* NULL when no load is going on */
	u32 port;
	u32 next;
	struct ipcon_policy *policy;
};

/* The load is over (done, replaced or abandoned).  inet->lock held. */
static void ipcon_policy_load_end(struct ipcon_net *inet)
{
	struct ipcon_policy_load *load = inet->load;

	kfree(load->policy);
	load->policy = NULL;
	load->sk = NULL;
	load->port = 0;
	WRITE_ONCE(inet->load_port, 0);
}

/*
 * Whether @name matches @pattern: '*' matches any run of characters (also
 * none), '?' any one.  Iterative, with one backtrack point (the last '*'):
 * at most len(name) * len(pattern) steps, both under 32 bytes.
 */
static bool ipcon_pattern_match(const char *pattern, const char *name)
{
	const char *star = NULL, *resume = NULL;

	while (*name) {
		if (*pattern == '*') {
			star = pattern++;
			resume = name;
		} else if (*pattern == '?' || *pattern == *name) {
			pattern++;
			name++;
		} else if (star) {
			pattern = star + 1;
			name = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return !*pattern;
}

/*
 * Whether the current task may register the peer name @name under the
 * namespace's policy.  inet->lock held.
 */
bool ipcon_name_permitted(struct ipcon_net *inet, const char *name)
{
	const struct ipcon_policy *policy = inet->policy;
	const struct ipcon_rule *rule;
	u32 i;

	lockdep_assert_held(&inet->lock);
	if (!policy)
		return true;
	for (i = 0; i < policy->count; i++) {
		rule = &policy->rules[i];
		if (!ipcon_pattern_match(rule->pattern, name))
			continue;
		if (!rule->has_uid && !rule->has_gid)
			return true;
		return (rule->has_uid && uid_eq(current_euid(), rule->uid)) ||
		       (rule->has_gid && in_group_p(rule->gid));
	}
	return true;
}

/* Namespace teardown: no request can run any more. */
void ipcon_policy_free(struct ipcon_net *inet)
{
	kfree(inet->policy);
	inet->policy = NULL;
	if (inet->load) {
		kfree(inet->load->policy);
		kfree(inet->load);
		inet->load = NULL;
	}
}

/* A uid or gid attribute of a rule, as the namespace's user namespace maps it. */
static int ipcon_rule_ids(struct ipcon_rule *rule, struct net *net,
			  struct genl_info *info)
{
	struct nlattr *uid_attr = info->attrs[IPCON_A_UID];
	struct nlattr *gid_attr = info->attrs[IPCON_A_GID];

	if (uid_attr) {
		rule->uid = make_kuid(net->user_ns, nla_get_u32(uid_attr));
		rule->has_uid = true;
		if (!uid_valid(rule->uid)) {
			NL_SET_ERR_MSG_ATTR(info->extack, uid_attr,
					    "uid is not mapped in this namespace");
			return -EINVAL;
		}
	}
	if (gid_attr) {
		rule->gid = make_kgid(net->user_ns, nla_get_u32(gid_attr));
		rule->has_gid = true;
		if (!gid_valid(rule->gid)) {
			NL_SET_ERR_MSG_ATTR(info->extack, gid_attr,
					    "gid is not mapped in this namespace");
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Release notifier: the socket of @port is gone.  A policy load it started
 * ends with it.  The notifier names only the number; the socket it is about
 * is orphaned (SOCK_DEAD) by now, while one given the same number since is
 * not.  inet->lock held.
 */
void ipcon_policy_port_released_locked(struct ipcon_net *inet, u32 port)
{
	struct ipcon_policy_load *load = inet->load;

	lockdep_assert_held(&inet->lock);
	if (load && load->sk && load->port == port &&
	    sock_flag(load->sk, SOCK_DEAD))
		ipcon_policy_load_end(inet);
}

/* rule-count 0 alone: remove the policy.  inet->lock held. */
static int ipcon_policy_clear(struct ipcon_net *inet, struct genl_info *info)
{
	static const int rule_attrs[] = {
		IPCON_A_RULE_INDEX, IPCON_A_NAME_PATTERN, IPCON_A_UID,
		IPCON_A_GID,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rule_attrs); i++) {
		if (info->attrs[rule_attrs[i]]) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[rule_attrs[i]],
					    "a policy of rule-count 0 has no rules");
			return -EINVAL;
		}
	}
	kfree(inet->policy);
	inet->policy = NULL;
	return 0;
}

/*
 * The load that rule @index of @count continues: a new one at index 0, the
 * one this socket started otherwise.  inet->lock held.
 */
static struct ipcon_policy_load *ipcon_policy_load_get(struct ipcon_net *inet,
						       struct sk_buff *skb,
						       struct genl_info *info,
						       u32 count, u32 index)
{
	struct ipcon_policy_load *load = inet->load;

	if (index == 0) {
		if (!load) {
			load = kzalloc(sizeof(*load), GFP_KERNEL_ACCOUNT);
			if (!load)
				return ERR_PTR(-ENOMEM);
			inet->load = load;
		}
		ipcon_policy_load_end(inet);
		load->policy = kzalloc(struct_size(load->policy, rules, count),
				       GFP_KERNEL_ACCOUNT);
		if (!load->policy)
			return ERR_PTR(-ENOMEM);
		load->policy->count = count;
		load->sk = NETLINK_CB(skb).sk;
		load->port = NETLINK_CB(skb).portid;
		WRITE_ONCE(inet->load_port, load->port);
		load->next = 0;
		return load;
	}
	if (!load || !load->policy || load->sk != NETLINK_CB(skb).sk ||
	    load->policy->count != count || load->next != index) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[IPCON_A_RULE_INDEX],
				    "rule out of order: a policy comes as rule-index 0..rule-count-1 from one socket");
		return ERR_PTR(-EINVAL);
	}
	return load;
}

int ipcon_nl_policy_load_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr *pattern_attr = info->attrs[IPCON_A_NAME_PATTERN];
	struct ipcon_policy_load *load;
	struct ipcon_rule rule = {};
	u32 count, index;
	int err;

	if (ipcon_nl_attr_missing(info, IPCON_A_RULE_COUNT))
		return -EINVAL;
	count = nla_get_u32(info->attrs[IPCON_A_RULE_COUNT]);
	if (!count) {
		mutex_lock(&inet->lock);
		err = ipcon_policy_clear(inet, info);
		mutex_unlock(&inet->lock);
		return err;
	}
	if (ipcon_nl_attr_missing(info, IPCON_A_RULE_INDEX) ||
	    ipcon_nl_attr_missing(info, IPCON_A_NAME_PATTERN))
		return -EINVAL;
	index = nla_get_u32(info->attrs[IPCON_A_RULE_INDEX]);
	if (index >= count) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[IPCON_A_RULE_INDEX],
				    "rule-index must be below rule-count");
		return -EINVAL;
	}
	if (!ipcon_name_valid(nla_data(pattern_attr))) {
		NL_SET_ERR_MSG_ATTR(info->extack, pattern_attr,
				    "name pattern must be 1..31 bytes without '/' or control characters");
		return -EINVAL;
	}
	strscpy(rule.pattern, nla_data(pattern_attr), sizeof(rule.pattern));
	err = ipcon_rule_ids(&rule, net, info);
	if (err)
		return err;

	mutex_lock(&inet->lock);
	load = ipcon_policy_load_get(inet, skb, info, count, index);
	if (IS_ERR(load)) {
		err = PTR_ERR(load);
		goto out;
	}
	load->policy->rules[index] = rule;
	load->next = index + 1;
	if (load->next == count) {
		kfree(inet->policy);
		inet->policy = load->policy;
		load->policy = NULL;
		ipcon_policy_load_end(inet);
	}
out:
	mutex_unlock(&inet->lock);
	return err;
}

/*
 * Read a request's access and gid attributes into @access (open when
 * absent): gid comes with access gid and only with it.
 */
int ipcon_access_parse(struct ipcon_access *access, struct net *net,
		       struct genl_info *info)
{
	struct nlattr *access_attr = info->attrs[IPCON_A_ACCESS];
	struct nlattr *gid_attr = info->attrs[IPCON_A_GID];

	*access = (struct ipcon_access) {
		.rule = access_attr ? nla_get_u32(access_attr) :
				      IPCON_GROUP_ACCESS_OPEN,
	};
	if (access->rule == IPCON_GROUP_ACCESS_GID &&
	    ipcon_nl_attr_missing(info, IPCON_A_GID)) {
		NL_SET_ERR_MSG(info->extack, "access gid needs a gid");
		return -EINVAL;
	}
	if (access->rule != IPCON_GROUP_ACCESS_GID && gid_attr) {
		NL_SET_ERR_MSG_ATTR(info->extack, gid_attr,
				    "gid is only valid with access gid");
		return -EINVAL;
	}
	if (gid_attr) {
		access->gid = nla_get_u32(gid_attr);
		access->kgid = make_kgid(net->user_ns, access->gid);
		if (!gid_valid(access->kgid)) {
			NL_SET_ERR_MSG_ATTR(info->extack, gid_attr,
					    "gid is not mapped in this namespace");
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Whether @access, set by a peer of user @owner, admits the current task
 * (capabilities not considered).
 */
bool ipcon_access_admits(const struct ipcon_access *access, kuid_t owner)
{
	switch (access->rule) {
	case IPCON_GROUP_ACCESS_OPEN:
		return true;
	case IPCON_GROUP_ACCESS_SAME_UID:
		return uid_eq(current_euid(), owner);
	case IPCON_GROUP_ACCESS_GID:
		return in_group_p(access->kgid);
	}
	return false;
}

/* @access in a reply: the rule, and the gid where it names one. */
int ipcon_access_put(struct sk_buff *skb, const struct ipcon_access *access)
{
	if (nla_put_u32(skb, IPCON_A_ACCESS, access->rule) ||
	    (access->rule == IPCON_GROUP_ACCESS_GID &&
	     nla_put_u32(skb, IPCON_A_GID, access->gid)))
		return -EMSGSIZE;
	return 0;
}
