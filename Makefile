# Onyx-C: one GNU Makefile. `make` builds, `make check` installs what the tests
# need, starts real ZooKeeper and Artemis, and runs every test.

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
INCDIR   ?= $(PREFIX)/include
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions

CC       ?= cc
PKGS      = jansson libbsd libqpid-proton libmd libmicrohttpd
OPT      ?= -O2 -g
WARN      = -std=gnu11 -Wall -Wextra -Werror
CPPFLAGS += -DTHREADED -D_GNU_SOURCE -DONYX_VERSION='"$(VERSION)"'
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Hardening: buffer-overflow checks in libc calls, stack canaries, a
# position-independent program with a read-only GOT bound at start. The
# sanitizer build drops FORTIFY (ASan replaces those calls itself).
FORTIFY  ?= -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
HARDEN   ?= -fstack-protector-strong -fPIE
HARDEN_LD ?= -pie -Wl,-z,relro,-z,now
ALL_CFLAGS = $(WARN) $(OPT) $(CPPFLAGS) $(FORTIFY) $(HARDEN) $(PKG_CFLAGS) $(CFLAGS) $(SAN)
ALL_LIBS   = $(PKG_LIBS) -lzookeeper_mt -lpthread $(LDLIBS)
LINK       = $(ALL_CFLAGS) $(HARDEN_LD) $(LDFLAGS)

# Where objects go: build/ normally, build-san/ for the sanitizer build.
B ?= build

PROGS     = onyx-queue onyx-plan onyx-coord onyx-peer onyx-submit onyx-watch
LIB_SRCS  = $(wildcard lib/*.c)
LIB_OBJS  = $(LIB_SRCS:lib/%.c=$(B)/lib/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(B)/unit/%)
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_BINS = $(TOOL_SRCS:tests/tools/%.c=$(B)/tools/%)
BINS      = $(PROGS:%=$(B)/bin/%)
FUZZERS   = plan wire conf lineio
REPLAYS   = $(FUZZERS:%=$(B)/fuzz/replay-%)
FUZZ_TIME ?= 600
PLUGINS   = $(B)/examples/libonyx_examples.so

.PHONY: all bins check test unit deps install uninstall lint sanitize \
	sandbox sandbox-stop bench clean demo check-sanitize fuzz fuzz-replay \
	hardening
.DELETE_ON_ERROR:

all: $(BINS) $(UNIT_BINS) $(TOOL_BINS) $(PLUGINS) $(REPLAYS)

$(B)/lib/%.o: lib/%.c $(wildcard lib/*.h include/onyx/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libonyx.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# -rdynamic: C function plugins call back into the program (onyx_emit_segment).
$(B)/bin/%: cmd/%.c $(B)/libonyx.a
	@mkdir -p $(@D)
	$(CC) $(LINK) -rdynamic -o $@ $< $(B)/libonyx.a $(ALL_LIBS) -ldl

$(B)/unit/%: tests/unit/%.c $(B)/libonyx.a
	@mkdir -p $(@D)
	$(CC) $(LINK) -rdynamic -o $@ $< $(B)/libonyx.a $(ALL_LIBS) -ldl -lcmocka

$(B)/tools/%: tests/tools/%.c $(B)/libonyx.a
	@mkdir -p $(@D)
	$(CC) $(LINK) -rdynamic -o $@ $< $(B)/libonyx.a $(ALL_LIBS) -ldl

# A fuzz harness (fuzz/<name>.c) with fuzz/replay.c as its main: feeds each
# file of its corpus and regression inputs once; no libFuzzer needed.
$(B)/fuzz/replay-%: fuzz/%.c fuzz/replay.c $(B)/libonyx.a
	@mkdir -p $(@D)
	$(CC) $(LINK) -o $@ $< fuzz/replay.c $(B)/libonyx.a $(ALL_LIBS) -ldl

# The same harness linked with libFuzzer (the build-fuzz/ tree, clang).
$(B)/fuzz/fuzz-%: fuzz/%.c $(B)/libonyx.a
	@mkdir -p $(@D)
	$(CC) $(LINK) -fsanitize=fuzzer -o $@ $< $(B)/libonyx.a $(ALL_LIBS) -ldl

# The example C function plugin (examples/plugins/).
$(B)/examples/libonyx_examples.so: $(wildcard examples/plugins/*.c) include/onyx/onyx.h Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iinclude -shared -fPIC -Wl,-z,relro,-z,now $(LDFLAGS) -o $@ $(filter %.c,$^) -ljansson

lib/libonyx.a: $(B)/libonyx.a
	cp $< $@

# The one test command: install what is missing, build, run everything
# against a real ZooKeeper and Artemis that tests/run starts and stops.
check:
	scripts/deps
	$(MAKE) all
	$(MAKE) hardening fuzz-replay
	tests/run

# Only the unit tests and the fuzz regressions (no services needed).
unit: all
	CMOCKA_MESSAGE_OUTPUT=TAP prove --exec '' $(UNIT_BINS)
	$(MAKE) fuzz-replay

# Every fuzz harness over its seed corpus and the inputs that once crashed it.
fuzz-replay: $(REPLAYS)
	for h in $(FUZZERS); do \
	    $(B)/fuzz/replay-$$h fuzz/corpus/$$h tests/fuzz/$$h || exit 1; done

# The built programs are PIE with RELRO and BIND_NOW, and use FORTIFY.
hardening: $(BINS) $(PLUGINS)
	tests/tools/check-hardening $(BINS) $(PLUGINS)

# libFuzzer runs, FUZZ_TIME seconds per harness (clang from scripts/deps),
# one after the other; new inputs go to build-fuzz/corpus/, a crash to
# build-fuzz/crash-<harness>-* (copy it into tests/fuzz/<harness>/ once fixed).
fuzz:
	scripts/deps fuzz
	$(MAKE) B=build-fuzz CC=clang WARN='-std=gnu11 -Wall' FORTIFY= \
	    OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=fuzzer-no-link,address,undefined' \
	    $(FUZZERS:%=build-fuzz/fuzz/fuzz-%)
	for h in $(FUZZERS); do mkdir -p build-fuzz/corpus/$$h && \
	    build-fuzz/fuzz/fuzz-$$h -max_total_time=$(FUZZ_TIME) \
	        -artifact_prefix=build-fuzz/crash-$$h- -print_final_stats=1 \
	        build-fuzz/corpus/$$h fuzz/corpus/$$h \
	        $$(ls -d tests/fuzz/$$h 2>/dev/null) || exit 1; \
	done

deps:
	scripts/deps

sanitize:
	$(MAKE) B=build-san OPT='-O1 -g -fno-omit-frame-pointer' FORTIFY= \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' \
	    unit

# Every test, unit and integration, on the ASan/UBSan build (run by hand: it
# takes longer than make check).
check-sanitize:
	scripts/deps
	$(MAKE) B=build-san OPT='-O1 -g -fno-omit-frame-pointer' FORTIFY= \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' all
	ONYX_BUILD=build-san ASAN_OPTIONS=detect_leaks=0 tests/run

sandbox:
	scripts/deps
	scripts/services start .sandbox
	@echo "services up; load them with: . .sandbox/env"

sandbox-stop:
	scripts/services stop .sandbox

# The main job on a fresh machine: install, build, start what is missing, run
# examples/inc (in -> inc -> out over a real text), stop what it started.
demo:
	scripts/deps
	$(MAKE) all
	examples/inc/run

bench: all
	bench/queue-throughput

lint:
	clang-format --dry-run --Werror $(wildcard cmd/*.c lib/*.c lib/*.h \
	    include/onyx/*.h tests/unit/*.c tests/tools/*.c fuzz/*.c)
	mandoc -Tlint -Wwarning man/*.[1-9]
	tests/tools/split-literals $(wildcard cmd/*.c lib/*.c lib/*.h)

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(INCDIR)/onyx \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	for f in man/*.7; do [ ! -e "$$f" ] || install -m 644 "$$f" \
	    $(DESTDIR)$(MANDIR)/man7/; done
	for f in include/onyx/*.h; do [ ! -e "$$f" ] || install -m 644 "$$f" \
	    $(DESTDIR)$(INCDIR)/onyx/; done
	for p in $(PROGS); do \
	    install -m 644 completions/$$p.bash $(DESTDIR)$(BASHCOMPDIR)/$$p; \
	    install -m 644 completions/_$$p $(DESTDIR)$(ZSHCOMPDIR)/_$$p; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p \
	    $(DESTDIR)$(MANDIR)/man1/$$p.1 $(DESTDIR)$(BASHCOMPDIR)/$$p \
	    $(DESTDIR)$(ZSHCOMPDIR)/_$$p; done

clean:
	rm -rf build build-san build-fuzz lib/libonyx.a
