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

demo:
	@sh scripts/demo.sh

demo-stop:
	@sh scripts/demo.sh stop

clean:
	rm -rf build build-asan build-fuzz
