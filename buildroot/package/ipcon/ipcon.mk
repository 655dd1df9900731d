################################################################################
#
# ipcon
#
################################################################################

# This tree ships inside the ipcon repository and builds the checkout it
# sits in, so the package, the sources and Cargo.lock are one version.
IPCON_VERSION = 0.1.0
IPCON_SITE = $(BR2_EXTERNAL_IPCON_PATH)/..
IPCON_SITE_METHOD = local
# What git ignores in the checkout (build outputs, caches) is not source.
IPCON_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --filter=':- .gitignore'
IPCON_LICENSE = MIT or Apache-2.0 (tools), GPL-2.0 WITH Linux-syscall-note or BSD-3-Clause (uapi header)
IPCON_LICENSE_FILES = LICENSE-MIT LICENSE-APACHE
IPCON_INSTALL_STAGING = YES

# The shipped crates, built by name: the workspace manifest is virtual (the
# default `cargo install --path ./` refuses it) and also holds xtask and the
# end-to-end suite, which are host tools, not target software.
IPCON_CARGO_PACKAGES = ipcon-core ipcon-linux ipcon-samples
IPCON_CARGO_BUILD_OPTS = $(addprefix --package ,$(IPCON_CARGO_PACKAGES))

IPCON_TOOLS = ipcon
IPCON_SAMPLES = ipcon-server ipcon-subscriber ipcon-sender ipcon-cmd ipcon-monitor ipcon-bench
IPCON_BINARIES = $(IPCON_TOOLS) $(if $(BR2_PACKAGE_IPCON_SAMPLES),$(IPCON_SAMPLES))
IPCON_PROFILE_DIR = $(if $(BR2_ENABLE_DEBUG),debug,release)

# Buildroot vendors the crates of a cargo package when it downloads it; a
# local package is never downloaded, so vendor here (after host-rustc is
# built), through the same cargo home in DL_DIR, so later builds run
# offline. cargo vendor prints the source replacement for the build's
# cargo configuration (appended once: a reconfigure must not repeat it).
define IPCON_CARGO_VENDOR
	if ! grep -q '^\[source\.vendored-sources\]' $(@D)/.cargo/config.toml; then \
		cd $(@D) && $(HOST_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
			cargo vendor --locked VENDOR >> $(@D)/.cargo/config.toml; \
	fi
endef
IPCON_PRE_CONFIGURE_HOOKS += IPCON_CARGO_VENDOR

define IPCON_INSTALL_TARGET_CMDS
	$(foreach bin,$(IPCON_BINARIES),\
		$(INSTALL) -D -m 0755 \
			$(@D)/target/$(RUSTC_TARGET_NAME)/$(IPCON_PROFILE_DIR)/$(bin) \
			$(TARGET_DIR)/usr/bin/$(bin)$(sep))
endef

# The C-facing artefact: the module's user API header, for C programs
# that talk to the ipcon family directly.
define IPCON_INSTALL_STAGING_CMDS
	$(INSTALL) -D -m 0644 $(@D)/kmod/uapi/ipcon.h \
		$(STAGING_DIR)/usr/include/ipcon/ipcon.h
endef

$(eval $(cargo-package))
