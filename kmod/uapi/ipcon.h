/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Generated from kmod/ipcon.yaml by cargo xtask codegen - do not edit. */

#ifndef _UAPI_LINUX_IPCON_H
#define _UAPI_LINUX_IPCON_H

#define IPCON_FAMILY_NAME	"ipcon"
#define IPCON_FAMILY_VERSION	2

#define IPCON_VERSION		2
#define IPCON_MAX_NAME_LEN	32
#define IPCON_MAX_PAYLOAD_LEN	2048

/**
 * enum ipcon_peer_flags - Properties of a peer, reported by peer-get and
 *   kernel events.
 * @IPCON_PEER_FLAGS_ANONYMOUS: The peer registered without a name; it is
 *   reachable by port only.
 */
enum ipcon_peer_flags {
	IPCON_PEER_FLAGS_ANONYMOUS = 1,
};

/**
 * enum ipcon_group_access - Who may join a group. The default is open.
 * @IPCON_GROUP_ACCESS_OPEN: Any peer in the network namespace may join.
 * @IPCON_GROUP_ACCESS_SAME_UID: Only peers with the owner's uid may join.
 * @IPCON_GROUP_ACCESS_GID: Only peers whose process is in group gid may join.
 */
enum ipcon_group_access {
	IPCON_GROUP_ACCESS_OPEN = 1,
	IPCON_GROUP_ACCESS_SAME_UID,
	IPCON_GROUP_ACCESS_GID,
};

/**
 * enum ipcon_kevent_type - What a kernel event reports.
 * @IPCON_KEVENT_TYPE_PEER_ADD: A peer registered (named or anonymous).
 * @IPCON_KEVENT_TYPE_PEER_REMOVE: A peer is gone; its name is free again. Sent
 *   after the group-remove events of all the groups it owned.
 * @IPCON_KEVENT_TYPE_GROUP_ADD: A peer registered a group.
 * @IPCON_KEVENT_TYPE_GROUP_REMOVE: A group is gone (unregistered, or its owner
 *   is gone).
 */
enum ipcon_kevent_type {
	IPCON_KEVENT_TYPE_PEER_ADD = 1,
	IPCON_KEVENT_TYPE_PEER_REMOVE,
	IPCON_KEVENT_TYPE_GROUP_ADD,
	IPCON_KEVENT_TYPE_GROUP_REMOVE,
};

/**
 * enum ipcon_remove_reason - Why a peer or group was removed.
 * @IPCON_REMOVE_REASON_UNREGISTERED: Explicitly unregistered by its owner
 *   (peer-unregister, group-unregister).
 * @IPCON_REMOVE_REASON_CLOSED: The owner's socket was released without
 *   unregistering: the process exited or was killed.
 */
enum ipcon_remove_reason {
	IPCON_REMOVE_REASON_UNREGISTERED = 1,
	IPCON_REMOVE_REASON_CLOSED,
};

enum {
	IPCON_A_PEER_NAME = 1,
	IPCON_A_GROUP_NAME,
	IPCON_A_PAYLOAD,
	IPCON_A_PORT,
	IPCON_A_PID,
	IPCON_A_UID,
	IPCON_A_GID,
	IPCON_A_PEER_FLAGS,
	IPCON_A_COOKIE,
	IPCON_A_SYNC,
	IPCON_A_RCV_LAST_MSG,
	IPCON_A_REPLAYED,
	IPCON_A_MISSED,
	IPCON_A_DELIVERED,
	IPCON_A_DROPPED,
	IPCON_A_ACCESS,
	IPCON_A_KEVENT_TYPE,
	IPCON_A_KEVENT_SEQ,
	IPCON_A_REASON,
	IPCON_A_SUBSCRIBERS,
	IPCON_A_TX_MSGS,
	IPCON_A_RX_MSGS,
	IPCON_A_RX_DROPPED,
	IPCON_A_GROUPS,
	IPCON_A_LAST_MSG_LEN,
	IPCON_A_PAD,
	IPCON_A_TICKET,
	IPCON_A_ERROR,
	IPCON_A_ERROR_MSG,

	__IPCON_A_MAX,
	IPCON_A_MAX = (__IPCON_A_MAX - 1)
};

enum {
	IPCON_CMD_PEER_REGISTER = 1,
	IPCON_CMD_PEER_ATTACH,
	IPCON_CMD_PEER_UNREGISTER,
	IPCON_CMD_PEER_GET,
	IPCON_CMD_UNICAST,
	IPCON_CMD_GROUP_REGISTER,
	IPCON_CMD_GROUP_UNREGISTER,
	IPCON_CMD_GROUP_JOIN,
	IPCON_CMD_GROUP_LEAVE,
	IPCON_CMD_GROUP_GET,
	IPCON_CMD_MULTICAST,
	IPCON_CMD_KEVENT,
	IPCON_CMD_SEND_FAILED,
	IPCON_CMD_UNICAST_MSG,
	IPCON_CMD_GROUP_MSG,

	__IPCON_CMD_MAX,
	IPCON_CMD_MAX = (__IPCON_CMD_MAX - 1)
};

#define IPCON_MCGRP_KEVENT	"kevent"

#endif /* _UAPI_LINUX_IPCON_H */
