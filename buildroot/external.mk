# The ipcon release both packages build, so that the programs and the
# module always come from one commit (meta-ipcon's SRCREV pins the same
# one). Moving it means updating the archives' hashes in both .hash files
# (README.md, "Moving the release").
IPCON_RELEASE = 6a576a8e9039672795ab9e427ac94d18624f7733

# Fetched with git from BR2_PACKAGE_IPCON_GIT_URL, or else from the
# repository this tree is part of.
IPCON_RELEASE_SITE = $(or $(call qstrip,$(BR2_PACKAGE_IPCON_GIT_URL)),$(realpath $(BR2_EXTERNAL_IPCON_PATH)/..))

include $(sort $(wildcard $(BR2_EXTERNAL_IPCON_PATH)/package/*/*.mk))
