//! `cargo xtask fuzz`: runs every cargo-fuzz target of `ipcon-core/fuzz` for a bounded time.
//!
//! Each target runs `IPCON_FUZZ_SECONDS` seconds (default 20) and passes if libFuzzer found
//! no crash. Installs what it needs when missing (a nightly toolchain, cargo-fuzz), saying
//! so. Prints `fuzz: N passed, M failed`; crash inputs stay in `ipcon-core/fuzz/artifacts/`.
use std::path::Path;
use std::process::Command;

const FUZZ_DIR: &str = "ipcon-core/fuzz";
const DEFAULT_SECONDS: u64 = 20;

/// Runs every fuzz target from the repository root; prints its own summary line.
pub fn run(root: &Path) -> Result<(), String> {
    let seconds = seconds_from_env(std::env::var("IPCON_FUZZ_SECONDS").ok().as_deref())?;
    let fuzz_dir = root.join(FUZZ_DIR);
    let targets = targets(
        &std::fs::read_to_string(fuzz_dir.join("Cargo.toml"))
            .map_err(|e| format!("{FUZZ_DIR}/Cargo.toml: {e}"))?,
    );
    if targets.is_empty() {
        return Err(format!("fuzz: no [[bin]] targets in {FUZZ_DIR}/Cargo.toml"));
    }
    ensure_nightly()?;
    ensure_cargo_fuzz()?;

    // Build every target first, so a build failure is not mistaken for a crash.
    println!("fuzz: building {} targets", targets.len());
    let built = Command::new("cargo")
        .current_dir(root.join("ipcon-core"))
        .env_remove("CARGO_TARGET_DIR")
        .args(["+nightly", "fuzz", "build"])
        .status()
        .map_err(|e| format!("fuzz: cannot run cargo fuzz: {e}"))?;
    if !built.success() {
        return Err(format!("fuzz: building the targets failed ({built})"));
    }

    let (mut passed, mut failed) = (0, 0);
    for target in &targets {
        println!("fuzz: {target}: {seconds} s");
        // Valid messages as seeds let libFuzzer reach the deep parsers within seconds.
        let corpus = fuzz_dir.join("corpus").join(target);
        write_seeds(&corpus, &seeds_for(target)?)?;
        let status = Command::new("cargo")
            .current_dir(root.join("ipcon-core"))
            // The fuzz workspace has its own target dir; a caller's CARGO_TARGET_DIR would mix
            // sanitizer builds into the workspace's.
            .env_remove("CARGO_TARGET_DIR")
            // The corpus (fuzz/corpus/<target>, gitignored) grows across runs.
            .args(["+nightly", "fuzz", "run", target])
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=0",
            ])
            .status()
            .map_err(|e| format!("fuzz: cannot run cargo fuzz: {e}"))?;
        if status.success() {
            passed += 1;
            println!("fuzz: {target}: ok");
        } else {
            failed += 1;
            println!("fuzz: {target}: FAILED ({status}); the crashing input is in {FUZZ_DIR}/artifacts/{target}/");
        }
    }
    println!("fuzz: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("fuzz: {failed} target(s) crashed"))
    }
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
fn seed_messages() -> Result<Vec<Vec<u8>>, ipcon_core::WireError> {
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
    let mut push =
        |len: usize, emit: &dyn Fn(&mut [u8]) -> Result<usize, ipcon_core::WireError>| {
            let mut buf = vec![0u8; len];
            let n = emit(&mut buf)?;
            buf.truncate(n);
            out.push(buf);
            Ok::<(), ipcon_core::WireError>(())
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
        }),
        Delivery::Group(GroupDelivery {
            sender,
            group: name("grp"),
            payload: b"state",
            missed: 0,
            replayed: true,
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
        name: "ipcon".try_into().unwrap_or_default(),
        version: 1,
        max_attr: 26,
        mcast_groups: Default::default(),
    };
    let _ = family.mcast_groups.push(McastGroup {
        name: "ipcon_kevent".try_into().unwrap_or_default(),
        id: 4,
    });
    let ctrl_hdr = NetlinkHeaderRepr {
        message_type: GENL_ID_CTRL,
        ..reply_hdr
    };
    push(family.buffer_len(), &|b| family.emit(&ctrl_hdr, b))?;
    Ok(out)
}

fn seconds_from_env(value: Option<&str>) -> Result<u64, String> {
    match value {
        None | Some("") => Ok(DEFAULT_SECONDS),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(s) if s > 0 => Ok(s),
            _ => Err(format!(
                "IPCON_FUZZ_SECONDS must be a positive number of seconds, not {v:?}"
            )),
        },
    }
}

/// The `[[bin]]` names of the fuzz crate's manifest.
fn targets(manifest: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('='))
            {
                targets.push(value.trim().trim_matches('"').to_string());
            }
        }
    }
    targets
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_nightly() -> Result<(), String> {
    if succeeds(Command::new("rustc").arg("+nightly").arg("--version")) {
        return Ok(());
    }
    println!("fuzz: installing the nightly toolchain (rustup toolchain install nightly --profile minimal)");
    let ok = succeeds(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
    ]));
    if ok {
        Ok(())
    } else {
        Err("fuzz: could not install the nightly toolchain".into())
    }
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    if succeeds(Command::new("cargo").args(["+nightly", "fuzz", "--version"])) {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new("cargo")
        .env_remove("CARGO_TARGET_DIR")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("fuzz: cannot run cargo install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("fuzz: could not install cargo-fuzz".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_targets_of_the_manifest() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let manifest = std::fs::read_to_string(root.join(FUZZ_DIR).join("Cargo.toml")).unwrap();
        let t = targets(&manifest);
        assert!(t.contains(&"incoming".to_string()), "{t:?}");
        assert!(!t.contains(&"ipcon-core-fuzz".to_string()), "{t:?}");
        // Every target's source exists.
        for name in &t {
            assert!(
                root.join(FUZZ_DIR)
                    .join("fuzz_targets")
                    .join(format!("{name}.rs"))
                    .exists(),
                "{name}"
            );
        }
    }

    /// `cargo test -p xtask -- --ignored run_every_target` runs the fuzzers without the CLI.
    #[test]
    #[ignore]
    fn run_every_target() {
        run(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).unwrap();
    }

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
        for target in targets(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .parent()
                    .unwrap()
                    .join(FUZZ_DIR)
                    .join("Cargo.toml"),
            )
            .unwrap(),
        ) {
            assert!(!seeds_for(&target).unwrap().is_empty(), "{target}");
        }
    }

    #[test]
    fn seconds_are_validated() {
        assert_eq!(seconds_from_env(None), Ok(DEFAULT_SECONDS));
        assert_eq!(seconds_from_env(Some("5")), Ok(5));
        assert!(seconds_from_env(Some("0")).is_err());
        assert!(seconds_from_env(Some("x")).is_err());
    }
}
