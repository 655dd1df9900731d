include $(sort $(wildcard $(BR2_EXTERNAL_IPCON_PATH)/package/*/*.mk))
