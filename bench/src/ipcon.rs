//! ipcon through ipcon-linux: the per-message API ([`Handler`]), the
//! batch API ([`Batch`], [`Handler::receive_many`]) and posted sends
//! ([`Handler::post_unicast`] and friends: no wait for the kernel's
//! verdict, a failure comes back later as a [`MessageKind::SendFailed`]
//! message).

use std::collections::HashMap;

use ipcon_linux::Replay;
use ipcon_linux::{
    Batch, ErrorKind, Handler, Message, MessageKind, PeerOptions, Ticket, Wait, MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
};

use crate::error::{bail, Context, Result};
use crate::payload::{self, Arrival};
use crate::rtt::{self, Request, Respond};
use crate::stream::{back_off, Consume, Publish};

/// Receive buffer of fan-out subscribers: room for several bursts of every
/// size, as a subscriber that must not miss messages would ask for (the
/// benchmark runs as root, so `SO_RCVBUFFORCE` grants it).
pub const SUBSCRIBER_RECV_BUFFER: usize = 4 << 20;

/// Messages per batch (sent and received): a batch of the largest
/// payloads still fits one `sendmsg` ([`MAX_BATCH_BYTES`]).
pub const BATCH_MESSAGES: usize = 32;

const _: () = assert!(BATCH_MESSAGES <= MAX_BATCH_MESSAGES);
// About 64 bytes of headers and names per message besides the payload.
const _: () = assert!(BATCH_MESSAGES * (ipcon_linux::MAX_PAYLOAD_LEN + 64) <= MAX_BATCH_BYTES);

/// Sends `payload` to the peer `to`, waiting while its queue is full
/// (for end markers, which must arrive).
fn unicast_until_queued(handler: &Handler, to: &str, payload: &[u8]) -> Result<()> {
    loop {
        match handler.send_unicast(to, payload) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::QueueFull => back_off(),
            Err(e) => bail!("send to {to}: {e}"),
        }
    }
}

/// Where a stream goes: one peer (unicast) or a group (fan-out, whose
/// subscribers get the end marker by unicast: a full queue makes a unicast
/// wait, a multicast would drop it).
#[derive(Debug, Clone)]
pub enum Target {
    /// The peer of this name.
    Peer(String),
    /// This peer's group, and the names of its subscribers.
    Group {
        /// The group.
        group: String,
        /// Its subscribers' names.
        subscribers: Vec<String>,
    },
}

/// Sends a stream with one [`Handler`] call per message.
#[derive(Debug)]
pub struct IpconSender {
    handler: Handler,
    target: Target,
}

impl IpconSender {
    /// A sender to `target` (for a group: its owner, already registered
    /// with the group by [`register_publisher`]).
    pub fn new(handler: Handler, target: Target) -> Self {
        Self { handler, target }
    }

    fn finish_to(handler: &Handler, target: &Target, marker: &[u8]) -> Result<()> {
        match target {
            Target::Peer(to) => unicast_until_queued(handler, to, marker),
            Target::Group { subscribers, .. } => subscribers
                .iter()
                .try_for_each(|to| unicast_until_queued(handler, to, marker)),
        }
    }
}

impl Publish for IpconSender {
    fn send(&mut self, payloads: &[u8], size: usize, full: &mut Vec<usize>) -> Result<()> {
        for (i, p) in payloads.chunks(size).enumerate() {
            let sent = match &self.target {
                Target::Peer(to) => self.handler.send_unicast(to, p),
                Target::Group { group, .. } => self.handler.send_multicast(group, p),
            };
            match sent {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::QueueFull => full.push(i),
                Err(e) => bail!("send: {e}"),
            }
        }
        Ok(())
    }

    fn finish(&mut self, marker: &[u8]) -> Result<()> {
        Self::finish_to(&self.handler, &self.target, marker)
    }
}

/// Sends a stream in batches: [`BATCH_MESSAGES`] messages per
/// [`Handler::send_batch`] (one system call), packed: the messages of a
/// batch travel as packs, each one datagram to every receiver.
#[derive(Debug)]
pub struct IpconBatchSender {
    handler: Handler,
    target: Target,
    batch: Batch,
}

impl IpconBatchSender {
    /// A batch sender to `target` (see [`IpconSender::new`]).
    pub fn new(handler: Handler, target: Target) -> Self {
        Self {
            handler,
            target,
            batch: Batch::new().packed(),
        }
    }
}

impl Publish for IpconBatchSender {
    fn batch_limit(&self) -> usize {
        BATCH_MESSAGES
    }

    fn send(&mut self, payloads: &[u8], size: usize, full: &mut Vec<usize>) -> Result<()> {
        for p in payloads.chunks(size) {
            match &self.target {
                Target::Peer(to) => self.batch.unicast(to, p),
                Target::Group { group, .. } => self.batch.multicast(group, p),
            }
            .context("add to the batch")?;
        }
        let report = self
            .handler
            .send_batch(&mut self.batch)
            .context("send a batch")?;
        for failure in report.failures {
            if failure.error.kind() != ErrorKind::QueueFull {
                bail!("message {} of a batch: {}", failure.index, failure.error);
            }
            full.push(failure.index);
        }
        Ok(())
    }

    fn finish(&mut self, marker: &[u8]) -> Result<()> {
        IpconSender::finish_to(&self.handler, &self.target, marker)
    }
}

/// What a [`MessageKind::SendFailed`] notice says: the ticket of the
/// posted send that failed, and whether it failed only because the
/// receiver's queue was full (worth sending again).
fn failed_post(notice: &Message) -> Result<(Ticket, bool)> {
    // A notice that could not be queued shows as `missed` on the next one:
    // a failure nobody can send again.
    if notice.missed() != 0 {
        bail!("{} failure notices of posted sends lost", notice.missed());
    }
    let (Some(ticket), Some(error)) = (
        notice.ticket(),
        ipcon_linux::Error::from_send_failed(notice),
    ) else {
        bail!("a send-failed notice without its ticket or error");
    };
    Ok((ticket, error.kind() == ErrorKind::QueueFull))
}

/// Receives into `msg` until a unicast message arrives. A notice that this
/// side's last post found the other's queue full makes it `repost` (after
/// giving the CPU away); any other failure of the post fails the run.
fn receive_unicast(
    handler: &Handler,
    msg: &mut Message,
    side: &str,
    mut repost: impl FnMut() -> Result<()>,
) -> Result<()> {
    loop {
        handler
            .receive(msg, Wait::Forever)
            .with_context(|| format!("receive at {side}"))?;
        match msg.kind() {
            MessageKind::Unicast => return Ok(()),
            MessageKind::SendFailed => {
                let (_, queue_full) = failed_post(msg)?;
                if !queue_full {
                    bail!(
                        "a post of {side} failed: {}",
                        ipcon_linux::Error::from_send_failed(msg)
                            .map(|e| e.to_string())
                            .unwrap_or_default()
                    );
                }
                back_off();
                repost()?;
            }
            other => bail!("unexpected {other:?} message at {side}"),
        }
    }
}

/// Sends a stream with one [`Handler::post_unicast`] or
/// [`Handler::post_multicast`] per message (one system call, no ACK).
/// The notices of failed posts are collected at each pause of the stream
/// (they are queued before the post returns): a unicast that found the
/// queue full is sent again, any other failure fails the measurement (a
/// subscriber's full queue is not a failure of a multicast: it is the
/// subscriber's `missed`).
#[derive(Debug)]
pub struct IpconPostSender {
    handler: Handler,
    target: Target,
    /// The sequence number each posted message carries, by ticket, since
    /// the last collection.
    posted: HashMap<Ticket, u64>,
    notice: Message,
}

impl IpconPostSender {
    /// A posting sender to `target` (see [`IpconSender::new`]).
    pub fn new(handler: Handler, target: Target) -> Self {
        Self {
            handler,
            target,
            posted: HashMap::new(),
            notice: Message::new(),
        }
    }
}

impl Publish for IpconPostSender {
    fn send(&mut self, payloads: &[u8], size: usize, _full: &mut Vec<usize>) -> Result<()> {
        for p in payloads.chunks(size) {
            let ticket = match &self.target {
                Target::Peer(to) => self.handler.post_unicast(to, p),
                Target::Group { group, .. } => self.handler.post_multicast(group, p),
            }
            .context("post")?;
            let seq = payload::seq_of(p).context("post")?;
            self.posted.insert(ticket, seq);
        }
        Ok(())
    }

    fn collect_failed(&mut self, seqs: &mut Vec<u64>) -> Result<()> {
        loop {
            match self.handler.receive(&mut self.notice, Wait::Never) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => bail!("receive the notices of posted sends: {e}"),
            }
            if self.notice.kind() != MessageKind::SendFailed {
                bail!("unexpected {:?} message at the sender", self.notice.kind());
            }
            let (ticket, queue_full) = failed_post(&self.notice)?;
            let error = ipcon_linux::Error::from_send_failed(&self.notice).map(|e| e.to_string());
            let Some(seq) = self.posted.remove(&ticket) else {
                bail!("a notice for ticket {ticket}, which was not posted since the last pause");
            };
            if !queue_full || matches!(self.target, Target::Group { .. }) {
                bail!("posted message {seq}: {}", error.unwrap_or_default());
            }
            seqs.push(seq);
        }
        // Every notice of the posts so far was queued before its post
        // returned, and all were read: the rest were queued.
        self.posted.clear();
        Ok(())
    }

    fn finish(&mut self, marker: &[u8]) -> Result<()> {
        IpconSender::finish_to(&self.handler, &self.target, marker)
    }
}

/// Registers the publisher `name` and its group `group`.
pub fn register_publisher(name: &str, group: &str) -> Result<Handler> {
    let handler = Handler::new(name).context("register the publisher")?;
    handler
        .register_group(group)
        .context("register the group")?;
    Ok(handler)
}

/// Registers a fan-out subscriber `name` with a large receive buffer and
/// joins `group` of `owner`.
pub fn register_subscriber(name: &str, owner: &str, group: &str) -> Result<Handler> {
    let handler = PeerOptions::named(name)
        .and_then(|o| o.recv_buffer(SUBSCRIBER_RECV_BUFFER).open())
        .context("register the subscriber")?;
    handler
        .join_group(owner, group, Replay::Skip)
        .context("join the group")?;
    Ok(handler)
}

/// Receives with one [`Handler::receive`] per message.
#[derive(Debug)]
pub struct IpconReceiver {
    handler: Handler,
    msg: Message,
}

impl IpconReceiver {
    /// Receives on `handler`.
    pub fn new(handler: Handler) -> Self {
        Self {
            handler,
            msg: Message::new(),
        }
    }
}

fn take(msg: &Message, each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>) -> Result<Arrival> {
    match msg.kind() {
        MessageKind::Unicast | MessageKind::Group => each(msg.payload(), u64::from(msg.missed())),
        other => bail!("unexpected {other:?} message"),
    }
}

impl Consume for IpconReceiver {
    fn receive(&mut self, each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>) -> Result<Arrival> {
        self.handler
            .receive(&mut self.msg, Wait::Forever)
            .context("receive")?;
        take(&self.msg, each)
    }
}

/// Receives up to [`BATCH_MESSAGES`] messages per
/// [`Handler::receive_many`] (one system call).
#[derive(Debug)]
pub struct IpconBatchReceiver {
    handler: Handler,
    msgs: Vec<Message>,
}

impl IpconBatchReceiver {
    /// Receives on `handler`.
    pub fn new(handler: Handler) -> Self {
        Self {
            handler,
            msgs: vec![Message::new(); BATCH_MESSAGES],
        }
    }
}

impl Consume for IpconBatchReceiver {
    fn receive(&mut self, each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>) -> Result<Arrival> {
        let n = self
            .handler
            .receive_many(&mut self.msgs, Wait::Forever)
            .context("receive")?;
        let mut arrival = Arrival::Data;
        for msg in &self.msgs[..n] {
            if take(msg, each)? == Arrival::End {
                arrival = Arrival::End;
            }
        }
        Ok(arrival)
    }
}

/// The client of round trips: unicast by name, receive the answer.
#[derive(Debug)]
pub struct IpconClient {
    handler: Handler,
    server: String,
    msg: Message,
}

impl IpconClient {
    /// An anonymous client of the server named `server`.
    pub fn open(server: &str) -> Result<Self> {
        Ok(Self {
            handler: Handler::anonymous().context("register the client")?,
            server: server.to_string(),
            msg: Message::new(),
        })
    }
}

impl Request for IpconClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        self.handler
            .send_unicast(&self.server, request)
            .context("send the request")?;
        self.handler
            .receive(&mut self.msg, Wait::Forever)
            .context("receive the answer")?;
        Ok(rtt::answer_into(self.msg.payload(), reply))
    }
}

/// The server of round trips: answers to the sender's port.
#[derive(Debug)]
pub struct IpconServer {
    handler: Handler,
    msg: Message,
}

impl IpconServer {
    /// Registers the server as `name`.
    pub fn open(name: &str) -> Result<Self> {
        Ok(Self {
            handler: Handler::new(name).context("register the server")?,
            msg: Message::new(),
        })
    }
}

impl Respond for IpconServer {
    fn serve_one(&mut self) -> Result<Option<u64>> {
        self.handler
            .receive(&mut self.msg, Wait::Forever)
            .context("receive a request")?;
        self.handler
            .send_unicast_to_port(self.msg.sender().port, self.msg.payload())
            .context("answer")?;
        Ok(payload::seq_of(self.msg.payload()))
    }
}

/// The client of round trips with posted sends: post the request to the
/// server by name, receive the answer (a full server queue comes back as a
/// notice first: the request is posted again).
#[derive(Debug)]
pub struct IpconPostClient {
    handler: Handler,
    server: String,
    msg: Message,
}

impl IpconPostClient {
    /// An anonymous client of the server named `server`.
    pub fn open(server: &str) -> Result<Self> {
        Ok(Self {
            handler: Handler::anonymous().context("register the client")?,
            server: server.to_string(),
            msg: Message::new(),
        })
    }
}

impl Request for IpconPostClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        let (handler, server) = (&self.handler, &self.server);
        handler
            .post_unicast(server, request)
            .context("post the request")?;
        receive_unicast(handler, &mut self.msg, "the client", || {
            handler
                .post_unicast(server, request)
                .context("post the request again")
                .map(drop)
        })?;
        Ok(rtt::answer_into(self.msg.payload(), reply))
    }
}

/// The server of round trips with posted answers to the sender's port.
#[derive(Debug)]
pub struct IpconPostServer {
    handler: Handler,
    msg: Message,
    /// The last answer and where it went, to post again if the client's
    /// queue was full.
    answer: Vec<u8>,
    client: u32,
}

impl IpconPostServer {
    /// Registers the server as `name`.
    pub fn open(name: &str) -> Result<Self> {
        Ok(Self {
            handler: Handler::new(name).context("register the server")?,
            msg: Message::new(),
            answer: Vec::new(),
            client: 0,
        })
    }
}

impl Respond for IpconPostServer {
    fn serve_one(&mut self) -> Result<Option<u64>> {
        let (handler, client, answer) = (&self.handler, self.client, &self.answer);
        receive_unicast(handler, &mut self.msg, "the server", || {
            handler
                .post_unicast_to_port(client, answer)
                .context("post the answer again")
                .map(drop)
        })?;
        self.answer.clear();
        self.answer.extend_from_slice(self.msg.payload());
        self.client = self.msg.sender().port;
        self.handler
            .post_unicast_to_port(self.client, &self.answer)
            .context("post the answer")?;
        Ok(payload::seq_of(&self.answer))
    }
}
