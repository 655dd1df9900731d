// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: packet-based IPC over generic netlink.
 *
 * Module parameters, registering the generic netlink family (generated from
 * ipcon.yaml into ipcon-nl-gen.c) and the socket release notifier;
 * everything else lives in the files named after its concept.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "ipcon.h"

unsigned int ipcon_max_peers = 1024;
module_param_named(max_peers, ipcon_max_peers, uint, 0444);
MODULE_PARM_DESC(max_peers, "Most peers per network namespace (default 1024)");

unsigned int ipcon_max_groups_per_peer = 64;
module_param_named(max_groups_per_peer, ipcon_max_groups_per_peer, uint, 0444);
MODULE_PARM_DESC(max_groups_per_peer, "Most groups one peer owns (default 64)");

unsigned int ipcon_max_subscriptions_per_peer = 256;
module_param_named(max_subscriptions_per_peer,
		   ipcon_max_subscriptions_per_peer, uint, 0444);
MODULE_PARM_DESC(max_subscriptions_per_peer,
		 "Most groups one peer joins (default 256)");

unsigned int ipcon_max_payload = IPCON_MAX_PAYLOAD_LEN;
module_param_named(max_payload, ipcon_max_payload, uint, 0444);
MODULE_PARM_DESC(max_payload, "Largest payload in bytes, 1..2048 (default 2048)");

/*
 * Writable: forwarding trades the memory cgroup charge of a posted unicast
 * waiting in its receiver's queue (see deliver.c) for one copy less.
 */
bool ipcon_forward_unicast = true;
module_param_named(forward_unicast, ipcon_forward_unicast, bool, 0644);
MODULE_PARM_DESC(forward_unicast,
		 "Queue a posted unicast's own buffer to its receiver (default 1)");

struct workqueue_struct *ipcon_wq;

/*
 * A netlink socket is being released (close or process death): if it was a
 * peer's data or control socket, the peer is gone.  The chain is a blocking
 * notifier called from process context, so the handler may take mutexes.
 */
static int ipcon_netlink_notify(struct notifier_block *nb,
				unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !n->portid)
		return NOTIFY_DONE;

	ipcon_port_released(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block ipcon_netlink_notifier = {
	.notifier_call = ipcon_netlink_notify,
};

static int __init ipcon_init(void)
{
	int err;

	if (!ipcon_max_payload || ipcon_max_payload > IPCON_MAX_PAYLOAD_LEN) {
		pr_err("ipcon: max_payload must be 1..%d\n",
		       IPCON_MAX_PAYLOAD_LEN);
		return -EINVAL;
	}

	ipcon_users_init();

	ipcon_wq = alloc_workqueue("ipcon", 0, 0);
	if (!ipcon_wq)
		return -ENOMEM;

	err = ipcon_netns_register();
	if (err)
		goto err_wq;

	/* Before the family: no peer may register unseen by the notifier. */
	err = netlink_register_notifier(&ipcon_netlink_notifier);
	if (err)
		goto err_netns;

	err = genl_register_family(&ipcon_family);
	if (err)
		goto err_notifier;

	return 0;

err_notifier:
	netlink_unregister_notifier(&ipcon_netlink_notifier);
err_netns:
	ipcon_netns_unregister();
err_wq:
	destroy_workqueue(ipcon_wq);
	return err;
}

/*
 * Unload with live peers: stop learning of released sockets first (a removal
 * after the family is gone would send events to a multicast group id that
 * may already belong to another family), then unregister the family (which
 * waits for requests in flight), then free every namespace's registry
 * without sending events, then wait for RCU frees and for the peer frees
 * they queued (destroying the workqueue drains it).
 */
static void __exit ipcon_exit(void)
{
	netlink_unregister_notifier(&ipcon_netlink_notifier);
	genl_unregister_family(&ipcon_family);
	ipcon_netns_unregister();
	rcu_barrier();
	destroy_workqueue(ipcon_wq);
	ipcon_users_exit();
}

module_init(ipcon_init);
module_exit(ipcon_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ipcon: packet-based IPC over generic netlink");
MODULE_ALIAS_GENL_FAMILY(IPCON_FAMILY_NAME);
