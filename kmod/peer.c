// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: peers.
 *
 * A peer is a data socket plus, optionally, a control socket attached with
 * the cookie returned at registration.  The sockets themselves are the peer's
 * identity: the port table maps each socket's port number to its entry, but a
 * request belongs to a peer only if it came from one of that peer's sockets,
 * and a number alone (a released socket's, given to another socket) matches
 * nothing.  Named peers are also in the name table.  A peer lives until it
 * unregisters or either of its sockets is released.
 */
#include <linux/cred.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>

#include "ipcon.h"

/* 1..31 bytes of printable ASCII other than '/'; the Rust Name type agrees. */
bool ipcon_name_valid(const char *name)
{
	size_t len = strnlen(name, IPCON_MAX_NAME_LEN);
	size_t i;

	if (!len || len >= IPCON_MAX_NAME_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (c == '/' || c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

/*
 * A request naming one peer gives exactly one of peer-name and port: neither
 * is reported as a missing peer-name, both as an error on the port.
 */
int ipcon_check_peer_ref(struct genl_info *info)
{
	struct nlattr *port_attr = info->attrs[IPCON_A_PORT];

	if (!port_attr && ipcon_nl_attr_missing(info, IPCON_A_PEER_NAME)) {
		NL_SET_ERR_MSG(info->extack, "missing attribute peer-name or port");
		return -EINVAL;
	}
	if (port_attr && info->attrs[IPCON_A_PEER_NAME]) {
		NL_SET_ERR_MSG_ATTR(info->extack, port_attr,
				    "give exactly one of peer-name or port");
		return -EINVAL;
	}
	return 0;
}

static u32 ipcon_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

/*
 * The peer @sk (bound to @port) is a data or control socket of, or NULL.
 * Callers hold rcu_read_lock() or inet->lock; the result is valid until they
 * drop it.
 */
struct ipcon_peer *ipcon_peer_by_sock_rcu(struct ipcon_net *inet,
					  const struct sock *sk, u32 port)
{
	struct ipcon_port_ref *ref;

	hash_for_each_possible_rcu(inet->ports, ref, node, port)
		if (ref->sk == sk && ref->port == port)
			return ref->peer;
	return NULL;
}

/* The peer whose socket sent the request @skb, or NULL.  As above. */
struct ipcon_peer *ipcon_peer_sender_rcu(struct ipcon_net *inet,
					 const struct sk_buff *skb,
					 const struct genl_info *info)
{
	return ipcon_peer_by_sock_rcu(inet, NETLINK_CB(skb).sk,
				      info->snd_portid);
}

/*
 * The peer whose data socket has port @port now: a released socket's entry
 * waiting for the release notifier does not count (its number may already
 * be another socket's).  As above; the socket is safe to look at because a
 * peer's socket references are dropped only after an RCU grace period.
 */
struct ipcon_peer *ipcon_peer_by_data_port_rcu(struct ipcon_net *inet,
					       u32 port)
{
	struct ipcon_port_ref *ref;

	hash_for_each_possible_rcu(inet->ports, ref, node, port)
		if (ref->port == port && ref == &ref->peer->data &&
		    !sock_flag(ref->sk, SOCK_DEAD))
			return ref->peer;
	return NULL;
}

/* Any entry with port @port, live or released.  As above. */
static bool ipcon_port_used_rcu(struct ipcon_net *inet, u32 port)
{
	struct ipcon_port_ref *ref;

	hash_for_each_possible_rcu(inet->ports, ref, node, port)
		if (ref->port == port)
			return true;
	return false;
}

struct ipcon_peer *ipcon_peer_by_name_rcu(struct ipcon_net *inet,
					  const char *name)
{
	struct ipcon_peer *peer;

	hash_for_each_possible_rcu(inet->names, peer, name_node,
				   ipcon_name_hash(name))
		if (!strcmp(peer->name, name))
			return peer;
	return NULL;
}

/*
 * The request's expect-uid, if it has one, against @peer's uid: -EPERM with
 * the reason when @peer belongs to another user.
 */
int ipcon_check_expected_uid(struct genl_info *info,
			     const struct ipcon_peer *peer)
{
	struct nlattr *attr = info->attrs[IPCON_A_EXPECT_UID];

	if (!attr || nla_get_u32(attr) == peer->uid)
		return 0;
	NL_SET_ERR_MSG_ATTR(info->extack, attr,
			    "peer is not owned by the expected uid");
	return -EPERM;
}

/* Process context, one RCU grace period after the last reference went. */
static void ipcon_peer_free(struct work_struct *work)
{
	struct ipcon_peer *peer = container_of(to_rcu_work(work),
					       struct ipcon_peer, free_work);

	if (peer->ctrl.sk)
		sock_put(peer->ctrl.sk);
	sock_put(peer->data.sk);
	put_pid(peer->pid);
	put_pid_ns(peer->pid_ns);
	ipcon_user_put(peer->user);
	kfree(peer);
}

/*
 * The socket references are dropped in process context after a grace period:
 * RCU readers that found the peer may still test its sockets, and the last
 * reference to a netlink socket may end a dump (whose done callback sleeps on
 * some kernels).
 */
void ipcon_peer_put(struct ipcon_peer *peer)
{
	if (refcount_dec_and_test(&peer->ref))
		queue_rcu_work(ipcon_wq, &peer->free_work);
}

/* Stamp a message sent now by the current task on behalf of @peer. */
void ipcon_stamp_current(struct ipcon_stamp *stamp,
			 const struct ipcon_peer *peer, struct net *net)
{
	memcpy(stamp->name, peer->name, sizeof(stamp->name));
	stamp->port = peer->data.port;
	stamp->pid = task_tgid(current);
	stamp->uid = from_kuid_munged(net->user_ns, current_euid());
}

/*
 * Remove @peer: its groups (each with a group-remove event), its memberships,
 * its names and ports, then the peer-remove event.  @reason 0 removes
 * silently (namespace or module teardown).  Called with inet->lock held.
 */
void ipcon_peer_remove(struct ipcon_net *inet, struct net *net,
		       struct ipcon_peer *peer, u32 reason)
{
	struct ipcon_group *group, *gtmp;
	struct ipcon_sub *sub, *stmp;

	lockdep_assert_held(&inet->lock);

	peer->dead = true;
	list_for_each_entry_safe(group, gtmp, &peer->groups, owner_node)
		ipcon_group_remove(inet, net, group, reason);
	list_for_each_entry_safe(sub, stmp, &peer->subs, peer_node)
		ipcon_sub_remove(sub);

	if (!(peer->flags & IPCON_PEER_FLAGS_ANONYMOUS))
		hash_del_rcu(&peer->name_node);
	hash_del_rcu(&peer->data.node);
	if (peer->ctrl.sk)
		hash_del_rcu(&peer->ctrl.node);
	list_del_rcu(&peer->list);
	inet->n_peers--;
	ipcon_user_uncharge(peer->user, IPCON_USER_PEERS, 1);
	atomic_inc(&inet->gen);

	if (reason)
		ipcon_kevent_peer(inet, net, peer, IPCON_KEVENT_TYPE_PEER_REMOVE,
				  reason);
	ipcon_peer_put(peer);
}

/*
 * A peer with a released socket of port @port, or NULL.  The notifier names
 * only the number, but the socket it is about is already orphaned (SOCK_DEAD)
 * when it runs, while a socket given the same number since is not.
 */
static struct ipcon_peer *ipcon_peer_released_locked(struct ipcon_net *inet,
						     u32 port)
{
	struct ipcon_port_ref *ref;

	lockdep_assert_held(&inet->lock);
	hash_for_each_possible(inet->ports, ref, node, port)
		if (ref->port == port && sock_flag(ref->sk, SOCK_DEAD))
			return ref->peer;
	return NULL;
}

/* Release notifier: a NETLINK_GENERIC socket of @port in @net is gone. */
void ipcon_port_released(struct net *net, u32 port)
{
	struct ipcon_net *inet = ipcon_net(net);
	struct ipcon_peer *peer;
	bool known;

	/* Most generic netlink sockets are not ours: skip the mutex for them. */
	rcu_read_lock();
	known = ipcon_port_used_rcu(inet, port);
	rcu_read_unlock();
	if (!known && READ_ONCE(inet->load_port) != port)
		return;

	mutex_lock(&inet->lock);
	while ((peer = ipcon_peer_released_locked(inet, port)))
		ipcon_peer_remove(inet, net, peer, IPCON_REMOVE_REASON_CLOSED);
	ipcon_policy_port_released_locked(inet, port);
	mutex_unlock(&inet->lock);
}

static size_t ipcon_register_reply_size(void)
{
	return nla_total_size(IPCON_MAX_NAME_LEN) +
	       nla_total_size(sizeof(u32)) +
	       nla_total_size_64bit(sizeof(u64));
}

int ipcon_nl_peer_register_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr *name_attr = info->attrs[IPCON_A_PEER_NAME];
	struct sock *sk = NETLINK_CB(skb).sk;
	u32 port = info->snd_portid;
	struct ipcon_peer *peer;
	struct sk_buff *reply;
	void *hdr;
	int err;

	if (name_attr && !ipcon_name_valid(nla_data(name_attr))) {
		NL_SET_ERR_MSG_ATTR(info->extack, name_attr,
				    "peer name must be 1..31 bytes without '/' or control characters");
		return -EINVAL;
	}

	peer = kzalloc(sizeof(*peer), GFP_KERNEL_ACCOUNT);
	if (!peer)
		return -ENOMEM;
	err = ipcon_access_parse(&peer->access, net, info);
	if (err) {
		kfree(peer);
		return err;
	}
	reply = genlmsg_new(ipcon_register_reply_size(), GFP_KERNEL_ACCOUNT);
	peer->kuid = current_euid();
	peer->user = ipcon_user_get(peer->kuid);
	if (!reply || !peer->user) {
		err = -ENOMEM;
		goto err_free;
	}

	refcount_set(&peer->ref, 1);
	INIT_RCU_WORK(&peer->free_work, ipcon_peer_free);
	INIT_LIST_HEAD(&peer->groups);
	INIT_LIST_HEAD(&peer->subs);
	spin_lock_init(&peer->overrun.lock);
	peer->data.port = port;
	peer->data.sk = sk;
	peer->data.peer = peer;
	if (name_attr)
		strscpy(peer->name, nla_data(name_attr), sizeof(peer->name));
	else
		peer->flags |= IPCON_PEER_FLAGS_ANONYMOUS;
	if (nla_get_flag(info->attrs[IPCON_A_PACKED]))
		peer->flags |= IPCON_PEER_FLAGS_PACKED;
	do {
		peer->cookie = get_random_u64();
	} while (!peer->cookie);
	peer->uid = from_kuid_munged(net->user_ns, peer->kuid);

	hdr = genlmsg_put_reply(reply, info, &ipcon_family, 0,
				IPCON_CMD_PEER_REGISTER);
	if (!hdr ||
	    (name_attr && nla_put_string(reply, IPCON_A_PEER_NAME, peer->name)) ||
	    nla_put_u32(reply, IPCON_A_PORT, port) ||
	    nla_put_u64_64bit(reply, IPCON_A_COOKIE, peer->cookie,
			      IPCON_A_PAD)) {
		err = -EMSGSIZE;
		goto err_free;
	}
	genlmsg_end(reply, hdr);

	mutex_lock(&inet->lock);
	rcu_read_lock();
	if (ipcon_peer_by_sock_rcu(inet, sk, port)) {
		NL_SET_ERR_MSG(info->extack, "socket is already used by a peer");
		err = -EALREADY;
	} else if (name_attr && !ipcon_name_permitted(inet, peer->name)) {
		NL_SET_ERR_MSG_ATTR(info->extack, name_attr,
				    "peer name is reserved for other users by the namespace's ipcon policy");
		err = -EACCES;
	} else if (name_attr && ipcon_peer_by_name_rcu(inet, peer->name)) {
		NL_SET_ERR_MSG_ATTR(info->extack, name_attr,
				    "peer name is taken");
		err = -EEXIST;
	} else if (inet->n_peers >= READ_ONCE(ipcon_max_peers)) {
		NL_SET_ERR_MSG(info->extack,
			       "peer limit reached (module parameter max_peers)");
		err = -ENOSPC;
	} else {
		/* One user cannot fill a namespace: see max_peers_per_user. */
		err = ipcon_user_charge(peer->user, IPCON_USER_PEERS, 1,
					info->extack);
	}
	rcu_read_unlock();
	if (err) {
		mutex_unlock(&inet->lock);
		goto err_free;
	}

	/* The sender's socket is live: it is inside sendmsg(). */
	sock_hold(sk);
	peer->pid = get_pid(task_tgid(current));
	peer->pid_ns = get_pid_ns(task_active_pid_ns(current));
	list_add_tail_rcu(&peer->list, &inet->peers);
	hash_add_rcu(inet->ports, &peer->data.node, port);
	if (name_attr)
		hash_add_rcu(inet->names, &peer->name_node,
			     ipcon_name_hash(peer->name));
	inet->n_peers++;
	atomic_inc(&inet->gen);
	ipcon_kevent_peer(inet, net, peer, IPCON_KEVENT_TYPE_PEER_ADD, 0);
	refcount_inc(&peer->ref);	/* survives a removal racing the reply */
	mutex_unlock(&inet->lock);

	/*
	 * Without the reply the caller has no cookie and believes it failed:
	 * undo the registration rather than leave a name it cannot use.
	 */
	err = genlmsg_reply(reply, info);
	if (err) {
		mutex_lock(&inet->lock);
		if (!peer->dead)
			ipcon_peer_remove(inet, net, peer,
					  IPCON_REMOVE_REASON_UNREGISTERED);
		mutex_unlock(&inet->lock);
	}
	ipcon_peer_put(peer);
	return err;

err_free:
	nlmsg_free(reply);
	if (peer->user)
		ipcon_user_put(peer->user);
	kfree(peer);
	return err;
}

int ipcon_nl_peer_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipcon_net *inet = ipcon_net(genl_info_net(info));
	struct nlattr *cookie_attr = info->attrs[IPCON_A_COOKIE];
	struct sock *sk = NETLINK_CB(skb).sk;
	u32 port = info->snd_portid;
	struct ipcon_peer *peer, *found = NULL;
	u64 cookie;
	int err = 0;

	if (ipcon_nl_attr_missing(info, IPCON_A_COOKIE))
		return -EINVAL;
	cookie = nla_get_u64(cookie_attr);

	mutex_lock(&inet->lock);
	rcu_read_lock();
	if (ipcon_peer_by_sock_rcu(inet, sk, port)) {
		rcu_read_unlock();
		NL_SET_ERR_MSG(info->extack, "socket is already used by a peer");
		err = -EALREADY;
		goto out;
	}
	rcu_read_unlock();

	list_for_each_entry(peer, &inet->peers, list) {
		if (peer->cookie == cookie) {
			found = peer;
			break;
		}
	}
	if (!found) {
		NL_SET_ERR_MSG_ATTR(info->extack, cookie_attr,
				    "no peer with this cookie");
		err = -ENOENT;
		goto out;
	}
	if (found->ctrl.sk) {
		NL_SET_ERR_MSG(info->extack,
			       "peer already has a control socket");
		err = -EALREADY;
		goto out;
	}
	sock_hold(sk);
	found->ctrl.port = port;
	found->ctrl.sk = sk;
	found->ctrl.peer = found;
	hash_add_rcu(inet->ports, &found->ctrl.node, port);
out:
	mutex_unlock(&inet->lock);
	return err;
}

int ipcon_nl_peer_unregister_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct ipcon_peer *peer;
	int err = 0;

	mutex_lock(&inet->lock);
	rcu_read_lock();
	peer = ipcon_peer_sender_rcu(inet, skb, info);
	rcu_read_unlock();
	if (peer) {
		ipcon_peer_remove(inet, net, peer,
				  IPCON_REMOVE_REASON_UNREGISTERED);
	} else {
		NL_SET_ERR_MSG(info->extack, "socket is not a registered peer");
		err = -ENOTCONN;
	}
	mutex_unlock(&inet->lock);
	return err;
}

int ipcon_nl_peer_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct ipcon_net *inet = ipcon_net(net);
	struct nlattr *name_attr = info->attrs[IPCON_A_PEER_NAME];
	struct nlattr *port_attr = info->attrs[IPCON_A_PORT];
	struct ipcon_viewer viewer;
	struct ipcon_peer *peer;
	struct sk_buff *reply;
	int err;

	err = ipcon_check_peer_ref(info);
	if (err)
		return err;

	reply = genlmsg_new(ipcon_peer_info_size(), GFP_KERNEL_ACCOUNT);
	if (!reply)
		return -ENOMEM;

	ipcon_viewer_init(&viewer, net);
	rcu_read_lock();
	if (name_attr)
		peer = ipcon_peer_by_name_rcu(inet, nla_data(name_attr));
	else
		peer = ipcon_peer_by_data_port_rcu(inet, nla_get_u32(port_attr));
	if (peer)
		err = ipcon_fill_peer(reply, peer, &viewer, info->snd_portid,
				      info->snd_seq, 0, NULL);
	rcu_read_unlock();

	if (!peer) {
		NL_SET_ERR_MSG_ATTR(info->extack, name_attr ?: port_attr,
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
