SUMMARY = "ipcon: kernel module and user space"
DESCRIPTION = "Everything an image needs for ipcon: the kernel module \
               (autoloaded at boot), the ipcon operator CLI (with the \
               boot step that loads the ownership policy) and the C \
               library libipcon; packagegroup-ipcon-samples adds the \
               sample programs, Rust and C."
HOMEPAGE = "https://example.invalid/ipcon"
BUGTRACKER = "https://example.invalid/ipcon/issues"
SECTION = "base"
LICENSE = "MIT"

# The kernel module is machine specific, so is a group that pulls it in.
PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit packagegroup

PACKAGES = "${PN} ${PN}-samples"

# The Rust library (ipcon-linux) is linked statically into every Rust
# program; libipcon (libipcon.so.0) is there for C programs built outside
# the image.
RDEPENDS:${PN} = "ipcon kernel-module-ipcon libipcon"
RDEPENDS:${PN}-samples = "${PN} ipcon-c-samples ipcon-samples"
