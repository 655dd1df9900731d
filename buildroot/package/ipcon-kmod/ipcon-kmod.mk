################################################################################
#
# ipcon-kmod
#
################################################################################

# The module of the same ipcon release as the ipcon package (external.mk),
# from its own archive of the repository (the module needs no crates).
IPCON_KMOD_VERSION = $(IPCON_RELEASE)
IPCON_KMOD_SITE = $(IPCON_RELEASE_SITE)
IPCON_KMOD_SITE_METHOD = git
IPCON_KMOD_LICENSE = GPL-2.0
IPCON_KMOD_LICENSE_FILES = LICENSES/GPL-2.0-only.txt
# A working tree (IPCON_KMOD_OVERRIDE_SRCDIR, see README.md): build
# outputs and caches git ignores are not sources.
IPCON_KMOD_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --filter=':- .gitignore'
# kmod/Kbuild holds obj-m; the kernel-module infrastructure runs
# $(MAKE) -C $(LINUX_DIR) M=$(@D)/kmod modules and modules_install.
IPCON_KMOD_MODULE_SUBDIRS = kmod

# Load the module at boot: busybox/sysv init through an init script,
# systemd through modules-load.d.
define IPCON_KMOD_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(IPCON_KMOD_PKGDIR)/S30ipcon \
		$(TARGET_DIR)/etc/init.d/S30ipcon
endef

define IPCON_KMOD_INSTALL_INIT_SYSTEMD
	mkdir -p $(TARGET_DIR)/usr/lib/modules-load.d
	echo ipcon > $(TARGET_DIR)/usr/lib/modules-load.d/ipcon.conf
endef

$(eval $(kernel-module))
$(eval $(generic-package))
