# A thin wrapper: meson does the building, scripts/ does the rest.
BUILD ?= build

.PHONY: all deps build check demo demo-stop clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	@meson compile -C $(BUILD)

check: deps
	@sh scripts/check.sh

clean:
	rm -rf build build-asan build-fuzz
