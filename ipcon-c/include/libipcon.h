/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * libipcon.h - the C API of ipcon: packet IPC between local processes over
 * the "ipcon" generic netlink family (kernel module ipcon.ko).
 *
 * The API of the ipcon tutorial and of the original libipcon (programs
 * written for it compile unchanged), plus what ipcon adds: the sender's
 * kernel-stamped pid and uid in every message, posted sends, ipcon_strerror
 * and the kernel's explanation of the last failure.
 *
 * Errors: every int function returns 0 (or a count, where said) on success
 * and a negative errno on failure, e.g. -ENOENT (no such peer or group),
 * -EINVAL (NULL pointer; a name that is empty, longer than 31 bytes, or has
 * '/' or a non-printable byte), -EMSGSIZE (payload over
 * LIBIPCON_MAX_PAYLOAD_LEN), -EAGAIN (nothing queued, or the receiver's
 * queue is full), -ETIMEDOUT, -ENODEV (module not loaded), -ESTALE (module
 * reloaded since the handler was created), -ENOTCONN (peer unregistered,
 * e.g. the module was unloaded). ipcon_strerror() says what each means;
 * ipcon_last_error() describes the handler's last failure in full.
 *
 * Threads: a handler may be used by several threads at once. Receives and
 * requests go through separate locks, so one thread may block in
 * ipcon_rcv() while others send, join or leave on the same handler (the
 * tutorial's server does). Only ipcon_free_handler() needs every other
 * thread to be done with the handler.
 *
 * Memory: ipcon_create_handler() allocates the handler (malloc); nothing
 * else allocates. Messages are received into the caller's struct ipcon_msg.
 *
 * Layout: the sizes and offsets of struct ipcon_msg are part of the ABI of
 * libipcon.so.0 and asserted below (LIBIPCON_ASSERT).
 */
#ifndef LIBIPCON_H
#define LIBIPCON_H

#include <stddef.h>
#include <stdint.h>

/* The original header brought the kernel's __u32 (its programs use it). */
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/types.h>)
#include <linux/types.h>
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Unnamed unions (as the tutorial's struct ipcon_msg has) are C11; this
 * keeps -std=c99 -pedantic quiet about them with GCC and Clang. */
#if defined(__GNUC__)
#define LIBIPCON_EXTENSION __extension__
#else
#define LIBIPCON_EXTENSION
#endif

/* A handler: one peer of the ipcon network. */
#define IPCON_HANDLER void *

/* The kernel's event group, joined as
 * ipcon_join_group(h, LIBIPCON_KERNEL_NAME, LIBIPCON_KERNEL_GROUP_NAME). */
#define LIBIPCON_KERNEL_NAME "ipcon"
#define LIBIPCON_KERNEL_GROUP_NAME "ipcon_kevent"
#define IPCON_KERNEL_GROUP LIBIPCON_KERNEL_GROUP_NAME

/* A name's buffer, NUL included: names are 1..31 bytes of printable ASCII
 * other than '/'. */
#define LIBIPCON_MAX_NAME_LEN 32
/* The largest payload in bytes. */
#define LIBIPCON_MAX_PAYLOAD_LEN 2048
/* The original library's limit, kept for its programs (ipcon has none). */
#define LIBIPCON_MAX_USR_GROUP 5

/* Flags of ipcon_create_handler(): accepted for the original's programs.
 * An ipcon handler always has its receive and send interfaces and delivers
 * every kernel event once the kernel group is joined. Unknown flags:
 * EINVAL. */
#define LIBIPCON_FLG_DISABLE_KEVENT_FILTER (1UL << 0)
#define LIBIPCON_FLG_USE_RCV_IF (1UL << 1)
#define LIBIPCON_FLG_USE_SND_IF (1UL << 2)
#define LIBIPCON_FLG_DEFAULT (LIBIPCON_FLG_USE_RCV_IF | LIBIPCON_FLG_USE_SND_IF)

/* What a received message is (struct ipcon_msg.type). */
enum libipcon_msg_type {
	LIBIPCON_NORMAL_MSG = 0,	/* from a peer (ipcon_send_unicast) */
	LIBIPCON_GROUP_MSG = 1,		/* from a group this peer joined */
	LIBIPCON_KEVENT_MSG = 2,	/* a kernel event: .kevent */
	LIBIPCON_INVALID_MSG = 3,	/* never delivered */
	LIBIPCON_SEND_FAILED_MSG = 4	/* a posted send failed: .ticket, .error,
					 * the kernel's explanation in .buf */
};

/* Kernel events (struct libipcon_kevent.type). */
enum libipcon_kevent_type {
	LIBIPCON_EVENT_PEER_ADD = 0,
	LIBIPCON_EVENT_PEER_REMOVE = 1,
	LIBIPCON_EVENT_GRP_ADD = 2,
	LIBIPCON_EVENT_GRP_REMOVE = 3
};

/* struct ipcon_msg.flags */
#define LIBIPCON_MSG_REPLAYED (1U << 0)	/* a group's last message, replayed
					 * on join (ipcon_join_group_rcv_last) */
#define LIBIPCON_MSG_CLOSED (1U << 1)	/* a remove event: the owner's process
					 * exited or was killed (not an
					 * unregister) */

/* A kernel event. Names are empty for anonymous peers. */
struct libipcon_kevent {
	enum libipcon_kevent_type type;
	LIBIPCON_EXTENSION union {
		struct {
			char name[LIBIPCON_MAX_NAME_LEN];	/* the group */
			char peer_name[LIBIPCON_MAX_NAME_LEN];	/* its owner */
		} group;
		struct {
			char name[LIBIPCON_MAX_NAME_LEN];	/* the peer */
		} peer;
	};
};

/*
 * A received message. The original's fields first; then ipcon's. For a
 * kernel event, peer/pid/uid/port describe the peer it is about (a group's
 * owner for group events) and group the group.
 */
struct ipcon_msg {
	enum libipcon_msg_type type;
	char group[LIBIPCON_MAX_NAME_LEN];	/* group messages and events */
	char peer[LIBIPCON_MAX_NAME_LEN];	/* the sender ("" if anonymous) */
	uint32_t len;				/* bytes of buf */
	LIBIPCON_EXTENSION union {
		char buf[LIBIPCON_MAX_PAYLOAD_LEN];
		struct libipcon_kevent kevent;
	};
	/* ipcon's additions, stamped by the kernel, not claimed by the sender: */
	uint32_t pid;		/* the sender's process id in the receiver's pid
				 * namespace (0 if it has none there) */
	uint32_t uid;		/* the sender's uid */
	uint32_t port;		/* the sender's port (also for anonymous peers) */
	uint32_t missed;	/* messages to this peer dropped just before this
				 * one (full queue); for kernel events, events
				 * missed */
	uint32_t flags;		/* LIBIPCON_MSG_* */
	uint32_t ticket;	/* LIBIPCON_SEND_FAILED_MSG: the posted send's */
	int error;		/* LIBIPCON_SEND_FAILED_MSG: its negative errno */
	uint32_t reserved[3];
};

/* The ABI of libipcon.so.0 (x86_64, aarch64, arm: 4-byte int, 4-byte
 * enums). The crate's tests check these numbers against its Rust
 * definitions. */
#if defined(__cplusplus)
#define LIBIPCON_ASSERT(cond, what) static_assert(cond, what)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define LIBIPCON_ASSERT(cond, what) _Static_assert(cond, what)
#elif defined(__GNUC__)
/* _Static_assert is C11; GCC and Clang take it in C99 as an extension. */
#define LIBIPCON_ASSERT(cond, what) __extension__ _Static_assert(cond, what)
#else
#define LIBIPCON_ASSERT(cond, what) extern char libipcon_layout_check[(cond) ? 1 : -1]
#endif
LIBIPCON_ASSERT(sizeof(struct ipcon_msg) == 2160, "struct ipcon_msg size");
LIBIPCON_ASSERT(sizeof(struct libipcon_kevent) == 68, "struct libipcon_kevent size");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, type) == 0, "ipcon_msg.type");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, group) == 4, "ipcon_msg.group");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, peer) == 36, "ipcon_msg.peer");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, len) == 68, "ipcon_msg.len");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, buf) == 72, "ipcon_msg.buf");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, kevent) == 72, "ipcon_msg.kevent");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, pid) == 2120, "ipcon_msg.pid");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, uid) == 2124, "ipcon_msg.uid");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, port) == 2128, "ipcon_msg.port");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, missed) == 2132, "ipcon_msg.missed");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, flags) == 2136, "ipcon_msg.flags");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, ticket) == 2140, "ipcon_msg.ticket");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, error) == 2144, "ipcon_msg.error");
LIBIPCON_ASSERT(offsetof(struct ipcon_msg, reserved) == 2148, "ipcon_msg.reserved");

struct timeval;

/* --- Handlers --------------------------------------------------------- */

/*
 * Registers a peer named peer_name (NULL: anonymous, reachable by port
 * only) and returns its handler, or NULL with errno set (ENODEV: module not
 * loaded; EEXIST: name taken; EINVAL: bad name or flags; ENOMEM; ...).
 * flags: LIBIPCON_FLG_*.
 */
IPCON_HANDLER ipcon_create_handler(const char *peer_name, unsigned long flags);

/* Unregisters the peer (kernel events say "unregistered") and frees the
 * handler. NULL is ignored. No other thread may still use the handler. */
void ipcon_free_handler(IPCON_HANDLER handler);

/* The peer's name ("" for an anonymous peer; NULL for a NULL handler),
 * valid until the handler is freed. */
const char *ipcon_selfname(IPCON_HANDLER handler);

/* --- Peers and groups ------------------------------------------------- */

/* 1 if a peer named name is registered, 0 if not, or a negative errno. */
int is_peer_present(IPCON_HANDLER handler, const char *name);

/* 1 if peer_name has a group group_name, 0 if not, or a negative errno. */
int is_group_present(IPCON_HANDLER handler, const char *peer_name, const char *group_name);

/* Finds a group by name ("group": the first of any owner; "owner/group").
 * *groupid (if not NULL) gets the owner's port (ipcon has no numeric group
 * ids; for IPCON_KERNEL_GROUP, the netlink group of kernel events). */
int ipcon_find_group(IPCON_HANDLER handler, const char *name, uint32_t *groupid);

/* Registers group name, owned by this peer, open to everyone. */
int ipcon_register_group(IPCON_HANDLER handler, const char *name);

/* Unregisters one of this peer's groups; its subscribers are dropped. */
int ipcon_unregister_group(IPCON_HANDLER handler, const char *name);

/* Joins group grpname of peer srvname; LIBIPCON_KERNEL_NAME with
 * LIBIPCON_KERNEL_GROUP_NAME subscribes to kernel events. */
int ipcon_join_group(IPCON_HANDLER handler, const char *srvname, const char *grpname);

/* ipcon_join_group() with the tutorial's rcv_last_msg: if not 0, the
 * group's last message (if any) is queued to this peer before the call
 * returns, flagged LIBIPCON_MSG_REPLAYED. */
int ipcon_join_group_rcv_last(IPCON_HANDLER handler, const char *srvname,
			      const char *grpname, int rcv_last_msg);

/* ipcon_join_group_rcv_last() only if peer srvname belongs to user uid (its
 * kernel-stamped uid): a peer of another user under that name is -EPERM
 * and nothing is joined or replayed. The kernel checks it with the
 * look-up, so a name that changed hands is caught too. */
int ipcon_join_group_expect_uid(IPCON_HANDLER handler, const char *srvname,
				const char *grpname, int rcv_last_msg, uint32_t uid);

/* Leaves group grpname of peer srvname (or kernel events). */
int ipcon_leave_group(IPCON_HANDLER handler, const char *srvname, const char *grpname);

/* --- Sending ---------------------------------------------------------- */

/* Sends size bytes at buf to peer name and waits for the kernel's verdict:
 * 0 once queued to the receiver; -EAGAIN if its queue is full (not queued);
 * -ENOENT if there is no such peer; -EMSGSIZE over the limit. */
int ipcon_send_unicast(IPCON_HANDLER handler, const char *name, const void *buf, size_t size);

/* ipcon_send_unicast() delivered only if peer name belongs to user uid
 * (its kernel-stamped uid, as struct ipcon_msg.uid gives it): a peer of
 * another user under that name is -EPERM and gets nothing (as Rust's
 * send_unicast_expecting, ErrorKind::UnexpectedOwner). */
int ipcon_send_unicast_expect_uid(IPCON_HANDLER handler, const char *name, const void *buf,
				  size_t size, uint32_t uid);

/* Publishes size bytes at buf to this peer's group name (the kernel keeps
 * it as the group's last message). sync: wait for the fan-out's report too
 * (both wait for the kernel's verdict; subscribers with a full queue are
 * told how many they missed). */
int ipcon_send_multicast(IPCON_HANDLER handler, const char *name, const void *buf,
			 size_t size, int sync);

/* Posted sends: one system call, no waiting for the verdict; *ticket (if
 * not NULL) names the send. If it fails later, a LIBIPCON_SEND_FAILED_MSG
 * with that ticket arrives on this handler's receive side. A negative
 * errno means nothing was sent. */
int ipcon_post_unicast(IPCON_HANDLER handler, const char *name, const void *buf,
		       size_t size, uint32_t *ticket);
int ipcon_post_multicast(IPCON_HANDLER handler, const char *name, const void *buf,
			 size_t size, uint32_t *ticket);

/* --- Receiving -------------------------------------------------------- */

/* Receives the next message into *im, waiting as long as it takes. On
 * failure *im is left as it was. */
int ipcon_rcv(IPCON_HANDLER handler, struct ipcon_msg *im);

/* As ipcon_rcv(), waiting at most *timeout (NULL: forever): -ETIMEDOUT. */
int ipcon_rcv_timeout(IPCON_HANDLER handler, struct ipcon_msg *im, struct timeval *timeout);

/* As ipcon_rcv(), not waiting: -EAGAIN when nothing is queued. */
int ipcon_rcv_nonblock(IPCON_HANDLER handler, struct ipcon_msg *im);

/* Descriptors for poll()/select(): the read fd is readable when a message
 * is queued (then ipcon_rcv_nonblock()); the write and control fds are the
 * request socket. Owned by the handler: do not close them. -EBADF for a
 * NULL handler. */
int ipcon_get_read_fd(IPCON_HANDLER handler);
int ipcon_get_write_fd(IPCON_HANDLER handler);
int ipcon_get_ctrl_fd(IPCON_HANDLER handler);

/* --- Callbacks (the original library's asynchronous receive) ---------- */

/* A peer to watch, and optionally its group to join whenever it exists. */
struct peer_group_info {
	const char *peer_name;
	const char *group_name;	/* NULL: the peer only */
	int auto_join;		/* join group_name now if it exists, and each
				 * time it appears */
};

/* Callbacks of ipcon_async_rcv(); each may be NULL; data is passed to all.
 * Names are "" for anonymous peers. Kernel events reach peer_add ...
 * group_remove only for the peers of pgi (every peer if pgi is empty). */
struct async_cb_ctl {
	void (*normal_msg_cb)(char *peer_name, void *buf, size_t len, void *data);
	void (*group_msg_cb)(char *peer_name, char *group_name, void *buf, size_t len,
			     void *data);
	void (*peer_add)(char *peer_name, void *data);
	void (*peer_remove)(char *peer_name, void *data);
	void (*group_add)(char *peer_name, char *group_name, void *data);
	void (*group_remove)(char *peer_name, char *group_name, void *data);
	void (*auto_group_join)(char *peer_name, char *group_name, void *data);
	void (*auto_group_leave)(char *peer_name, char *group_name, void *data);
	void (*rcv_msg_error)(int error, void *data);
	void *data;
};

struct async_rcv_ctl {
	struct peer_group_info *pgi;	/* num entries, or NULL with num 0 */
	int num;
	struct async_cb_ctl cb;
};

/*
 * Receives on the calling thread and calls arc's callbacks for every
 * message and kernel event (it joins the kernel event group), joining the
 * auto_join groups whenever they exist, until ipcon_async_rcv_stop(): then
 * returns 0. For each pgi entry, auto_group_join and auto_group_leave
 * alternate, starting with a join, and end as the loop's membership is: a
 * group that went and came back before the loop read its events is a leave
 * and a join. A failed receive is passed to rcv_msg_error and returned.
 * Callbacks may use the handler (send, join, ...), but not ipcon_rcv*().
 */
int ipcon_async_rcv(IPCON_HANDLER handler, struct async_rcv_ctl *arc);

/* Ends ipcon_async_rcv(): from a callback once it returns, from another
 * thread at once; called when no loop runs, the next one returns at once. */
void ipcon_async_rcv_stop(IPCON_HANDLER handler);

/* --- Calls (request/response) ---------------------------------------- */

/*
 * A call is a unicast whose payload starts with ipcon's call header
 * (docs/protocol.md "Calls"); C and Rust clients and services (ipcon-linux's
 * Client and Service) call each other. Nothing is allocated per call.
 */

/* The status of a reply (what a method returns; IPCON_CALL_OK: its result). */
enum ipcon_call_status {
	IPCON_CALL_OK = 0,
	IPCON_CALL_UNKNOWN_METHOD = 1,	/* ipcon_call(): -EOPNOTSUPP */
	IPCON_CALL_BAD_REQUEST = 2,	/* ipcon_call(): -EBADMSG */
	IPCON_CALL_BUSY = 3,		/* ipcon_call(): -EBUSY */
	IPCON_CALL_FAILED = 4		/* ipcon_call(): -EREMOTEIO (also any
					 * status this version does not know) */
};

/*
 * Calls method of peer peer with the req_len bytes at req and waits for
 * the reply, at most timeout_ms milliseconds (negative: no limit). The
 * reply's payload goes to reply_buf (reply_cap bytes; NULL with 0), its
 * length to *reply_len (may be NULL). Returns 0, or:
 * -ETIMEDOUT   no reply within timeout_ms;
 * -EHOSTDOWN   the peer is gone (exited, was killed or unregistered) while
 *              the call was pending: the kernel's event ends the call at
 *              once, without waiting for the deadline;
 * -ENOENT      no such peer (nothing was sent);
 * -EOPNOTSUPP, -EBADMSG, -EBUSY, -EREMOTEIO
 *              the peer answered with another status than ok (see enum
 *              ipcon_call_status); its text (e.g. "no such method") is in
 *              reply_buf / *reply_len;
 * -ERANGE      the reply is longer than reply_cap: the first reply_cap
 *              bytes are in reply_buf, *reply_len is its full length;
 * -EMSGSIZE    req_len over LIBIPCON_MAX_PAYLOAD_LEN less the call header
 *              and the method's name;
 * or another negative errno of ipcon_send_unicast().
 * Calls on one handler take turns (one at a time: use a handler per thread
 * to call from several threads at once). The first call subscribes the
 * handler to kernel events; a handler that calls is for calls: what else it
 * receives while a call waits, or had queued when a call starts, is dropped.
 */
int ipcon_call(IPCON_HANDLER handler, const char *peer, const char *method,
	       const void *req, size_t req_len, void *reply_buf, size_t reply_cap,
	       size_t *reply_len, int timeout_ms);

/*
 * A method of a C service. The callback answers one request: request is
 * the message as received (the caller's peer name, pid, uid and port; its
 * buf holds the call header), args/args_len the arguments. It writes its
 * result (at most reply_cap bytes) to reply, the length to *reply_len (0
 * before the call), and returns a status: IPCON_CALL_OK, another
 * IPCON_CALL_* (reply then holds a text saying why), or a negative errno
 * (sent as IPCON_CALL_FAILED, with ipcon_strerror()'s text if *reply_len
 * is 0). The callback may use the handler (send, call other services).
 */
typedef int (*ipcon_method_fn)(IPCON_HANDLER handler, const struct ipcon_msg *request,
			       const void *args, size_t args_len, void *reply,
			       size_t reply_cap, size_t *reply_len, void *data);

struct ipcon_method {
	const char *name;	/* the method's name (the rules of a peer name) */
	const char *summary;	/* one line for ".methods" (NULL: none) */
	ipcon_method_fn func;
	void *data;		/* passed to func */
};

/*
 * Answers im if it is a call request: runs the method of that name from
 * methods (count entries) and posts its reply to the caller; a method it
 * does not have is answered IPCON_CALL_UNKNOWN_METHOD, ".methods" with the
 * list of methods ("name\tsummary\n" lines, as Rust services answer it).
 * Returns 1 once answered, 0 if im is not a request (handle it yourself),
 * or a negative errno if the reply could not be sent.
 */
int ipcon_serve_msg(IPCON_HANDLER handler, const struct ipcon_method *methods, int count,
		    const struct ipcon_msg *im);

/*
 * Receives until one request arrived and was answered (other messages are
 * dropped), at most timeout_ms milliseconds (negative: no limit): 0, or
 * -ETIMEDOUT, or a negative errno of ipcon_rcv() or ipcon_serve_msg().
 * A service's main loop: while (ipcon_serve(h, methods, n, -1) == 0) ;
 */
int ipcon_serve(IPCON_HANDLER handler, const struct ipcon_method *methods, int count,
		int timeout_ms);

/* --- Event loop (libIPC style) ---------------------------------------- */

/*
 * One thread waits for everything at once: messages of handlers, timers
 * (timerfd: one-shot or periodic) and external file descriptors, each added
 * with a pointer of yours (data) and given an id. ipcon_loop_wait() returns
 * the next event, its type and data. Level-triggered: a handler with several
 * queued messages, or an fd that stays readable, is reported again, in
 * turn with the other ready sources. What one poll() found is reported
 * over the next waits: an fd may have been drained since (make external
 * fds non-blocking). Allocated once (ipcon_loop_create);
 * nothing is allocated while it runs. A loop is for one thread.
 */
struct ipcon_loop;

enum ipcon_loop_event_type {
	IPCON_LOOP_MESSAGE = 1,	/* a message for .handler, received into msg */
	IPCON_LOOP_TIMER = 2,	/* a timer expired (.expirations times); a
				 * one-shot timer is removed after this event */
	IPCON_LOOP_FD = 3,	/* an external fd is ready (.events) */
	IPCON_LOOP_ERROR = 4,	/* receiving on .handler failed: .error (e.g.
				 * -ENOBUFS: messages lost); it stays added */
	IPCON_LOOP_SWITCH_RX = 5,	/* a switch sent .len bytes read from its
					 * fd to its peer or group (.error: the
					 * send failed, e.g. -ENOENT) */
	IPCON_LOOP_SWITCH_TX = 6	/* a switch wrote a message of its peer
					 * (a group switch: a unicast to its
					 * handler; .len bytes) to its fd
					 * (.error: the write failed) */
};

/* Interests of ipcon_loop_add_fd() and readiness in .events. */
#define IPCON_LOOP_READABLE (1U << 0)
#define IPCON_LOOP_WRITABLE (1U << 1)
#define IPCON_LOOP_HANGUP (1U << 2)	/* hung up or failed: always reported
					 * (remove the fd, or it is reported
					 * again) */

struct ipcon_loop_event {
	int type;		/* enum ipcon_loop_event_type */
	int id;			/* the source, as ipcon_loop_add_*() returned */
	int fd;			/* its descriptor */
	uint32_t events;	/* IPCON_LOOP_FD: IPCON_LOOP_* readiness */
	uint64_t expirations;	/* IPCON_LOOP_TIMER */
	int error;		/* IPCON_LOOP_ERROR, a failed relay: a negative
				 * errno */
	uint32_t len;		/* IPCON_LOOP_SWITCH_*: bytes relayed */
	IPCON_HANDLER handler;	/* IPCON_LOOP_MESSAGE, IPCON_LOOP_ERROR */
	void *data;		/* what the source was added with */
};

/* Creates a loop for up to capacity (1..4096) sources into *loop: 0,
 * -EINVAL, -ENOMEM. */
int ipcon_loop_create(struct ipcon_loop **loop, int capacity);

/* Frees the loop and closes its timers (handlers and external fds stay
 * yours). NULL is ignored. */
void ipcon_loop_free(struct ipcon_loop *loop);

/* Adds a handler (it must outlive its place in the loop): its messages
 * come as IPCON_LOOP_MESSAGE. Returns the source's id (> 0), -ENOSPC when
 * the loop is full, -EINVAL. Calls requests among them can be answered
 * with ipcon_serve_msg(). */
int ipcon_loop_add_handler(struct ipcon_loop *loop, IPCON_HANDLER handler, void *data);

/* Adds a timer expiring first_ms milliseconds from now, then every
 * interval_ms (0: once). Returns its id, or a negative errno. */
int ipcon_loop_add_timer(struct ipcon_loop *loop, int first_ms, int interval_ms, void *data);

/* Adds an external descriptor (not closed by the loop), watched for
 * events (IPCON_LOOP_READABLE and/or IPCON_LOOP_WRITABLE; hangups are
 * always reported). Returns its id, or a negative errno. */
int ipcon_loop_add_fd(struct ipcon_loop *loop, int fd, unsigned int events, void *data);

/*
 * Adds a switch (libIPC's): fd <-> peer through handler. Each read() from
 * fd (at most LIBIPCON_MAX_PAYLOAD_LEN bytes) is sent as one message to
 * peer (ipcon_send_unicast); each message handler receives from peer is
 * written to fd with one write() instead of being reported as
 * IPCON_LOOP_MESSAGE. Framing: one read, one message, and one message, one
 * write: a datagram or SOCK_SEQPACKET fd keeps message boundaries, a
 * stream (pipe, TCP) does not. The handler must be added too (its messages
 * are what the loop receives). End of file or a read error on fd is
 * IPCON_LOOP_FD with IPCON_LOOP_HANGUP (remove the switch then). The fd
 * stays yours. Returns the switch's id, or a negative errno.
 */
int ipcon_loop_add_switch(struct ipcon_loop *loop, int fd, IPCON_HANDLER handler,
			  const char *peer, void *data);

/*
 * Adds a group switch: fd <-> group through handler. Each read() from fd
 * (at most LIBIPCON_MAX_PAYLOAD_LEN bytes) is multicast as one message to
 * group, a group of handler's own (ipcon_send_multicast, not sync; a group
 * without subscribers takes it too, as its last message); each unicast
 * handler receives is written to fd with one write() (IPCON_LOOP_SWITCH_TX)
 * instead of being reported as IPCON_LOOP_MESSAGE -- but a unicast from a
 * peer that has a peer switch (ipcon_loop_add_switch) on the same handler
 * goes to that switch's fd: the peer switch takes its peer's messages, the
 * group switch all the other unicasts. Group messages, kernel events and
 * failed posts stay IPCON_LOOP_MESSAGE. Framing, hangup and the handler as
 * for ipcon_loop_add_switch(). The group is checked now: handler (a named
 * one) must have registered it (ipcon_register_group). Returns its id,
 * or -EINVAL (a NULL or dead loop or handler, a bad name, fd < 0, an
 * anonymous handler), -ENOENT (handler has no group of that name), -EBUSY
 * (handler already has a group switch in this loop), -ENOSPC (the loop is
 * full), or another negative errno of the look-up. A group unregistered
 * later makes the sends fail (.error of IPCON_LOOP_SWITCH_RX, -ENOENT).
 */
int ipcon_loop_add_switch_group(struct ipcon_loop *loop, int fd, IPCON_HANDLER handler,
				const char *group, void *data);

/* Removes source id (a timer's fd is closed): 0, or -ENOENT. */
int ipcon_loop_remove(struct ipcon_loop *loop, int id);

/*
 * Waits for the next event, at most timeout_ms milliseconds (negative: no
 * limit), and fills *event; a handler's message goes to *msg (NULL is
 * allowed while no handler is added). Returns 0, -ETIMEDOUT, or a negative
 * errno of poll().
 */
int ipcon_loop_wait(struct ipcon_loop *loop, struct ipcon_loop_event *event,
		    struct ipcon_msg *msg, int timeout_ms);

/* --- Errors ----------------------------------------------------------- */

/* What err (a negative errno an ipcon function returned, or a positive
 * one) means; a static string. */
const char *ipcon_strerror(int err);

/* The handler's last failure as one line, e.g.
 * 'join group "srv/news": not found (ENOENT): no such group', written to
 * buf (len bytes, cut to fit, NUL-terminated; buf may be NULL). Returns its
 * negative errno, or 0 if no call has failed yet. */
int ipcon_last_error(IPCON_HANDLER handler, char *buf, size_t len);

/* The kernel's own explanation of the last failure (its extended ACK),
 * written like ipcon_last_error(); returns its length (0: none). */
int ipcon_last_kernel_message(IPCON_HANDLER handler, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBIPCON_H */
