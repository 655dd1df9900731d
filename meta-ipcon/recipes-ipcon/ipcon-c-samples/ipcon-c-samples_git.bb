SUMMARY = "ipcon: the C samples of the tutorial, built against libipcon"
DESCRIPTION = "The ipcon tutorial's C programs (samples/c): a server, a \
               subscriber, a sender and a kernel event monitor, built \
               against the libipcon of the sysroot through pkg-config, \
               as any C program that uses ipcon is."
SECTION = "net"
CVE_PRODUCT = "ipcon"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE-MIT;md5=41ac6599632b26477ff90c7caa2b787d \
                    file://LICENSE-APACHE;md5=3b83ef96387f14655fc854ddc3c6bd57"

# libipcon is built by the ipcon recipe.
DEPENDS = "libipcon"

# The same sources (release or checkout) as the ipcon recipe.
require recipes-ipcon/ipcon/ipcon-source.inc

inherit pkgconfig

# Built outside the sources (in the checkout way too: externalsrc keeps B
# out of the working tree when EXTERNALSRC_BUILD is not set).
B = "${WORKDIR}/build"

# Every program of samples/c, by name (cargo xtask test fails while a
# samples/c/*.c is missing here).
IPCON_C_SAMPLES = "ipcon_server ipcon_user ipcon_sender ipcon_kevent ipcon_calc ipcon_loop"

do_compile() {
    for sample in ${IPCON_C_SAMPLES}; do
        ${CC} ${CFLAGS} -std=c99 -Wall -Wextra -pedantic \
            $(pkg-config --cflags libipcon) \
            -o ${B}/$sample ${S}/samples/c/$sample.c \
            ${LDFLAGS} $(pkg-config --libs libipcon)
    done
}

do_install() {
    install -d ${D}${bindir}
    for sample in ${IPCON_C_SAMPLES}; do
        install -m 0755 ${B}/$sample ${D}${bindir}/$sample
    done
}

# libipcon.so.0 comes as a shared library dependency (libipcon); the
# programs talk to the module.
RRECOMMENDS:${PN} = "kernel-module-ipcon"
