# tests/native/test_native_race.c stands between the model's answer and the
# host mapping by wrapping hw_lp_rights at link time (the race it pins down
# has no other deterministic trigger), and the library's mmap to see the
# host mapping the fill then makes.
$(BUILD)/tests/native/test_native_race: ALL_CFLAGS += -Wl,--wrap=hw_lp_rights -Wl,--wrap=mmap
