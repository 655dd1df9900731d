################################################################################
#
# ipcon
#
################################################################################

# The ipcon release (external.mk), fetched with git. The download step
# vendors the crates of its Cargo.lock into the archive (Buildroot's cargo
# infrastructure), so `make ipcon-source` fetches everything the build
# needs, offline builds and mirrors work, and legal-info saves the crates
# with the sources. The archive's hash is in ipcon.hash.
IPCON_VERSION = $(IPCON_RELEASE)
IPCON_SITE = $(IPCON_RELEASE_SITE)
IPCON_SITE_METHOD = git
IPCON_LICENSE = MIT or Apache-2.0 (programs), GPL-2.0 WITH Linux-syscall-note or BSD-3-Clause (uapi header)
IPCON_LICENSE_FILES = \
	LICENSE-MIT \
	LICENSE-APACHE \
	LICENSES/GPL-2.0-only.txt \
	LICENSES/Linux-syscall-note.txt \
	LICENSES/BSD-3-Clause.txt
IPCON_INSTALL_STAGING = YES

# The shipped crates, built by name: the workspace manifest is virtual (the
# default `cargo install --path ./` refuses it) and also holds xtask and the
# end-to-end suite, which are host tools, not target software. ipcon-c is
# the C library libipcon (a staticlib; ipcon-c/install.sh links
# libipcon.so.0 from it).
IPCON_CARGO_PACKAGES = ipcon-core ipcon-linux ipcon-samples ipcon-c
IPCON_CARGO_BUILD_OPTS = $(addprefix --package ,$(IPCON_CARGO_PACKAGES))

IPCON_TOOLS = ipcon
IPCON_SAMPLES = ipcon-server ipcon-subscriber ipcon-sender ipcon-cmd ipcon-monitor ipcon-bench
IPCON_BINARIES = $(IPCON_TOOLS) $(if $(BR2_PACKAGE_IPCON_SAMPLES),$(IPCON_SAMPLES))
IPCON_PROFILE_DIR = $(if $(BR2_ENABLE_DEBUG),debug,release)

# The workspace's own .cargo/config.toml configures the project's builds
# (static VM binaries, linkers); the Buildroot build must see only the
# vendoring configuration the download step wrote. Newer Buildroot writes
# it over .cargo/config.toml; 2025.02 writes .cargo/config (which cargo
# prefers, with a warning) and leaves the workspace's file: drop it.
define IPCON_KEEP_ONLY_VENDOR_CONFIG
	if [ -f $(@D)/.cargo/config ]; then rm -f $(@D)/.cargo/config.toml; fi
endef
IPCON_POST_EXTRACT_HOOKS += IPCON_KEEP_ONLY_VENDOR_CONFIG

# A working tree built through IPCON_OVERRIDE_SRCDIR (local.mk, see
# README.md) is not downloaded, so nothing vendors its crates: do what the
# download step does (support/download/cargo-post-process) before
# configuring. Writing .cargo/config.toml afresh also keeps the tree's own
# cargo configuration (rustflags for the project's VM and size builds) out
# of the Buildroot build.
ifneq ($(IPCON_OVERRIDE_SRCDIR),)
define IPCON_VENDOR_CRATES
	mkdir -p $(@D)/.cargo $(BR_CARGO_HOME)
	cd $(@D) && $(HOST_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
		flock $(BR_CARGO_HOME)/.br-lock \
		cargo vendor --manifest-path Cargo.toml --locked VENDOR \
		> $(@D)/.cargo/config.toml
endef
IPCON_PRE_CONFIGURE_HOOKS += IPCON_VENDOR_CRATES
# Build outputs and caches of the working tree are not sources.
IPCON_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --filter=':- .gitignore'
endif

# libipcon: the crate's own installer links libipcon.so.0 (soname, symbol
# map) from libipcon.a with the target's compiler and installs it with its
# links, libipcon.a, libipcon.h and libipcon.pc into $(1). Without shared
# libraries (BR2_STATIC_LIBS) its shared link is skipped (CC=true) and the
# links it makes are removed: libipcon.a, the header and the .pc remain.
define IPCON_INSTALL_LIBIPCON
	$(TARGET_MAKE_ENV) \
		CC="$(if $(BR2_STATIC_LIBS),true,$(TARGET_CC))" \
		LDFLAGS="$(TARGET_LDFLAGS)" DESTDIR="$(1)" PREFIX=/usr \
		sh $(@D)/ipcon-c/install.sh \
		$(@D)/target/$(RUSTC_TARGET_NAME)/$(IPCON_PROFILE_DIR)
	$(if $(BR2_STATIC_LIBS),rm -f $(1)/usr/lib/libipcon.so*)
endef

# On the target: the programs, libipcon (target-finalize drops its
# header, archive and .pc) and the ownership policy, which the init
# script or the systemd unit loads at boot.
define IPCON_INSTALL_TARGET_CMDS
	$(foreach bin,$(IPCON_BINARIES),\
		$(INSTALL) -D -m 0755 \
			$(@D)/target/$(RUSTC_TARGET_NAME)/$(IPCON_PROFILE_DIR)/$(bin) \
			$(TARGET_DIR)/usr/bin/$(bin)$(sep))
	$(call IPCON_INSTALL_LIBIPCON,$(TARGET_DIR))
	$(INSTALL) -D -m 0644 $(IPCON_PKGDIR)/policy.conf \
		$(TARGET_DIR)/etc/ipcon/policy.conf
endef

# For C programs: libipcon (pkg-config libipcon) and the module's user API
# header, for those that talk to the ipcon family directly.
define IPCON_INSTALL_STAGING_CMDS
	$(call IPCON_INSTALL_LIBIPCON,$(STAGING_DIR))
	$(INSTALL) -D -m 0644 $(@D)/kmod/uapi/ipcon.h \
		$(STAGING_DIR)/usr/include/ipcon/ipcon.h
endef

# Load the ownership policy at boot, after the module (S30ipcon of
# ipcon-kmod, or modules-load.d with systemd) and before services start.
define IPCON_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(IPCON_PKGDIR)/S31ipcon-policy \
		$(TARGET_DIR)/etc/init.d/S31ipcon-policy
endef

define IPCON_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(IPCON_PKGDIR)/ipcon-policy.service \
		$(TARGET_DIR)/usr/lib/systemd/system/ipcon-policy.service
endef

$(eval $(cargo-package))
