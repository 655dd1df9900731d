//! Protocol versions: user space refuses a module that speaks another version,
//! with a typed error naming both versions, before it sends anything. `cargo
//! xtask` puts a copy of the module built with the next family version at
//! `/lib/modules/ipcon-skew.ko`; the test loads it in place of the real one and
//! loads the real one back, with the same parameters, when it is done.

use ipcon_core::spec::VERSION;
use ipcon_linux::{Directory, ErrorKind, Handler, KeventMonitor};

use crate::harness::{shell, Context, Test, TestResult};
use crate::unload::{current_params, run_tool, MODULE};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] =
    &[Test::new("version_incompatible_module_refused", incompatible_module).timeout(60)];

const SKEW_MODULE: &str = "/lib/modules/ipcon-skew.ko";

fn incompatible_module() -> TestResult {
    ensure!(
        std::path::Path::new(SKEW_MODULE).is_file(),
        "{SKEW_MODULE} is missing (`cargo xtask vm` and `cargo xtask test` build it with the VM's module)"
    );
    let params = current_params()?;
    ensure_eq!(run_tool("/bin/rmmod", &["ipcon".into()])?, 0, "rmmod ipcon");
    let outcome = with_skew_module();
    // Whatever happened, the real module goes back for the tests after this one.
    let _ = run_tool("/bin/rmmod", &["ipcon".into()]);
    let mut insmod = vec![MODULE.to_owned()];
    insmod.extend(params);
    let reloaded = run_tool("/bin/insmod", &insmod)?;
    outcome?;
    ensure_eq!(reloaded, 0, "insmod {insmod:?}");
    Handler::new("e2e_v_back").ctx("a handler on the real module again")?;
    Ok(())
}

fn with_skew_module() -> TestResult {
    ensure_eq!(
        run_tool("/bin/insmod", &[SKEW_MODULE.into()])?,
        0,
        "insmod {SKEW_MODULE}"
    );
    let module = u32::from(VERSION) + 1;
    let expected = ErrorKind::IncompatibleModule {
        module,
        library: u32::from(VERSION),
    };
    let errors = [
        ("Handler::new", Handler::new("e2e_v_peer").err()),
        ("Handler::anonymous", Handler::anonymous().err()),
        ("Directory::open", Directory::open().err()),
        ("KeventMonitor::open", KeventMonitor::open().err()),
    ];
    for (what, err) in errors {
        let err = err.ok_or_else(|| format!("{what} accepted a module of version {module}"))?;
        ensure_eq!(err.kind(), expected, "{what}: {err}");
        ensure!(
            err.to_string().contains(&format!(
                "protocol version {module}, this library version {VERSION}"
            )),
            "{what}: {err}"
        );
    }
    // The tools say it too, and fail.
    for command in ["/bin/ipcon peers", "/bin/ipcon-cmd somebody hello"] {
        let (code, out) = shell(command)?;
        ensure_eq!(
            code,
            1,
            "{command} on a module of version {module} (output {out:?})"
        );
        ensure!(
            out.contains(&format!("protocol version {module}")),
            "{command} says: {out}"
        );
    }
    Ok(())
}
