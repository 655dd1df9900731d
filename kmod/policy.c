// SPDX-License-Identifier: GPL-2.0
/*
 * ipcon: attribute policies, one per request, and the operations table that
 * binds each command to its handler and policy.
 *
 * The policies list exactly the request attributes of kmod/ipcon.yaml (checked
 * by `cargo xtask spec-check`); with strict validation the core rejects any
 * other attribute.  Lengths of strings exclude the terminating NUL.
 */
#include <net/genetlink.h>
#include <net/netlink.h>

#include "ipcon.h"

static const struct nla_policy ipcon_peer_register_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
};

static const struct nla_policy ipcon_peer_attach_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_COOKIE] = { .type = NLA_U64 },
};

static const struct nla_policy ipcon_peer_unregister_policy[IPCON_A_MAX + 1] = {
};

static const struct nla_policy ipcon_peer_get_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_PORT] = { .type = NLA_U32 },
};

static const struct nla_policy ipcon_unicast_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_PORT] = { .type = NLA_U32 },
	[IPCON_A_PAYLOAD] = { .type = NLA_BINARY },
	[IPCON_A_TICKET] = { .type = NLA_U32 },
};

static const struct nla_policy ipcon_group_register_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_GROUP_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_ACCESS] = NLA_POLICY_RANGE(NLA_U32, 1, 3),
	[IPCON_A_GID] = { .type = NLA_U32 },
};

static const struct nla_policy ipcon_group_unregister_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_GROUP_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
};

static const struct nla_policy ipcon_group_join_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_GROUP_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_RCV_LAST_MSG] = { .type = NLA_FLAG },
};

static const struct nla_policy ipcon_group_leave_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_GROUP_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
};

static const struct nla_policy ipcon_group_get_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_GROUP_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
};

static const struct nla_policy ipcon_group_get_dump_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
};

static const struct nla_policy ipcon_multicast_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_GROUP_NAME] = { .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 },
	[IPCON_A_PAYLOAD] = { .type = NLA_BINARY },
	[IPCON_A_SYNC] = { .type = NLA_FLAG },
	[IPCON_A_TICKET] = { .type = NLA_U32 },
};

/*
 * One policy per command serves both do and dump on every supported kernel
 * (split do/dump policies need 6.2), so group-get carries its do policy and
 * the dump re-parses its request with ipcon_group_get_dump_policy.
 */
int ipcon_group_dump_parse(struct netlink_callback *cb, struct nlattr **tb)
{
	return nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, IPCON_A_MAX,
			   ipcon_group_get_dump_policy, cb->extack);
}

/* Reject a bad group-get dump request with an error ACK, before dumping. */
static int ipcon_group_get_dump_start(struct netlink_callback *cb)
{
	struct nlattr *tb[IPCON_A_MAX + 1];

	return ipcon_group_dump_parse(cb, tb);
}

const struct genl_ops ipcon_ops[] = {
	{
		.cmd = IPCON_CMD_PEER_REGISTER,
		.doit = ipcon_nl_peer_register,
		.policy = ipcon_peer_register_policy,
		.maxattr = ARRAY_SIZE(ipcon_peer_register_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_PEER_ATTACH,
		.doit = ipcon_nl_peer_attach,
		.policy = ipcon_peer_attach_policy,
		.maxattr = ARRAY_SIZE(ipcon_peer_attach_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_PEER_UNREGISTER,
		.doit = ipcon_nl_peer_unregister,
		.policy = ipcon_peer_unregister_policy,
		.maxattr = ARRAY_SIZE(ipcon_peer_unregister_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_PEER_GET,
		.doit = ipcon_nl_peer_get,
		.dumpit = ipcon_nl_peer_dump,
		.policy = ipcon_peer_get_policy,
		.maxattr = ARRAY_SIZE(ipcon_peer_get_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_UNICAST,
		.doit = ipcon_nl_unicast,
		.policy = ipcon_unicast_policy,
		.maxattr = ARRAY_SIZE(ipcon_unicast_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_GROUP_REGISTER,
		.doit = ipcon_nl_group_register,
		.policy = ipcon_group_register_policy,
		.maxattr = ARRAY_SIZE(ipcon_group_register_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_GROUP_UNREGISTER,
		.doit = ipcon_nl_group_unregister,
		.policy = ipcon_group_unregister_policy,
		.maxattr = ARRAY_SIZE(ipcon_group_unregister_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_GROUP_JOIN,
		.doit = ipcon_nl_group_join,
		.policy = ipcon_group_join_policy,
		.maxattr = ARRAY_SIZE(ipcon_group_join_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_GROUP_LEAVE,
		.doit = ipcon_nl_group_leave,
		.policy = ipcon_group_leave_policy,
		.maxattr = ARRAY_SIZE(ipcon_group_leave_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_GROUP_GET,
		.doit = ipcon_nl_group_get,
		.start = ipcon_group_get_dump_start,
		.dumpit = ipcon_nl_group_dump,
		.policy = ipcon_group_get_policy,
		.maxattr = ARRAY_SIZE(ipcon_group_get_policy) - 1,
	},
	{
		.cmd = IPCON_CMD_MULTICAST,
		.doit = ipcon_nl_multicast,
		.policy = ipcon_multicast_policy,
		.maxattr = ARRAY_SIZE(ipcon_multicast_policy) - 1,
	},
};

const unsigned int ipcon_n_ops = ARRAY_SIZE(ipcon_ops);
