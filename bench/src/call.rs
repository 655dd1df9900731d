//! Round trips as calls (ipcon-linux's `Client` and `Service`): what
//! correlation by call id, the call header and the pending-call table cost
//! over the posted round trip (`ratios.call_rtt_64_vs_post`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipcon_linux::{Client, Handler, Name, PeerOptions, PeerRef, Service, Wait};

use crate::error::{Context, Result};
use crate::payload;
use crate::rtt::{Request, Respond};

/// How long one call may take before the run fails.
const CALL_TIMEOUT: Option<Duration> = Some(Duration::from_secs(30));

/// The client: one call of `echo` per round trip.
#[derive(Debug)]
pub struct IpconCallClient {
    client: Client,
    server: PeerRef,
    answer: Vec<u8>,
}

impl IpconCallClient {
    /// An anonymous client of the service named `server`.
    pub fn open(server: &str) -> Result<Self> {
        Ok(Self {
            client: Client::with_options(PeerOptions::anonymous(), 16)
                .context("register the client")?,
            server: PeerRef::Name(Name::new(server).context("the server's name")?),
            answer: Vec::with_capacity(ipcon_linux::MAX_PAYLOAD_LEN),
        })
    }
}

impl Request for IpconCallClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        self.client
            .call_into(self.server, "echo", request, CALL_TIMEOUT, &mut self.answer)
            .context("call echo")?;
        let len = self.answer.len().min(reply.len());
        reply[..len].copy_from_slice(&self.answer[..len]);
        Ok(self.answer.len())
    }
}

/// The server: a service whose `echo` answers with the request's bytes, run
/// on the receiving thread (no worker).
#[derive(Debug)]
pub struct IpconCallServer {
    service: Service,
    last_seq: Arc<Mutex<Option<u64>>>,
}

impl IpconCallServer {
    /// Registers the service as `name`.
    pub fn open(name: &str) -> Result<Self> {
        let handler = Handler::new(name).context("register the server")?;
        let last_seq = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&last_seq);
        let service = Service::builder(handler)
            .method("echo", "answers with its argument", move |req, reply| {
                *seen.lock().unwrap_or_else(|e| e.into_inner()) = payload::seq_of(req.payload);
                let _ = reply.send(req.payload);
            })
            .build();
        Ok(Self { service, last_seq })
    }
}

impl Respond for IpconCallServer {
    fn serve_one(&mut self) -> Result<Option<u64>> {
        self.service
            .serve_ready(Wait::Forever)
            .context("serve a call")?;
        Ok(self
            .last_seq
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take())
    }
}
