//! Seed inputs for the fuzz targets of `ipcon-core/fuzz`: one of every kind of message,
//! emitted by ipcon-core itself, so libFuzzer reaches the deep parsers within seconds.
//!
//! `cargo run -p ipcon-core --example fuzz_seeds -- <corpus dir> <target>...` writes
//! `<corpus dir>/<target>/seed-NNN` (`cargo xtask fuzz` runs it). It lives here, not in
//! xtask, so the xtask (which regenerates ipcon-core's code) never links ipcon-core.
use std::path::Path;

use ipcon_core::spec::{Attr, FAMILY_NAME, MCGRP_KEVENT, VERSION};
use ipcon_core::WireError;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, targets)) = args.split_first() else {
        eprintln!("usage: fuzz_seeds <corpus dir> <target>...");
        return std::process::ExitCode::FAILURE;
    };
    for target in targets {
        if let Err(e) =
            seeds_for(target).and_then(|seeds| write_seeds(&Path::new(dir).join(target), &seeds))
        {
            eprintln!("fuzz_seeds: {target}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}

fn write_seeds(dir: &Path, seeds: &[Vec<u8>]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (i, seed) in seeds.iter().enumerate() {
        let path = dir.join(format!("seed-{i:03}"));
        std::fs::write(&path, seed).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Seed inputs for a target, emitted by ipcon-core itself.
fn seeds_for(target: &str) -> Result<Vec<Vec<u8>>, String> {
    use ipcon_core::wire::{genl, netlink};
    let messages = seed_messages().map_err(|e| format!("fuzz: building seeds: {e}"))?;
    Ok(match target {
        "name" => ["server", "a", "ipcon_kevent", "ünï code"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect(),
        "attributes" => messages
            .iter()
            .filter_map(|m| {
                m.get(netlink::HEADER_LEN + genl::HEADER_LEN..)
                    .map(<[u8]>::to_vec)
            })
            .collect(),
        _ => {
            let mut seeds = messages.clone();
            // One datagram holding every message, as a dump would arrive.
            seeds.push(messages.concat());
            seeds
        }
    })
}

/// One of every kind of message, as bytes.
fn seed_messages() -> Result<Vec<Vec<u8>>, WireError> {
    use ipcon_core::kevent::{Kevent, KeventKind, PeerIdentity};
    use ipcon_core::wire::ack::{DoneRepr, ErrorRepr, ExtAck};
    use ipcon_core::wire::ctrl::{FamilyRepr, GetFamilyRequest, McastGroup, GENL_ID_CTRL};
    use ipcon_core::wire::ipcon::{
        Delivery, GroupDelivery, MulticastOutcome, PeerRef, PeerRegistered, Reply, Request,
        SendFailure, Sender, UnicastDelivery,
    };
    use ipcon_core::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};
    use ipcon_core::{GroupAccess, Name, PeerFlags, RemoveReason};

    const FAMILY: u16 = 0x1a;
    let name = |s: &str| Name::new(s).expect("seed names are valid");
    let mut out = Vec::new();
    let mut push = |len: usize, emit: &dyn Fn(&mut [u8]) -> Result<usize, WireError>| {
        let mut buf = vec![0u8; len];
        let n = emit(&mut buf)?;
        buf.truncate(n);
        out.push(buf);
        Ok::<(), WireError>(())
    };
    let requests = [
        Request::PeerRegister {
            name: Some(name("server")),
        },
        Request::PeerAttach {
            cookie: 0x1234_5678_9abc,
        },
        Request::PeerGet {
            peer: PeerRef::Port(42),
        },
        Request::PeerDump,
        Request::Unicast {
            to: PeerRef::Name(name("server")),
            payload: b"hello",
        },
        Request::GroupRegister {
            group: name("grp"),
            access: Some(GroupAccess::Gid),
            gid: Some(100),
        },
        Request::GroupJoin {
            owner: name("server"),
            group: name("grp"),
            replay_last: true,
        },
        Request::GroupDump { owner: None },
        Request::Multicast {
            group: name("grp"),
            payload: b"news",
            sync: true,
        },
        Request::PostUnicast {
            to: PeerRef::Name(name("server")),
            payload: b"posted",
            ticket: 7,
        },
        Request::PostMulticast {
            group: name("grp"),
            payload: b"posted news",
            ticket: 8,
        },
    ];
    for (seq, r) in (1u32..).zip(requests.iter()) {
        push(r.buffer_len(), &|b| r.emit(&r.header(FAMILY, seq, 77), b))?;
    }
    let reply_hdr = NetlinkHeaderRepr {
        message_type: FAMILY,
        flags: NetlinkFlags::empty(),
        seq: 1,
        port_id: 77,
    };
    let replies = [
        Reply::PeerRegistered(PeerRegistered::new(Some(name("server")), 77, 99)),
        Reply::Multicast(MulticastOutcome::new(3, 1)),
    ];
    for r in &replies {
        push(r.buffer_len(), &|b| r.emit(&reply_hdr, b))?;
    }
    let sender = Sender {
        name: Some(name("client")),
        port: 5,
        pid: 6,
        uid: 7,
    };
    let peer = PeerIdentity {
        name: None,
        port: 8,
        pid: 9,
        uid: 10,
        flags: PeerFlags::ANONYMOUS,
    };
    let deliveries = [
        Delivery::Unicast(UnicastDelivery {
            sender,
            payload: b"ping",
            missed: 2,
            overrun: None,
        }),
        Delivery::Group(GroupDelivery {
            sender,
            group: name("grp"),
            payload: b"state",
            missed: 0,
            replayed: true,
            overrun: None,
        }),
        Delivery::Kevent(Kevent {
            seq: 5,
            kind: KeventKind::PeerAdd(peer),
        }),
        Delivery::Kevent(Kevent {
            seq: 6,
            kind: KeventKind::GroupRemove {
                owner: peer,
                group: name("grp"),
                reason: RemoveReason::Closed,
            },
        }),
        Delivery::SendFailed(SendFailure {
            ticket: 7,
            errno: 11,
            message: Some("receiver queue is full"),
            peer: Some(PeerRef::Name(name("server"))),
            group: None,
            missed: 1,
        }),
    ];
    let event_hdr = NetlinkHeaderRepr {
        seq: 0,
        port_id: 0,
        ..reply_hdr
    };
    for d in &deliveries {
        push(d.buffer_len(), &|b| d.emit(&event_hdr, b))?;
    }
    let err = ErrorRepr {
        error: -17,
        request: NetlinkHeaderRepr {
            flags: NetlinkFlags::REQUEST | NetlinkFlags::ACK,
            ..reply_hdr
        },
        ext: ExtAck {
            message: Some("name taken"),
            offset: Some(20),
            missing_type: None,
        },
    };
    push(err.buffer_len(), &|b| err.emit(b))?;
    let done = DoneRepr {
        error: 0,
        ext: ExtAck::default(),
    };
    push(done.buffer_len(), &|b| done.emit(2, 77, b))?;
    let get = GetFamilyRequest::IPCON;
    push(get.buffer_len(), &|b| {
        get.emit(&GetFamilyRequest::header(1, 0), b)
    })?;
    let mut family = FamilyRepr {
        id: FAMILY,
        name: FAMILY_NAME.try_into().unwrap_or_default(),
        version: u32::from(VERSION),
        max_attr: u32::from(Attr::MAX),
        mcast_groups: Default::default(),
    };
    let _ = family.mcast_groups.push(McastGroup {
        name: MCGRP_KEVENT.try_into().unwrap_or_default(),
        id: 4,
    });
    let ctrl_hdr = NetlinkHeaderRepr {
        message_type: GENL_ID_CTRL,
        ..reply_hdr
    };
    push(family.buffer_len(), &|b| family.emit(&ctrl_hdr, b))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_as_what_they_are() {
        use ipcon_core::wire::ipcon::{parse_incoming, Incoming};
        use ipcon_core::wire::netlink::Messages;
        let messages = seed_messages().unwrap();
        assert!(messages.len() >= 18);
        let all = messages.concat();
        let (mut deliveries, mut replies) = (0, 0);
        for packet in Messages::new(&all) {
            // Requests fail to parse as kernel messages; the rest must parse.
            match parse_incoming(&packet.unwrap(), 0x1a) {
                Ok(Incoming::Delivery(_)) => deliveries += 1,
                Ok(Incoming::Reply { .. }) => replies += 1,
                _ => {}
            }
        }
        assert_eq!(deliveries, 5);
        assert!(replies >= 2, "{replies}");
        for target in ["name", "attributes", "incoming", "request"] {
            assert!(!seeds_for(target).unwrap().is_empty(), "{target}");
        }
    }
}
