SUMMARY = "ipcon kernel module: the ipcon generic netlink family"
DESCRIPTION = "Out-of-tree kernel module that registers the generic \
               netlink family ipcon: per-namespace peers, groups with \
               fan-out and the cached last message, and kernel events on \
               the ipcon_kevent group."
SECTION = "kernel/modules"
CVE_PRODUCT = "ipcon"
LICENSE = "GPL-2.0-only"
# S is the module's directory (kmod/ of the sources, below).
LIC_FILES_CHKSUM = "file://main.c;beginline=1;endline=1;md5=50d2ba0afecd20f74c12a4bdbcfcfe61 \
                    file://../LICENSES/GPL-2.0-only.txt;md5=b234ee4d69f5fce4486a80fdaf4a4263"

require recipes-ipcon/ipcon/ipcon-source.inc

inherit module

# The module is built from kmod/ of the source tree: kmod/Makefile takes
# KERNEL_SRC (set by module.bbclass) and provides all, modules_install and
# clean; kmod/Kbuild holds obj-m. Appending to the default S keeps this
# independent of where the release unpacks (${WORKDIR} or ${UNPACKDIR}).
S .= "/kmod"

RPROVIDES:${PN} += "kernel-module-ipcon"

# Load at boot: user space only finds the family once the module is in.
KERNEL_MODULE_AUTOLOAD += "ipcon"
