SUMMARY = "ipcon: kernel module and user space"
DESCRIPTION = "Everything an image needs for ipcon: the kernel module \
               (autoloaded at boot) and the ipcon operator CLI; \
               packagegroup-ipcon-samples adds the sample programs."
HOMEPAGE = "https://example.invalid/ipcon"
BUGTRACKER = "https://example.invalid/ipcon/issues"
SECTION = "base"
LICENSE = "MIT"

# The kernel module is machine specific, so is a group that pulls it in.
PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit packagegroup

PACKAGES = "${PN} ${PN}-samples"

# The Rust library (ipcon-linux) is linked statically into every program,
# so there is no shared library package to pull in.
RDEPENDS:${PN} = "ipcon kernel-module-ipcon"
RDEPENDS:${PN}-samples = "${PN} ipcon-samples"
