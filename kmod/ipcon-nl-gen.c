// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Generated from kmod/ipcon.yaml by cargo xtask codegen - do not edit. */

#include <linux/module.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "ipcon-nl-gen.h"

/*
 * The string policy bounds a length only from above: a string attribute
 * with a minimum length gets a validation function too.  It runs after
 * the NUL-string checks, so the value holds a NUL.
 */
static int ipcon_nl_validate_min_len_1(const struct nlattr *attr,
				       struct netlink_ext_ack *extack)
{
	if (strnlen(nla_data(attr), nla_len(attr)) >= 1)
		return 0;
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "string shorter than its minimum length 1");
	return -EINVAL;
}

/*
 * The policies of nested sets, spanning each set's attribute space: every
 * nest of an indexed array is validated against its set's policy.
 */
/* pack-entry */
const struct nla_policy ipcon_pack_entry_nl_policy[IPCON_A_PACK_ENTRY_MAX + 1] = {
	[IPCON_A_PACK_ENTRY_PAYLOAD] = { .type = NLA_BINARY, },
};

/*
 * One policy per request, spanning the whole attribute space so that a
 * handler may test any info->attrs[] entry: strict validation refuses every
 * attribute the request does not list.  A dump takes its do's attributes.
 */
/* IPCON_CMD_PEER_REGISTER - do */
static const struct nla_policy ipcon_peer_register_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_ACCESS] = NLA_POLICY_RANGE(NLA_U32, 1, 3),
	[IPCON_A_GID] = { .type = NLA_U32, },
	[IPCON_A_PACKED] = { .type = NLA_FLAG, },
};

/* IPCON_CMD_PEER_ATTACH - do */
static const struct nla_policy ipcon_peer_attach_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_COOKIE] = { .type = NLA_U64, },
};

/* IPCON_CMD_PEER_UNREGISTER - do */
static const struct nla_policy ipcon_peer_unregister_nl_policy[IPCON_A_MAX + 1] = {
};

/* IPCON_CMD_PEER_GET - do, dump */
static const struct nla_policy ipcon_peer_get_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_PORT] = { .type = NLA_U32, },
};

/* IPCON_CMD_UNICAST - do, parsed by the handler */
const struct nla_policy ipcon_unicast_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_PORT] = { .type = NLA_U32, },
	[IPCON_A_PAYLOAD] = { .type = NLA_BINARY, },
	[IPCON_A_PACK] = NLA_POLICY_NESTED_ARRAY(ipcon_pack_entry_nl_policy),
	[IPCON_A_TICKET] = { .type = NLA_U32, },
	[IPCON_A_EXPECT_UID] = { .type = NLA_U32, },
	[IPCON_A_STAMP_ROOM] = { .type = NLA_BINARY, .len = 60, },
};

/* IPCON_CMD_GROUP_REGISTER - do */
static const struct nla_policy ipcon_group_register_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_GROUP_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_ACCESS] = NLA_POLICY_RANGE(NLA_U32, 1, 3),
	[IPCON_A_GID] = { .type = NLA_U32, },
};

/* IPCON_CMD_GROUP_UNREGISTER - do */
static const struct nla_policy ipcon_group_unregister_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_GROUP_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
};

/* IPCON_CMD_GROUP_JOIN - do */
static const struct nla_policy ipcon_group_join_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_GROUP_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_RCV_LAST_MSG] = { .type = NLA_FLAG, },
	[IPCON_A_EXPECT_UID] = { .type = NLA_U32, },
};

/* IPCON_CMD_GROUP_LEAVE - do */
static const struct nla_policy ipcon_group_leave_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_GROUP_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
};

/* IPCON_CMD_GROUP_GET - do, dump */
static const struct nla_policy ipcon_group_get_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PEER_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_GROUP_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
};

/* IPCON_CMD_MULTICAST - do, parsed by the handler */
const struct nla_policy ipcon_multicast_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_GROUP_NAME] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_PAYLOAD] = { .type = NLA_BINARY, },
	[IPCON_A_PACK] = NLA_POLICY_NESTED_ARRAY(ipcon_pack_entry_nl_policy),
	[IPCON_A_SYNC] = { .type = NLA_FLAG, },
	[IPCON_A_TICKET] = { .type = NLA_U32, },
};

/* IPCON_CMD_POLICY_LOAD - do */
static const struct nla_policy ipcon_policy_load_nl_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_RULE_COUNT] = NLA_POLICY_MAX(NLA_U32, 256),
	[IPCON_A_RULE_INDEX] = NLA_POLICY_MAX(NLA_U32, 255),
	[IPCON_A_NAME_PATTERN] =
		NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, ipcon_nl_validate_min_len_1, 31),
	[IPCON_A_UID] = { .type = NLA_U32, },
	[IPCON_A_GID] = { .type = NLA_U32, },
};

/*
 * Split do/dump operations exist since 6.2 (Kbuild defines
 * IPCON_HAVE_SPLIT_OPS); older kernels take one genl_ops per command.
 */
#ifdef IPCON_HAVE_SPLIT_OPS
static const struct genl_split_ops ipcon_nl_ops[] = {
	{
		.cmd		= IPCON_CMD_PEER_REGISTER,
		.doit		= ipcon_nl_peer_register_doit,
		.policy		= ipcon_peer_register_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_PEER_ATTACH,
		.doit		= ipcon_nl_peer_attach_doit,
		.policy		= ipcon_peer_attach_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_PEER_UNREGISTER,
		.doit		= ipcon_nl_peer_unregister_doit,
		.policy		= ipcon_peer_unregister_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_PEER_GET,
		.doit		= ipcon_nl_peer_get_doit,
		.policy		= ipcon_peer_get_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_PEER_GET,
		.dumpit		= ipcon_nl_peer_get_dumpit,
		.policy		= ipcon_peer_get_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= IPCON_CMD_UNICAST,
		.doit		= ipcon_nl_unicast_doit,
		.policy		= ipcon_unicast_nl_policy,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_GROUP_REGISTER,
		.doit		= ipcon_nl_group_register_doit,
		.policy		= ipcon_group_register_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_GROUP_UNREGISTER,
		.doit		= ipcon_nl_group_unregister_doit,
		.policy		= ipcon_group_unregister_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_GROUP_JOIN,
		.doit		= ipcon_nl_group_join_doit,
		.policy		= ipcon_group_join_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_GROUP_LEAVE,
		.doit		= ipcon_nl_group_leave_doit,
		.policy		= ipcon_group_leave_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_GROUP_GET,
		.doit		= ipcon_nl_group_get_doit,
		.policy		= ipcon_group_get_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_GROUP_GET,
		.dumpit		= ipcon_nl_group_get_dumpit,
		.policy		= ipcon_group_get_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= IPCON_CMD_MULTICAST,
		.doit		= ipcon_nl_multicast_doit,
		.policy		= ipcon_multicast_nl_policy,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPCON_CMD_POLICY_LOAD,
		.doit		= ipcon_nl_policy_load_doit,
		.policy		= ipcon_policy_load_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
};
#else
static const struct genl_ops ipcon_nl_ops[] = {
	{
		.cmd		= IPCON_CMD_PEER_REGISTER,
		.doit		= ipcon_nl_peer_register_doit,
		.policy		= ipcon_peer_register_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_PEER_ATTACH,
		.doit		= ipcon_nl_peer_attach_doit,
		.policy		= ipcon_peer_attach_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_PEER_UNREGISTER,
		.doit		= ipcon_nl_peer_unregister_doit,
		.policy		= ipcon_peer_unregister_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_PEER_GET,
		.doit		= ipcon_nl_peer_get_doit,
		.dumpit		= ipcon_nl_peer_get_dumpit,
		.policy		= ipcon_peer_get_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_UNICAST,
		.doit		= ipcon_nl_unicast_doit,
		.policy		= ipcon_unicast_nl_policy,
	},
	{
		.cmd		= IPCON_CMD_GROUP_REGISTER,
		.doit		= ipcon_nl_group_register_doit,
		.policy		= ipcon_group_register_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_GROUP_UNREGISTER,
		.doit		= ipcon_nl_group_unregister_doit,
		.policy		= ipcon_group_unregister_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_GROUP_JOIN,
		.doit		= ipcon_nl_group_join_doit,
		.policy		= ipcon_group_join_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_GROUP_LEAVE,
		.doit		= ipcon_nl_group_leave_doit,
		.policy		= ipcon_group_leave_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_GROUP_GET,
		.doit		= ipcon_nl_group_get_doit,
		.dumpit		= ipcon_nl_group_get_dumpit,
		.policy		= ipcon_group_get_nl_policy,
		.maxattr	= IPCON_A_MAX,
	},
	{
		.cmd		= IPCON_CMD_MULTICAST,
		.doit		= ipcon_nl_multicast_doit,
		.policy		= ipcon_multicast_nl_policy,
	},
	{
		.cmd		= IPCON_CMD_POLICY_LOAD,
		.doit		= ipcon_nl_policy_load_doit,
		.policy		= ipcon_policy_load_nl_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};
#endif

static const struct genl_multicast_group ipcon_nl_mcgrps[] = {
	[IPCON_NLGRP_KEVENT] = { .name = IPCON_MCGRP_KEVENT, },
};

/* Not const: genl_register_family() fills in the id. */
struct genl_family ipcon_family __ro_after_init = {
	.name		= IPCON_FAMILY_NAME,
	.version	= IPCON_FAMILY_VERSION,
	/* No maxattr: every operation has its own, or none (see the policies). */
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
#ifdef IPCON_HAVE_SPLIT_OPS
	.split_ops	= ipcon_nl_ops,
	.n_split_ops	= ARRAY_SIZE(ipcon_nl_ops),
#else
	.ops		= ipcon_nl_ops,
	.n_ops		= ARRAY_SIZE(ipcon_nl_ops),
#endif
#ifdef IPCON_HAVE_RESV_START_OP
	/* Reserved header bytes must be 0 and policies apply to every command. */
	.resv_start_op	= IPCON_CMD_PEER_REGISTER,
#endif
	.mcgrps		= ipcon_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(ipcon_nl_mcgrps),
};

/*
 * Reports the required attribute @type of a request as missing: with the
 * kernel's missing-attribute extended ACK where it has one (6.0+: user space
 * learns the attribute's number) and with a text naming it on every kernel.
 * Returns true when the attribute is absent.
 */
bool ipcon_nl_attr_missing(struct genl_info *info, unsigned int type)
{
	if (info->attrs[type])
		return false;
#ifdef NL_SET_ERR_ATTR_MISS
	NL_SET_ERR_ATTR_MISS(info->extack, NULL, type);
#endif
	switch (type) {
	case IPCON_A_PEER_NAME:
		NL_SET_ERR_MSG(info->extack, "missing attribute peer-name");
		break;
	case IPCON_A_GROUP_NAME:
		NL_SET_ERR_MSG(info->extack, "missing attribute group-name");
		break;
	case IPCON_A_PAYLOAD:
		NL_SET_ERR_MSG(info->extack, "missing attribute payload");
		break;
	case IPCON_A_PORT:
		NL_SET_ERR_MSG(info->extack, "missing attribute port");
		break;
	case IPCON_A_UID:
		NL_SET_ERR_MSG(info->extack, "missing attribute uid");
		break;
	case IPCON_A_GID:
		NL_SET_ERR_MSG(info->extack, "missing attribute gid");
		break;
	case IPCON_A_COOKIE:
		NL_SET_ERR_MSG(info->extack, "missing attribute cookie");
		break;
	case IPCON_A_ACCESS:
		NL_SET_ERR_MSG(info->extack, "missing attribute access");
		break;
	case IPCON_A_TICKET:
		NL_SET_ERR_MSG(info->extack, "missing attribute ticket");
		break;
	case IPCON_A_EXPECT_UID:
		NL_SET_ERR_MSG(info->extack, "missing attribute expect-uid");
		break;
	case IPCON_A_RULE_COUNT:
		NL_SET_ERR_MSG(info->extack, "missing attribute rule-count");
		break;
	case IPCON_A_RULE_INDEX:
		NL_SET_ERR_MSG(info->extack, "missing attribute rule-index");
		break;
	case IPCON_A_NAME_PATTERN:
		NL_SET_ERR_MSG(info->extack, "missing attribute name-pattern");
		break;
	case IPCON_A_PACK:
		NL_SET_ERR_MSG(info->extack, "missing attribute pack");
		break;
	case IPCON_A_STAMP_ROOM:
		NL_SET_ERR_MSG(info->extack, "missing attribute stamp-room");
		break;
	default:
		NL_SET_ERR_MSG(info->extack, "missing attribute");
		break;
	}
	return true;
}

/*
 * Parses the attributes of a request whose operation has no maxattr (see
 * its policy) as generic netlink parses the others: strictly, against
 * @policy, into @tb (IPCON_A_MAX + 1 entries, on the handler's stack);
 * info->attrs then points to @tb.
 */
int ipcon_nl_parse(struct genl_info *info,
		   const struct nla_policy *policy,
		   struct nlattr **tb)
{
	int err = nla_parse(tb, IPCON_A_MAX, genlmsg_data(info->genlhdr),
			    genlmsg_len(info->genlhdr), policy, info->extack);

	if (!err)
		info->attrs = tb;
	return err;
}
