################################################################################
#
# ipcon-kmod
#
################################################################################

# Built from the checkout this tree sits in, like the ipcon package.
IPCON_KMOD_VERSION = 0.1.0
IPCON_KMOD_SITE = $(BR2_EXTERNAL_IPCON_PATH)/..
IPCON_KMOD_SITE_METHOD = local
IPCON_KMOD_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --filter=':- .gitignore'
IPCON_KMOD_LICENSE = GPL-2.0
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
