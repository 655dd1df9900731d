SUMMARY = "ipcon: packet-based IPC over generic netlink (tools and samples)"
DESCRIPTION = "User space of ipcon: the ipcon operator CLI and the sample \
               server, subscriber, sender, one-shot command, event \
               monitor and on-target benchmark/self-check, built from the \
               ipcon Rust workspace (ipcon-core, ipcon-linux, \
               ipcon-samples). The kernel side is the ipcon-kmod recipe."
SECTION = "net"
CVE_PRODUCT = "ipcon"
# The Rust workspace is MIT OR Apache-2.0. The C user API header shipped in
# ${PN}-dev (kmod/uapi/ipcon.h) is (GPL-2.0 WITH Linux-syscall-note) OR
# BSD-3-Clause; its BSD-3-Clause choice is the one listed here.
LICENSE = "(MIT | Apache-2.0) & BSD-3-Clause"
LICENSE:${PN} = "MIT | Apache-2.0"
LICENSE:${PN}-samples = "MIT | Apache-2.0"
LICENSE:${PN}-dev = "BSD-3-Clause"
LIC_FILES_CHKSUM = "file://LICENSE-MIT;md5=41ac6599632b26477ff90c7caa2b787d \
                    file://LICENSE-APACHE;md5=3b83ef96387f14655fc854ddc3c6bd57 \
                    file://LICENSES/BSD-3-Clause.txt;md5=490e00b42eee246fbdbeb9098894ac13 \
                    file://kmod/uapi/ipcon.h;beginline=1;endline=1;md5=65da6a5d2e6f7b92b288c73bb0d968d5"

require ipcon-source.inc
# Every crates.io dependency of Cargo.lock, with its checksum. Regenerate
# with `bitbake -c update_crates ipcon` or
# `XTASK_PACKAGING_WRITE=1 cargo xtask test`;
# `cargo xtask test` fails when it and Cargo.lock disagree.
require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates

# update_crates lists the crates of every Cargo.lock below
# CARGO_LOCK_SRC_DIR (S by default), and S also holds the fuzz workspace's
# lock (ipcon-core/fuzz), which is not built here. Point it at a directory
# holding only the workspace's Cargo.lock, so that it writes exactly the
# crates this recipe builds.
CARGO_LOCK_SRC_DIR = "${WORKDIR}/ipcon-cargo-lock"
do_update_crates:prepend() {
    mkdir -p ${CARGO_LOCK_SRC_DIR}
    cp ${S}/Cargo.lock ${CARGO_LOCK_SRC_DIR}/Cargo.lock
}

# Build the shipped crates by name instead of --workspace: the workspace
# also holds xtask (the project's host build/VM runner) and ipcon-e2e (the
# end-to-end suite that runs in a test VM), neither of which belongs on a
# target image nor should be cross-compiled for it. ipcon-core and
# ipcon-linux are named too so that a library that does not build for the
# target fails here, not later in an application recipe.
IPCON_CARGO_PACKAGES = "ipcon-core ipcon-linux ipcon-samples"
CARGO_BUILD_FLAGS:append = " ${@' '.join('--package ' + p for p in d.getVar('IPCON_CARGO_PACKAGES').split())}"

# The workspace's release profile strips its binaries; leave that to
# do_package so that ${PN}-dbg gets the debug information and the
# already-stripped QA check stays meaningful.
export CARGO_PROFILE_RELEASE_STRIP = "false"

# What goes where: the operator CLI is the product, the samples are
# optional (tutorial programs and handy test tools).
IPCON_TOOLS = "ipcon"
IPCON_SAMPLES = "ipcon-server ipcon-subscriber ipcon-sender ipcon-cmd ipcon-monitor ipcon-bench"

# Installed explicitly rather than by cargo_do_install (which copies every
# executable it finds): a renamed or missing binary fails the build instead
# of silently changing the packages.
do_install() {
    install -d ${D}${bindir}
    for bin in ${IPCON_TOOLS} ${IPCON_SAMPLES}; do
        install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/$bin ${D}${bindir}/$bin
    done
    # The C-facing artefact: the module's user API header, for C programs
    # that talk to the ipcon family directly.
    install -d ${D}${includedir}/ipcon
    install -m 0644 ${S}/kmod/uapi/ipcon.h ${D}${includedir}/ipcon/ipcon.h
}

# ${PN}-samples is split off first, so ${PN} keeps the rest of ${bindir}.
PACKAGE_BEFORE_PN = "${PN}-samples"
# Exactly the programs of IPCON_SAMPLES (asserted on `bitbake -e`).
FILES:${PN}-samples += "${@' '.join('${bindir}/' + p for p in d.getVar('IPCON_SAMPLES').split())}"

# Both need the module at run time; kernel-module-ipcon is provided by
# ipcon-kmod (its name comes from the module file, ipcon.ko).
RRECOMMENDS:${PN} = "kernel-module-ipcon"
RRECOMMENDS:${PN}-samples = "kernel-module-ipcon"
