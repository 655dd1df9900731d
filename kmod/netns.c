// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: per-network-namespace registry.
 *
 * Every namespace has its own peers, names, groups and kernel event sequence.
 * A namespace is torn down only after all of its sockets are gone, so the
 * release notifier has already removed its peers; whatever is left (the module
 * being unloaded with live peers) is freed here without sending events.
 */
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ipcon.h"

static unsigned int ipcon_net_id __read_mostly;

struct ipcon_net *ipcon_net(const struct net *net)
{
	return net_generic(net, ipcon_net_id);
}

static int __net_init ipcon_net_init(struct net *net)
{
	struct ipcon_net *inet = ipcon_net(net);

	mutex_init(&inet->lock);
	INIT_LIST_HEAD(&inet->peers);
	hash_init(inet->names);
	hash_init(inet->ports);
	inet->n_peers = 0;
	inet->kevent_seq = 0;
	atomic_set(&inet->gen, 1);
	inet->policy = NULL;
	inet->load = NULL;
	inet->load_port = 0;
	/*
	 * Kernel events go to every listener at once, so their pids cannot be
	 * each listener's view: they are the view of the task that set up
	 * this namespace (its creator, or for namespaces that existed when the
	 * module was loaded, the loader).
	 */
	inet->pid_ns = get_pid_ns(task_active_pid_ns(current) ?: &init_pid_ns);
	return 0;
}

static void __net_exit ipcon_net_exit(struct net *net)
{
	struct ipcon_net *inet = ipcon_net(net);
	struct ipcon_peer *peer, *tmp;

	mutex_lock(&inet->lock);
	list_for_each_entry_safe(peer, tmp, &inet->peers, list)
		ipcon_peer_remove(inet, net, peer, 0);
	mutex_unlock(&inet->lock);
	WARN_ON(inet->n_peers);
	ipcon_policy_free(inet);
	put_pid_ns(inet->pid_ns);
	mutex_destroy(&inet->lock);
}

static struct pernet_operations ipcon_net_ops = {
	.init = ipcon_net_init,
	.exit = ipcon_net_exit,
	.id   = &ipcon_net_id,
	.size = sizeof(struct ipcon_net),
};

int ipcon_netns_register(void)
{
	return register_pernet_subsys(&ipcon_net_ops);
}

void ipcon_netns_unregister(void)
{
	unregister_pernet_subsys(&ipcon_net_ops);
}
