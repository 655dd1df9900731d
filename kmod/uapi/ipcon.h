/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Generated from kmod/ipcon.yaml by cargo xtask codegen - do not edit. */

#ifndef _UAPI_LINUX_IPCON_H
#define _UAPI_LINUX_IPCON_H

#define IPCON_FAMILY_NAME	"ipcon"
#define IPCON_FAMILY_VERSION	3

#define IPCON_VERSION		3
#define IPCON_MAX_NAME_LEN	32
#define IPCON_MAX_PAYLOAD_LEN	2048
#define IPCON_MAX_DELIVERY_LEN	2560
#define IPCON_STAMP_ROOM_LEN	60
#define IPCON_MAX_PACK		64
#define IPCON_MAX_POLICY_RULES	256

/**
 * enum ipcon_peer_flags - Properties of a peer, reported by peer-get and
 *   kernel events.
 * @IPCON_PEER_FLAGS_ANONYMOUS: The peer registered without a name; it is
 *   reachable by port only.
 * @IPCON_PEER_FLAGS_PACKED: The peer's data socket takes packed deliveries:
 *   several messages in one datagram (peer-register with packed).
 */
enum ipcon_peer_flags {
	IPCON_PEER_FLAGS_ANONYMOUS = 1,
	IPCON_PEER_FLAGS_PACKED = 2,
};

/**
 * enum ipcon_group_access - Who may join a group (group-register) or send to a
 *   peer (peer-register). The default is open. CAP_NET_ADMIN over the network
 *   namespace passes every rule.
 * @IPCON_GROUP_ACCESS_OPEN: Any peer in the network namespace may.
 * @IPCON_GROUP_ACCESS_SAME_UID: Only a process with the owner's effective uid
 *   may.
 * @IPCON_GROUP_ACCESS_GID: Only a process in group gid (effective or
 *   supplementary) may.
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

#define IPCON_CALL_MAGIC	202
#define IPCON_CALL_HEADER_LEN	12

/**
 * enum ipcon_call_kind - What a call message is (second byte of the call
 *   header).
 * @IPCON_CALL_KIND_REQUEST: Call a method; the callee answers with exactly one
 *   reply.
 * @IPCON_CALL_KIND_REPLY: The answer to the request with the same call id.
 */
enum ipcon_call_kind {
	IPCON_CALL_KIND_REQUEST = 1,
	IPCON_CALL_KIND_REPLY,
};

/**
 * enum ipcon_call_status - How a call went (third byte of a reply's call
 *   header). Any status but ok carries a UTF-8 text saying why as its payload.
 * @IPCON_CALL_STATUS_OK: The method ran; the payload is its result.
 * @IPCON_CALL_STATUS_UNKNOWN_METHOD: The callee has no method of that name.
 * @IPCON_CALL_STATUS_BAD_REQUEST: The request's call header did not parse.
 * @IPCON_CALL_STATUS_BUSY: The callee's queue of requests is full; try again
 *   later.
 * @IPCON_CALL_STATUS_FAILED: The method failed (or ended without answering).
 */
enum ipcon_call_status {
	IPCON_CALL_STATUS_OK,
	IPCON_CALL_STATUS_UNKNOWN_METHOD,
	IPCON_CALL_STATUS_BAD_REQUEST,
	IPCON_CALL_STATUS_BUSY,
	IPCON_CALL_STATUS_FAILED,
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
	IPCON_A_EXPECT_UID,
	IPCON_A_OVERRUN,
	IPCON_A_OVERRUN_PORT,
	IPCON_A_OVERRUN_UID,
	IPCON_A_RULE_COUNT,
	IPCON_A_RULE_INDEX,
	IPCON_A_NAME_PATTERN,
	IPCON_A_PACKED,
	IPCON_A_PACK,
	IPCON_A_STAMP_ROOM,

	__IPCON_A_MAX,
	IPCON_A_MAX = (__IPCON_A_MAX - 1)
};

enum {
	IPCON_A_PACK_ENTRY_PAYLOAD = 1,

	__IPCON_A_PACK_ENTRY_MAX,
	IPCON_A_PACK_ENTRY_MAX = (__IPCON_A_PACK_ENTRY_MAX - 1)
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
	IPCON_CMD_POLICY_LOAD,

	__IPCON_CMD_MAX,
	IPCON_CMD_MAX = (__IPCON_CMD_MAX - 1)
};

#define IPCON_MCGRP_KEVENT	"kevent"

#endif /* _UAPI_LINUX_IPCON_H */
