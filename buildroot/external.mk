# The ipcon release both packages build, so that the programs and the
# module always come from one commit (meta-ipcon's SRCREV pins the same
# one). Moving it means updating the archives' hashes in both .hash files
# (README.md, "Moving the release").
IPCON_RELEASE = d47e8323e68c772be28b5a109fdc31198d3ff8e8

# Fetched with git from BR2_PACKAGE_IPCON_GIT_URL, or else from the
# repository this tree is part of.
IPCON_RELEASE_SITE = $(or $(call qstrip,$(BR2_PACKAGE_IPCON_GIT_URL)),$(realpath $(BR2_EXTERNAL_IPCON_PATH)/..))

include $(sort $(wildcard $(BR2_EXTERNAL_IPCON_PATH)/package/*/*.mk))
