################################################################################
#
# ipcon-c-samples
#
################################################################################

# The C samples of the same ipcon release as the ipcon package
# (external.mk), from their own archive of the repository (they need no
# crates): built against the libipcon ipcon installs in staging.
IPCON_C_SAMPLES_VERSION = $(IPCON_RELEASE)
IPCON_C_SAMPLES_SITE = $(IPCON_RELEASE_SITE)
IPCON_C_SAMPLES_SITE_METHOD = git
IPCON_C_SAMPLES_LICENSE = MIT or Apache-2.0
IPCON_C_SAMPLES_LICENSE_FILES = LICENSE-MIT LICENSE-APACHE
IPCON_C_SAMPLES_DEPENDENCIES = ipcon host-pkgconf
# A working tree (IPCON_C_SAMPLES_OVERRIDE_SRCDIR): build outputs and
# caches git ignores are not sources.
IPCON_C_SAMPLES_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --filter=':- .gitignore'

# Every program of samples/c (cargo xtask test fails while one is missing).
IPCON_C_SAMPLES_PROGRAMS = ipcon_server ipcon_user ipcon_sender ipcon_kevent ipcon_calc ipcon_loop
IPCON_C_SAMPLES_PKG_CONFIG = \
	$(PKG_CONFIG_HOST_BINARY) $(if $(BR2_STATIC_LIBS),--static) libipcon

define IPCON_C_SAMPLES_BUILD_CMDS
	$(foreach sample,$(IPCON_C_SAMPLES_PROGRAMS),\
		$(TARGET_CC) $(TARGET_CFLAGS) -std=c99 -Wall -Wextra -pedantic \
			`$(IPCON_C_SAMPLES_PKG_CONFIG) --cflags` \
			-o $(@D)/$(sample) $(@D)/samples/c/$(sample).c \
			$(TARGET_LDFLAGS) `$(IPCON_C_SAMPLES_PKG_CONFIG) --libs`$(sep))
endef

define IPCON_C_SAMPLES_INSTALL_TARGET_CMDS
	$(foreach sample,$(IPCON_C_SAMPLES_PROGRAMS),\
		$(INSTALL) -D -m 0755 $(@D)/$(sample) \
			$(TARGET_DIR)/usr/bin/$(sample)$(sep))
endef

$(eval $(generic-package))
