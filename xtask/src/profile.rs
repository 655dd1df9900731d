//! `cargo xtask profile`: where the kernel's time goes on the paths the
//! benchmark compares.
//!
//! Boots the benchmark's VM (1 vCPU, no allocator debugging), runs
//! `ipcon-perf` for one shape and the chosen implementations under ftrace's
//! `function_graph` tracer rooted at the netlink and Unix-socket
//! send/receive calls, folds the trace inside the guest
//! (`bench/profile/graph.awk`: CPU time per call path, time switched out
//! subtracted, per task) and prints, per root, the CPU per call and the
//! call paths below it that cost most. Also `target/bench/profile.md`.
//!
//! The figures are an emulated CPU's under tracing, and every traced call
//! adds the tracer's own cost to its callers: compare the paths of one
//! profile with each other (ipcon's send against the Unix socket's, one
//! kernel change against the one before), never with the benchmark's.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::initramfs::GuestFile;
use crate::kernel::Arch;
use crate::vm::{self, Echo, VmRun};
use crate::workspace::{self, Workspace};
use crate::{bench, kmod, prepare_vm_host};

/// The graph roots: every send and receive of the implementations the
/// benchmark compares with a kernel path (netlink: ipcon and the raw loop;
/// Unix sockets).
const ROOTS: [&str; 4] = [
    "netlink_sendmsg",
    "netlink_recvmsg",
    "unix_seqpacket_sendmsg",
    "unix_seqpacket_recvmsg",
];

/// Where the folding script lives in the repository and in the guest.
const FOLD_SCRIPT: &str = "bench/profile/graph.awk";
const GUEST_FOLD_SCRIPT: &str = "/bin/graph.awk";

/// Paths below a root costing less than this share of it are not listed.
const MIN_SHARE: f64 = 0.01;

#[derive(Debug, Clone, PartialEq)]
struct Options {
    shape: String,
    impls: String,
    size: Option<u32>,
    subscribers: Option<u32>,
    /// `max_graph_depth`: how deep below a root the tracer records.
    depth: u32,
    /// How deep below a root the report lists paths.
    show: u32,
    timeout: u64,
    /// The guest's clock counts instructions: times are in thousands of
    /// instructions (the tracer's own included).
    icount: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shape: "rtt".to_owned(),
            impls: "ipcon-post,uds-seqpacket".to_owned(),
            size: None,
            subscribers: None,
            depth: 10,
            show: 4,
            timeout: 1200,
            icount: false,
        }
    }
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("profile: {arg} needs a value"))
        };
        let number = |text: String| {
            text.parse::<u32>()
                .map_err(|_| format!("profile: {arg} wants a number, not {text:?}"))
        };
        match arg.as_str() {
            "--only" => {
                let shape = value()?;
                if !["unicast", "rtt", "fanout"].contains(&shape.as_str()) {
                    return Err(format!(
                        "profile: no shape {shape:?} (unicast, rtt, fanout)"
                    ));
                }
                options.shape = shape;
            }
            "--impl" => options.impls = value()?,
            "--size" => options.size = Some(number(value()?)?),
            "--subscribers" => options.subscribers = Some(number(value()?)?),
            "--depth" => options.depth = number(value()?)?.clamp(1, 30),
            "--show" => options.show = number(value()?)?,
            "--timeout" => options.timeout = number(value()?)?.into(),
            "--icount" => options.icount = true,
            other => return Err(format!("profile: unknown option {other:?}")),
        }
    }
    Ok(options)
}

impl Options {
    /// `ipcon-perf`'s arguments: one short round of the chosen measurements.
    fn perf_args(&self) -> String {
        let mut args = format!(
            "--quick --runs 1 --only {} --impl {}",
            self.shape, self.impls
        );
        if let Some(size) = self.size {
            args.push_str(&format!(" --size {size}"));
        }
        if let Some(n) = self.subscribers {
            args.push_str(&format!(" --subscribers {n}"));
        }
        args
    }

    /// The guest's script: set the tracer up, trace the measurement, fold.
    fn guest_command(&self) -> String {
        format!(
            "set -e
{floor}
T=/sys/kernel/tracing
[ -d $T/options ] || mount -t tracefs nodev $T
echo 0 > $T/tracing_on
echo function_graph > $T/current_tracer
echo 1 > $T/options/funcgraph-abstime
echo 1 > $T/options/funcgraph-proc
echo 1 > $T/options/funcgraph-tail
echo 0 > $T/options/funcgraph-irqs
echo {depth} > $T/max_graph_depth
echo '{roots}' > $T/set_graph_function
echo 196608 > $T/buffer_size_kb
echo 1 > $T/events/sched/sched_switch/enable
echo > $T/trace
echo 1 > $T/tracing_on
/bin/ipcon-perf {args} > /tmp/perf.out
echo 0 > $T/tracing_on
grep '^PERF' /tmp/perf.out
grep -m 2 'sched_switch:' $T/trace | sed 's/^/PROFILE-SAMPLE /'
sed -n 's/^\\(entries\\|overrun\\): */PROFILE-STATS \\1 /p' $T/per_cpu/cpu0/stats
awk -v SHOW={show} -f {fold} $T/trace
",
            depth = self.depth,
            roots = ROOTS.join(" "),
            args = self.perf_args(),
            show = self.show,
            fold = GUEST_FOLD_SCRIPT,
            floor = bench::floor_insmod(),
        )
    }
}

/// One folded call path: `root;child;...`, how often it ran and its CPU
/// time in total.
#[derive(Debug, Clone, PartialEq)]
struct PathCost {
    path: Vec<String>,
    calls: u64,
    cpu_us: f64,
}

/// The `PROFILE` lines of the fold, the trace's statistics and the
/// measurements' own lines.
#[derive(Debug, Default, PartialEq)]
struct Folded {
    paths: Vec<PathCost>,
    stats: BTreeMap<String, u64>,
    partial: u64,
    perf: Vec<String>,
}

fn parse_folded(lines: &[String]) -> Folded {
    let mut folded = Folded::default();
    for line in lines {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("PROFILE ") {
            let mut fields = rest.splitn(3, ' ');
            let (Some(calls), Some(cpu), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (Ok(calls), Ok(cpu_us)) = (calls.parse(), cpu.parse()) else {
                continue;
            };
            folded.paths.push(PathCost {
                path: path.split(';').map(str::to_owned).collect(),
                calls,
                cpu_us,
            });
        } else if let Some(rest) = line.strip_prefix("PROFILE-STATS ") {
            if let Some((key, value)) = rest.split_once(' ') {
                if let Ok(value) = value.trim().parse() {
                    folded.stats.insert(key.to_owned(), value);
                }
            }
        } else if let Some(rest) = line.strip_prefix("PROFILE-PARTIAL ") {
            folded.partial = rest.trim().parse().unwrap_or(0);
        } else if line.starts_with("PERF ") {
            folded.perf.push(line.to_owned());
        }
    }
    folded
}

/// The report: per root, its calls and CPU per call, then every path below
/// it worth at least [`MIN_SHARE`] of it, as CPU per root call and share,
/// children after their parent, dearest first.
fn render(folded: &Folded, options: &Options) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "Kernel profile: `ipcon-perf {}` under function_graph (max depth {}), \
         CPU time per call path with the time switched out subtracted. \
         Emulated CPU under tracing: compare paths within this profile only.\n",
        options.perf_args(),
        options.depth
    ));
    if options.icount {
        text.push_str(
            "\nThe guest's clock counted instructions (`--icount`): a µs below is a \
             thousand instructions, the tracer's own among them.\n",
        );
    }
    let entries = folded.stats.get("entries").copied().unwrap_or(0);
    let overrun = folded.stats.get("overrun").copied().unwrap_or(0);
    text.push_str(&format!(
        "\nTrace: {entries} events, {overrun} overwritten, {} functions whose start was lost.\n",
        folded.partial
    ));
    let mut roots: Vec<&PathCost> = folded.paths.iter().filter(|p| p.path.len() == 1).collect();
    roots.sort_by(|a, b| a.path.cmp(&b.path));
    for root in roots {
        if root.calls == 0 {
            continue;
        }
        let per_call = root.cpu_us / root.calls as f64;
        text.push_str(&format!(
            "\n{}: {} calls, {:.1} us CPU per call\n\n",
            root.path[0], root.calls, per_call
        ));
        text.push_str("| path | calls per root call | us per root call | share |\n");
        text.push_str("| --- | ---: | ---: | ---: |\n");
        let below: Vec<&PathCost> = folded
            .paths
            .iter()
            .filter(|p| p.path.len() > 1 && p.path[0] == root.path[0])
            .filter(|p| root.cpu_us > 0.0 && p.cpu_us / root.cpu_us >= MIN_SHARE)
            .collect();
        for path in tree_order(&below) {
            let depth = path.path.len() - 1;
            text.push_str(&format!(
                "| {}{} | {:.2} | {:.1} | {:.0}% |\n",
                "· ".repeat(depth - 1),
                path.path[depth],
                path.calls as f64 / root.calls as f64,
                path.cpu_us / root.calls as f64,
                100.0 * path.cpu_us / root.cpu_us
            ));
        }
    }
    if !folded.perf.is_empty() {
        text.push_str("\nThe measurements traced (their figures include the tracer's cost):\n\n");
        for line in &folded.perf {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text
}

/// Depth-first: each path after its parent, siblings dearest first.
fn tree_order<'a>(paths: &[&'a PathCost]) -> Vec<&'a PathCost> {
    fn visit<'a>(prefix: &[String], paths: &[&'a PathCost], out: &mut Vec<&'a PathCost>) {
        let mut children: Vec<&'a PathCost> = paths
            .iter()
            .copied()
            .filter(|p| p.path.len() == prefix.len() + 1 && p.path.starts_with(prefix))
            .collect();
        children.sort_by(|a, b| b.cpu_us.total_cmp(&a.cpu_us));
        for child in children {
            out.push(child);
            visit(&child.path, paths, out);
        }
    }
    let mut out = Vec::new();
    if let Some(first) = paths.first() {
        visit(&first.path[..1], paths, &mut out);
    }
    out
}

pub fn command(workspace: &Workspace, args: &[String]) -> Result<(), String> {
    let options = parse_options(args)?;
    let arch = Arch::X86_64;
    let kernel = prepare_vm_host(arch)?;
    let module = kmod::build_ipcon(workspace, &kernel)?;
    let binaries = workspace::build_static_binaries(workspace, arch, &["ipcon-perf"])?;
    // The generic netlink floor too: `--impl genl-floor` profiles it.
    let floor = bench::floor_guest_file(workspace, &kernel)?;
    let mut run = VmRun::new("profile", kernel, &options.guest_command());
    run.module = Some(module);
    run.files = binaries.iter().map(|b| GuestFile::binary(b)).collect();
    run.files.push(floor);
    run.files.push(GuestFile {
        host: workspace.root.join(FOLD_SCRIPT),
        guest: GUEST_FOLD_SCRIPT.to_owned(),
        mode: 0o644,
    });
    run.vcpus = 1;
    run.memory_mib = 2048;
    run.slab_debug = false;
    run.fixed_layout = true;
    run.icount = options.icount;
    run.timeout = Duration::from_secs(options.timeout);
    run.echo = Echo::Silent;
    println!(
        "xtask: profiling `ipcon-perf {}` in the VM (tracing under emulation takes minutes)",
        options.perf_args()
    );
    let outcome = vm::run(&run, &workspace.target_dir)?;
    if !outcome.passed() {
        outcome.report_failure();
        return Err(outcome.failures().join("; "));
    }
    let folded = parse_folded(outcome.run_lines());
    if folded.paths.is_empty() {
        return Err("profile: the trace folded to nothing (no PROFILE lines)".to_owned());
    }
    let report = render(&folded, &options);
    print!("{report}");
    let path = workspace.target_dir.join("bench").join("profile.md");
    bench::write_file(&path, &report)?;
    println!("xtask: wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::Path;
    use std::process::{Command, Stdio};

    /// A function_graph excerpt as the guest's tracer writes it: the
    /// sender is switched out twice inside its send (50 us inside
    /// `__cond_resched`, 25 us inside `kmalloc`, whose line is its only
    /// one), the receiver's trace began inside a receive and it is switched
    /// out for 10 us inside the next one, a module function carries its
    /// module's name.
    const TRACE: &str = "\
# tracer: function_graph
#
#     TIME       CPU  TASK/PID         DURATION                  FUNCTION CALLS
#      |         |    |    |           |   |                     |   |   |   |
    1.000000 |   0)  ipcon-p-83    |               |  netlink_sendmsg() {
    1.000001 |   0)  ipcon-p-83    |   1.000 us    |    __check_object_size();
    1.000002 |   0)  ipcon-p-83    |               |    netlink_unicast() {
    1.000003 |   0)  ipcon-p-83    |               |      ipcon_nl_unicast_doit [ipcon]() {
    1.000007 |   0)  ipcon-p-83    |   4.000 us    |        ipcon_deliver [ipcon]();
    1.000008 |   0)  ipcon-p-83    |               |        __cond_resched() {
    1.000010 |   0)  ipcon-p-83    |               |          /* sched_switch: prev_comm=ipcon-perf prev_pid=83 prev_prio=120 prev_state=R+ ==> next_comm=ipcon-perf next_pid=84 next_prio=120 */
 ------------------------------------------
 0)  ipcon-p-83    =>  ipcon-p-84
 ------------------------------------------

    1.000011 |   0)  ipcon-p-84    | + 70.000 us   |    } /* __skb_recv_datagram */
    1.000013 |   0)  ipcon-p-84    |   2.000 us    |    skb_copy_datagram_iter();
    1.000014 |   0)  ipcon-p-84    | + 80.000 us   |  } /* netlink_recvmsg */
    1.000040 |   0)  ipcon-p-84    |               |  netlink_recvmsg() {
    1.000060 |   0)  ipcon-p-84    |               |    /* sched_switch: prev_comm=ipcon-perf prev_pid=84 prev_prio=120 prev_state=S ==> next_comm=ipcon-perf next_pid=83 next_prio=120 */
    1.000061 |   0)  ipcon-p-83    | + 50.600 us   |        } /* __cond_resched */
    1.000070 |   0)  ipcon-p-83    |               |        /* sched_switch: prev_comm=ipcon-perf prev_pid=83 prev_prio=120 prev_state=R+ ==> next_comm=ipcon-perf next_pid=84 next_prio=120 */
    1.000073 |   0)  ipcon-p-84    |   3.000 us    |    skb_copy_datagram_iter();
    1.000074 |   0)  ipcon-p-84    | + 34.000 us   |  } /* netlink_recvmsg */
    1.000095 |   0)  ipcon-p-84    |               |  /* sched_switch: prev_comm=ipcon-perf prev_pid=84 prev_prio=120 prev_state=S ==> next_comm=ipcon-perf next_pid=83 next_prio=120 */
    1.000097 |   0)  ipcon-p-83    | + 27.000 us   |        kmalloc();
    1.000098 |   0)  ipcon-p-83    | + 95.000 us   |      } /* ipcon_nl_unicast_doit [ipcon] */
    1.000099 |   0)  ipcon-p-83    | + 97.000 us   |    } /* netlink_unicast */
    1.000100 |   0)  ipcon-p-83    | + 100.000 us  |  } /* netlink_sendmsg */
";

    fn fold(trace: &str, show: u32) -> Folded {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(FOLD_SCRIPT);
        let mut child = Command::new("busybox")
            .args(["awk", "-v", &format!("SHOW={show}"), "-f"])
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("busybox awk (the guest's awk) runs on the host");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(trace.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        let lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        parse_folded(&lines)
    }

    fn cost(folded: &Folded, path: &str) -> Option<(u64, f64)> {
        folded
            .paths
            .iter()
            .find(|p| p.path.join(";") == path)
            .map(|p| (p.calls, p.cpu_us))
    }

    #[test]
    fn the_fold_subtracts_time_switched_out_per_task() {
        let folded = fold(TRACE, 4);
        let sender = "netlink_sendmsg;netlink_unicast;ipcon_nl_unicast_doit";
        // 100 us, of which 50 + 25 switched out.
        assert_eq!(cost(&folded, "netlink_sendmsg"), Some((1, 25.0)));
        assert_eq!(
            cost(&folded, "netlink_sendmsg;netlink_unicast"),
            Some((1, 22.0))
        );
        assert_eq!(cost(&folded, sender), Some((1, 20.0)));
        let child = |name: &str| cost(&folded, &format!("{sender};{name}"));
        assert_eq!(child("ipcon_deliver"), Some((1, 4.0)));
        assert_eq!(child("__cond_resched"), Some((1, 0.6)));
        // A leaf line that contains the time away.
        assert_eq!(child("kmalloc"), Some((1, 2.0)));
        // The receive whose start was before the trace is not a root call;
        // the whole one is, less its 10 us away; the leaf after the switch
        // back is shorter than the time away, so it was not inside it.
        assert_eq!(cost(&folded, "netlink_recvmsg"), Some((1, 24.0)));
        assert_eq!(
            cost(&folded, "netlink_recvmsg;skb_copy_datagram_iter"),
            Some((1, 3.0))
        );
        assert_eq!(folded.partial, 2);
    }

    #[test]
    fn the_fold_keeps_paths_to_the_depth_asked() {
        let folded = fold(TRACE, 1);
        assert!(cost(&folded, "netlink_sendmsg;netlink_unicast").is_some());
        assert!(cost(
            &folded,
            "netlink_sendmsg;netlink_unicast;ipcon_nl_unicast_doit"
        )
        .is_none());
        // Time switched out deeper down is still subtracted.
        assert_eq!(cost(&folded, "netlink_sendmsg"), Some((1, 25.0)));
    }

    #[test]
    fn the_report_lists_children_after_their_parent_dearest_first() {
        let folded = fold(TRACE, 4);
        let report = render(&folded, &Options::default());
        let send = report.find("netlink_sendmsg: 1 calls, 25.0 us").unwrap();
        let unicast = report[send..].find("| netlink_unicast |").unwrap();
        let doit = report[send..].find("| · ipcon_nl_unicast_doit |").unwrap();
        let check = report[send..].find("| __check_object_size |").unwrap();
        assert!(unicast < doit && doit < check, "{report}");
        assert!(
            report.contains("| · · ipcon_deliver | 1.00 | 4.0 | 16% |"),
            "{report}"
        );
        assert!(report.contains("2 functions whose start was lost"));
    }

    #[test]
    fn options() {
        let parse =
            |args: &[&str]| parse_options(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(parse(&[]).unwrap(), Options::default());
        let o = parse(&["--only", "unicast", "--impl", "ipcon-batch", "--size", "64"]).unwrap();
        assert_eq!(
            o.perf_args(),
            "--quick --runs 1 --only unicast --impl ipcon-batch --size 64"
        );
        assert!(o.guest_command().contains("echo 10 > $T/max_graph_depth"));
        let o = parse(&["--only", "fanout", "--subscribers", "16"]).unwrap();
        assert!(o
            .perf_args()
            .ends_with("--only fanout --impl ipcon-post,uds-seqpacket --subscribers 16"));
        assert!(parse(&["--only", "multicast"]).is_err());
        assert!(parse(&["--depth"]).is_err());
        assert!(parse(&["--depth", "x"]).is_err());
        assert!(parse(&["--what"]).is_err());
        let o = parse(&["--icount", "--impl", "genl-floor"]).unwrap();
        assert!(o.icount && !Options::default().icount);
        assert!(o
            .guest_command()
            .starts_with("set -e\ninsmod /lib/modules/ipcon_floor.ko\n"));
        assert!(render(&Folded::default(), &o).contains("counted instructions"));
    }
}
