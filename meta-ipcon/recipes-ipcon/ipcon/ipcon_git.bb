SUMMARY = "ipcon: packet-based IPC over generic netlink (tools, samples, libipcon)"
DESCRIPTION = "User space of ipcon: the ipcon operator CLI (with the boot \
               step that loads the name ownership policy), the sample \
               server, subscriber, sender, one-shot command, event \
               monitor and on-target benchmark/self-check, and the C \
               library libipcon, built from the ipcon Rust workspace \
               (ipcon-core, ipcon-linux, ipcon-samples, ipcon-c). The \
               kernel side is the ipcon-kmod recipe."
SECTION = "net"
CVE_PRODUCT = "ipcon"
# The Rust workspace (and libipcon, its header and pkg-config file) is MIT
# OR Apache-2.0. The module's user API header shipped in ${PN}-dev
# (kmod/uapi/ipcon.h) is (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause;
# its BSD-3-Clause choice is the one listed here.
LICENSE = "(MIT | Apache-2.0) & BSD-3-Clause"
LICENSE:${PN} = "MIT | Apache-2.0"
LICENSE:${PN}-samples = "MIT | Apache-2.0"
LICENSE:libipcon = "MIT | Apache-2.0"
LICENSE:${PN}-dev = "(MIT | Apache-2.0) & BSD-3-Clause"
LICENSE:${PN}-staticdev = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE-MIT;md5=41ac6599632b26477ff90c7caa2b787d \
                    file://LICENSE-APACHE;md5=3b83ef96387f14655fc854ddc3c6bd57 \
                    file://LICENSES/BSD-3-Clause.txt;md5=490e00b42eee246fbdbeb9098894ac13 \
                    file://kmod/uapi/ipcon.h;beginline=1;endline=1;md5=65da6a5d2e6f7b92b288c73bb0d968d5"

# libipcon's recipe: C programs say DEPENDS = "libipcon".
PROVIDES += "libipcon"

require ipcon-source.inc

# The boot step that loads the name ownership policy (docs/security.md),
# as a systemd unit and a sysvinit script; the image's init manager picks.
SRC_URI += "file://policy.conf \
            file://ipcon-policy.service \
            file://ipcon-policy.init \
           "

# Where the files above are unpacked: UNPACKDIR from styhead (5.1) on,
# WORKDIR on scarthgap.
IPCON_FILES = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

# Every crates.io dependency of Cargo.lock, with its checksum. Regenerate
# with `bitbake -c update_crates ipcon` or
# `XTASK_PACKAGING_WRITE=1 cargo xtask test`;
# `cargo xtask test` fails when it and Cargo.lock disagree.
require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates systemd update-rc.d

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
# target fails here, not later in an application recipe. ipcon-c is
# libipcon (a staticlib: libipcon.a, from which ipcon-c/install.sh links
# libipcon.so.0).
IPCON_CARGO_PACKAGES = "ipcon-core ipcon-linux ipcon-samples ipcon-c"
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
    # libipcon: libipcon.so.0 linked from libipcon.a with the symbol map by
    # the crate's own installer (with the target's compiler and LDFLAGS,
    # so the linker flags QA checks hold), the header and libipcon.pc.
    CC="${CC}" LDFLAGS="${LDFLAGS}" DESTDIR="${D}" PREFIX="${prefix}" \
        LIBDIR="${libdir}" INCLUDEDIR="${includedir}" \
        sh ${S}/ipcon-c/install.sh ${B}/target/${CARGO_TARGET_SUBDIR}
    # The ownership policy and its boot step.
    install -d ${D}${sysconfdir}/ipcon
    install -m 0644 ${IPCON_FILES}/policy.conf ${D}${sysconfdir}/ipcon/policy.conf
    install -d ${D}${systemd_system_unitdir}
    sed -e 's,@BINDIR@,${bindir},g' -e 's,@SYSCONFDIR@,${sysconfdir},g' \
        ${IPCON_FILES}/ipcon-policy.service >${D}${systemd_system_unitdir}/ipcon-policy.service
    chmod 0644 ${D}${systemd_system_unitdir}/ipcon-policy.service
    install -d ${D}${INIT_D_DIR}
    sed -e 's,@BINDIR@,${bindir},g' -e 's,@SYSCONFDIR@,${sysconfdir},g' \
        ${IPCON_FILES}/ipcon-policy.init >${D}${INIT_D_DIR}/ipcon-policy
    chmod 0755 ${D}${INIT_D_DIR}/ipcon-policy
}

# ${PN}-samples is split off first, so ${PN} keeps the rest of ${bindir};
# libipcon is its own package, so that C programs pull in the library and
# not the CLI. ${PN}-dev keeps the default: headers (libipcon.h,
# ipcon/ipcon.h), libipcon.so and libipcon.pc; ${PN}-staticdev libipcon.a.
PACKAGE_BEFORE_PN = "${PN}-samples libipcon"
# Exactly the programs of IPCON_SAMPLES (asserted on `bitbake -e`).
FILES:${PN}-samples += "${@' '.join('${bindir}/' + p for p in d.getVar('IPCON_SAMPLES').split())}"
FILES:libipcon += "${libdir}/libipcon${SOLIBS}"
# libipcon.so in ${PN}-dev links to libipcon.so.0.
RDEPENDS:${PN}-dev += "libipcon"

# The ownership policy, loaded at boot once the module is in (before
# services and users start: peers registered earlier keep their names).
# The shipped file reserves nothing (a single-user device needs no
# policy); an image or a bbappend replaces it, and a changed file survives
# package upgrades.
CONFFILES:${PN} = "${sysconfdir}/ipcon/policy.conf"
SYSTEMD_SERVICE:${PN} = "ipcon-policy.service"
INITSCRIPT_NAME = "ipcon-policy"
# rcS, after modutils.sh (start 06 S) has loaded the autoloaded modules.
INITSCRIPT_PARAMS = "start 07 S ."

# Both need the module at run time; kernel-module-ipcon is provided by
# ipcon-kmod (its name comes from the module file, ipcon.ko).
RRECOMMENDS:${PN} = "kernel-module-ipcon"
RRECOMMENDS:${PN}-samples = "kernel-module-ipcon"
