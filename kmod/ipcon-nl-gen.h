/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Generated from kmod/ipcon.yaml by cargo xtask codegen - do not edit. */

#ifndef _IPCON_NL_GEN_H
#define _IPCON_NL_GEN_H

#include <net/genetlink.h>
#include <net/netlink.h>

#include "uapi/ipcon.h"

/* The family: operations, policies, multicast groups (ipcon-nl-gen.c). */
extern struct genl_family ipcon_family;

/* The policies of nested sets, for nla_parse_nested() of their nests. */
extern const struct nla_policy ipcon_pack_entry_nl_policy[IPCON_A_PACK_ENTRY_MAX + 1];

/*
 * The policies of the requests whose handlers parse their attributes
 * (generic netlink does not: their operations have no maxattr).
 */
extern const struct nla_policy ipcon_unicast_nl_policy[IPCON_A_MAX + 1];
extern const struct nla_policy ipcon_multicast_nl_policy[IPCON_A_MAX + 1];

/* The handlers, one per do and dump of the spec. */
int ipcon_nl_peer_register_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_peer_attach_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_peer_unregister_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_peer_get_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_peer_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ipcon_nl_unicast_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_group_register_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_group_unregister_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_group_join_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_group_leave_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_group_get_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_group_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ipcon_nl_multicast_doit(struct sk_buff *skb, struct genl_info *info);
int ipcon_nl_policy_load_doit(struct sk_buff *skb, struct genl_info *info);

/* Multicast groups, by index in the family. */
enum {
	IPCON_NLGRP_KEVENT,
};

bool ipcon_nl_attr_missing(struct genl_info *info, unsigned int type);
int ipcon_nl_parse(struct genl_info *info,
		   const struct nla_policy *policy,
		   struct nlattr **tb);

/*
 * The attributes of a dump request, validated against the dump's policy:
 * where the core keeps them moved with split operations (6.2).
 */
static inline struct nlattr **ipcon_nl_dump_attrs(struct netlink_callback *cb)
{
#ifdef IPCON_HAVE_SPLIT_OPS
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

#endif /* _IPCON_NL_GEN_H */
