// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon_floor: the least a generic netlink family can do to carry a message
 * from one user-space socket to another, for ipcon-perf's round trips.
 *
 * A request names the receiver by its port and carries a payload; the
 * family builds the receiver's message (the sender's port, as the kernel
 * knows it, and the payload) and queues it with genlmsg_unicast().  No
 * names, no identity beyond the port, no access rules, no accounting, no
 * limits: what is left is generic netlink's own share of a message, two
 * skbs and the dispatch.  ipcon against this family says what ipcon's own
 * kernel and library work costs; this family against a Unix socket says
 * where any generic netlink forwarder stands.
 *
 * Two requests do the same: FORWARD the way ipcon's operations run (a
 * strict policy, the attribute table generic netlink allocates for every
 * request of a parallel_ops family, the header checks), FORWARD_BARE with
 * none of it (a command below resv_start_op without a policy: the family
 * finds its two attributes itself).  Their difference is what the table and
 * the policy walk cost.
 *
 * For the benchmark only: `cargo xtask bench` builds and loads it in its VM.
 * It is not part of ipcon and never shipped.
 */
#include <linux/module.h>
#include <linux/version.h>
#include <net/genetlink.h>

enum {
	FLOOR_CMD_UNSPEC,
	FLOOR_CMD_FORWARD_BARE,
	FLOOR_CMD_FORWARD,
	FLOOR_CMD_MSG,
};

enum {
	FLOOR_A_UNSPEC,
	FLOOR_A_PORT,
	FLOOR_A_PAYLOAD,
	__FLOOR_A_MAX,
};

#define FLOOR_A_MAX		(__FLOOR_A_MAX - 1)
/* ipcon's default max_payload. */
#define FLOOR_MAX_PAYLOAD	65536

static const struct nla_policy floor_policy[FLOOR_A_MAX + 1] = {
	[FLOOR_A_PORT]		= { .type = NLA_U32 },
	[FLOOR_A_PAYLOAD]	= { .type = NLA_BINARY, .len = FLOOR_MAX_PAYLOAD },
};

static struct genl_family floor_family;

static int floor_forward(struct genl_info *info, const struct nlattr *port,
			 const struct nlattr *payload)
{
	struct sk_buff *skb;
	void *hdr;

	if (!port || !payload) {
		NL_SET_ERR_MSG(info->extack, "port and payload are required");
		return -EINVAL;
	}
	skb = genlmsg_new(nla_total_size(sizeof(u32)) +
			  nla_total_size(nla_len(payload)), GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put(skb, 0, 0, &floor_family, 0, FLOOR_CMD_MSG);
	if (!hdr || nla_put_u32(skb, FLOOR_A_PORT, info->snd_portid) ||
	    nla_put(skb, FLOOR_A_PAYLOAD, nla_len(payload),
		    nla_data(payload))) {
		nlmsg_free(skb);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return genlmsg_unicast(genl_info_net(info), skb, nla_get_u32(port));
}

static int floor_forward_doit(struct sk_buff *skb, struct genl_info *info)
{
	return floor_forward(info, info->attrs[FLOOR_A_PORT],
			     info->attrs[FLOOR_A_PAYLOAD]);
}

/* No table and no policy: find both attributes, check their lengths. */
static int floor_forward_bare_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct nlattr *attrs = genlmsg_data(info->genlhdr);
	int len = genlmsg_len(info->genlhdr);
	const struct nlattr *port = nla_find(attrs, len, FLOOR_A_PORT);
	const struct nlattr *payload = nla_find(attrs, len, FLOOR_A_PAYLOAD);

	if ((port && nla_len(port) != sizeof(u32)) ||
	    (payload && nla_len(payload) > FLOOR_MAX_PAYLOAD)) {
		NL_SET_ERR_MSG(info->extack, "attribute of a wrong length");
		return -EINVAL;
	}
	return floor_forward(info, port, payload);
}

static const struct genl_ops floor_ops[] = {
	{
		.cmd	= FLOOR_CMD_FORWARD_BARE,
		.doit	= floor_forward_bare_doit,
	},
	{
		.cmd	= FLOOR_CMD_FORWARD,
		.doit	= floor_forward_doit,
		.policy	= floor_policy,
		.maxattr = FLOOR_A_MAX,
	},
};

static struct genl_family floor_family = {
	.name		= "ipcon_floor",
	.version	= 1,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= floor_ops,
	.n_ops		= ARRAY_SIZE(floor_ops),
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
	.resv_start_op	= FLOOR_CMD_FORWARD,
#endif
};

static int __init floor_init(void)
{
	return genl_register_family(&floor_family);
}

static void __exit floor_exit(void)
{
	genl_unregister_family(&floor_family);
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("The floor of a generic netlink forwarder, for ipcon-perf");
