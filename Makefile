# ocspstaple - OCSP stapling for unmodified OpenSSL servers, through LD_PRELOAD.
#
#   make                 build build/libocspstaple.so and build/libocspstaple-core.so
#   make check           install missing test dependencies (Debian/Ubuntu), run the bats suite
#   make demo            a throwaway CA, an openssl s_server under the shim, a client seeing it
#   make install         PREFIX, DESTDIR, LIBDIR, SYSCONFDIR honoured
#   make WERROR=1        fail on any compiler warning (CI does)
#   make SANITIZE=address,undefined   build with sanitizers (libconfig is then loaded without
#                        RTLD_DEEPBIND, which the sanitizer runtimes refuse)

PREFIX      ?= /usr/local
EXEC_PREFIX ?= $(PREFIX)
LIBDIR      ?= $(EXEC_PREFIX)/lib
SBINDIR     ?= $(EXEC_PREFIX)/sbin
SYSCONFDIR  ?= /etc
MANDIR      ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
PKGLIBDIR   ?= $(LIBDIR)/ocspstaple
DESTDIR     ?=

CC          ?= cc
BUILD       ?= build
CFLAGS      ?= -O2 -g
CFLAGS      += -std=gnu11 -fPIC -fvisibility=hidden -pthread \
               -Wall -Wextra -Wformat=2 -Wformat-security -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wpointer-arith -Wvla -Wnull-dereference \
               -fstack-protector-strong -fno-strict-aliasing
CPPFLAGS    += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -DOCSPSTAPLE_SYSCONFDIR='"$(SYSCONFDIR)"'
LDFLAGS     += -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed -pthread

ifeq ($(WERROR),1)
CFLAGS      += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS      += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
CPPFLAGS    += -DOCSPSTAPLE_NO_DEEPBIND -U_FORTIFY_SOURCE
LDFLAGS     += -fsanitize=$(SANITIZE)
endif

SSL_LIBS    := -lssl -lcrypto
CONFIG_LIBS := -lconfig
# The shim's core loads libconfig itself, deep-bound (see shim/config.c): it needs the soname.
LIBCONFIG_SONAME ?= $(or $(shell objdump -p "$$($(CC) -print-file-name=libconfig.so)" 2>/dev/null | \
                        awk '/SONAME/ { print $$2 }'),libconfig.so.9)

PRELOAD_SRC := shim/preload.c shim/log.c
CORE_SRC    := shim/core.c shim/status_callback.c shim/store.c shim/validate.c \
               shim/config.c shim/files.c shim/sni.c shim/log.c
HEADERS     := $(wildcard shim/*.h)

# The command links the same configuration, file and validation code as the core.
CMD_SRC     := shim/ocspstaple.c shim/check.c shim/report.c shim/fetch.c shim/ocsp_http.c \
               shim/validate.c shim/config.c shim/files.c shim/log.c

PRELOAD_OBJ := $(PRELOAD_SRC:shim/%.c=$(BUILD)/preload/%.o)
CMD_OBJ     := $(CMD_SRC:shim/%.c=$(BUILD)/cmd/%.o)
CORE_OBJ    := $(CORE_SRC:shim/%.c=$(BUILD)/core/%.o)

TEST_PROGS  := $(BUILD)/tests/tls_server

.PHONY: all check demo install uninstall clean deps test-deps test-programs format lint

all: $(BUILD)/libocspstaple.so $(BUILD)/libocspstaple-core.so $(BUILD)/ocspstaple

$(BUILD)/preload/%.o: shim/%.c $(HEADERS) | $(BUILD)/preload
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/core/%.o: shim/%.c $(HEADERS) | $(BUILD)/core
	$(CC) $(CPPFLAGS) -DOCSPSTAPLE_LIBCONFIG_SONAME='"$(LIBCONFIG_SONAME)"' $(CFLAGS) -c -o $@ $<

$(BUILD)/cmd/%.o: shim/%.c $(HEADERS) | $(BUILD)/cmd
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIE -c -o $@ $<

$(BUILD)/preload $(BUILD)/core $(BUILD)/cmd:
	mkdir -p $@

$(BUILD)/ocspstaple: $(CMD_OBJ)
	$(CC) $(CFLAGS) -pie $(LDFLAGS) -o $@ $(CMD_OBJ) $(CONFIG_LIBS) $(SSL_LIBS)

# The preload object links libc only (plus libdl/libpthread, part of libc on current glibc).
$(BUILD)/libocspstaple.so: $(PRELOAD_OBJ) shim/preload.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,--version-script=shim/preload.map \
	    -Wl,-soname,libocspstaple.so -o $@ $(PRELOAD_OBJ) -ldl

$(BUILD)/libocspstaple-core.so: $(CORE_OBJ) shim/core.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,--version-script=shim/core.map \
	    -Wl,-soname,libocspstaple-core.so -o $@ $(CORE_OBJ) $(SSL_LIBS) -ldl

# Programs the tests run as hosts. tls_server exports config_init on purpose (-rdynamic).
test-programs: $(TEST_PROGS)

$(BUILD)/tests/tls_server: tests/helpers/tls_server.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -rdynamic -o $@ $< $(LDFLAGS) $(SSL_LIBS)

# Dependencies: on Debian/Ubuntu as root they are installed; elsewhere the list is printed.
deps:
	@tests/helpers/install-deps.sh build

test-deps:
	@tests/helpers/install-deps.sh test

check: test-deps
	$(MAKE) all test-programs
	bats --timing tests/

demo: test-deps
	$(MAKE) all
	@tests/helpers/demo.sh

install: all
	install -d $(DESTDIR)$(PKGLIBDIR)
	install -m 0644 $(BUILD)/libocspstaple.so $(BUILD)/libocspstaple-core.so $(DESTDIR)$(PKGLIBDIR)/
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/ocspstaple $(DESTDIR)$(SBINDIR)/ocspstaple
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' conf/ocspstaple-fetch.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.service
	install -m 0644 conf/ocspstaple-fetch.timer $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.timer
	install -d $(DESTDIR)$(SYSCONFDIR)
	test -e $(DESTDIR)$(SYSCONFDIR)/ocspstaple.conf || \
	    install -m 0644 conf/ocspstaple.conf.example $(DESTDIR)$(SYSCONFDIR)/ocspstaple.conf

uninstall:
	rm -f $(DESTDIR)$(PKGLIBDIR)/libocspstaple.so $(DESTDIR)$(PKGLIBDIR)/libocspstaple-core.so
	rm -f $(DESTDIR)$(SBINDIR)/ocspstaple
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.service $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.timer
	-rmdir $(DESTDIR)$(PKGLIBDIR)

format:
	clang-format -i shim/*.c shim/*.h

clean:
	rm -rf $(BUILD)

# Benchmarks (not part of make check; see tests/bench/README.md): stapling through the shim
# against stapling built into the server, one table on stdout.
#   make bench         the five measurements (several minutes; needs valgrind, installed on
#                      Debian/Ubuntu as root); BENCH_FLAGS="--only 1,4 --rounds 9" for a subset
#   make bench-smoke   a few seconds: the bench programs run and the shim staples in them
.PHONY: bench bench-smoke

BENCH_DIR   := $(BUILD)/bench
BENCH_PROGS := $(BENCH_DIR)/bench $(BENCH_DIR)/bench-gen $(BENCH_DIR)/bench-hs \
               $(BENCH_DIR)/bench-load $(BENCH_DIR)/libempty.so $(BENCH_DIR)/hundred.sh
BENCH_RUN    = $(BENCH_DIR)/bench --bindir $(BENCH_DIR) --shim $(BUILD)/libocspstaple.so \
               --empty $(BENCH_DIR)/libempty.so

bench: $(BUILD)/libocspstaple.so $(BUILD)/libocspstaple-core.so $(BENCH_PROGS)
	@tests/bench/deps.sh
	$(BENCH_RUN) $(BENCH_FLAGS)

bench-smoke: $(BUILD)/libocspstaple.so $(BUILD)/libocspstaple-core.so $(BENCH_PROGS)
	$(BENCH_RUN) --smoke

$(BENCH_DIR)/bench: tests/bench/bench.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lcrypto -lm

$(BENCH_DIR)/bench-gen: tests/bench/gen.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

$(BENCH_DIR)/bench-hs: tests/bench/hs_inproc.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

$(BENCH_DIR)/bench-load: tests/bench/load_client.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

$(BENCH_DIR)/libempty.so: tests/bench/empty_preload.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS)

$(BENCH_DIR)/hundred.sh: tests/bench/hundred.sh
	@mkdir -p $(@D)
	cp $< $@
