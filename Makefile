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
DATADIR     ?= $(PREFIX)/share
PKGLIBDIR   ?= $(LIBDIR)/ocspstaple
PKGDATADIR  ?= $(DATADIR)/ocspstaple
DESTDIR     ?=

CC          ?= cc
comma       := ,
# Sanitizer builds go to their own directory (build-address-undefined, build-thread), so that
# switching never mixes objects.
BUILD       ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))
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
CORE_SRC    := shim/core.c shim/status_callback.c shim/store.c shim/sources.c shim/binding.c \
               shim/ptrtable.c shim/certpool.c shim/validate.c \
               shim/config.c shim/files.c shim/sni.c shim/log.c
HEADERS     := $(wildcard shim/*.h)

# The command links the same configuration, file and validation code as the core.
CMD_SRC     := shim/ocspstaple.c shim/check.c shim/report.c shim/fetch.c shim/ocsp_http.c \
               shim/validate.c shim/config.c shim/files.c shim/log.c

PRELOAD_OBJ := $(PRELOAD_SRC:shim/%.c=$(BUILD)/preload/%.o)
CMD_OBJ     := $(CMD_SRC:shim/%.c=$(BUILD)/cmd/%.o)
CORE_OBJ    := $(CORE_SRC:shim/%.c=$(BUILD)/core/%.o)

TEST_PROGS  := $(BUILD)/tests/tls_server $(BUILD)/tests/mkresponse $(BUILD)/tests/config_path_probe $(BUILD)/tests/hs_loop \
               $(BUILD)/tests/dlopen_host

.PHONY: all check demo install uninstall clean deps test-deps test-programs format lint fuzz fuzz-run

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
# It is bound lazily (-z lazy after the -z now of LDFLAGS): it goes into every process of a
# service, most of which never use TLS, and eager binding of its ~30 imports made /bin/true
# 17 % more expensive than under an empty preload (3.8 % with lazy binding; make bench, 4).
# RELRO stays on; only its lazily bound GOT entries stay writable.
$(BUILD)/libocspstaple.so: $(PRELOAD_OBJ) shim/preload.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-z,lazy -Wl,--version-script=shim/preload.map \
	    -Wl,-soname,libocspstaple.so -o $@ $(PRELOAD_OBJ) -ldl

$(BUILD)/libocspstaple-core.so: $(CORE_OBJ) shim/core.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,--version-script=shim/core.map \
	    -Wl,-soname,libocspstaple-core.so -o $@ $(CORE_OBJ) $(SSL_LIBS) -ldl

# Programs the tests run as hosts. tls_server exports config_init on purpose (-rdynamic), as
# lighttpd does, except in sanitizer builds (which cannot use RTLD_DEEPBIND to isolate it).
test-programs: $(TEST_PROGS)

$(BUILD)/tests/tls_server: tests/helpers/tls_server.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(if $(SANITIZE),,-DCONFIG_INIT_TRAP) $(CFLAGS) -rdynamic -o $@ $< $(LDFLAGS) $(SSL_LIBS) -ldl

$(BUILD)/tests/mkresponse: tests/helpers/mkresponse.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

$(BUILD)/tests/config_path_probe: tests/helpers/config_path_probe.c $(BUILD)/cmd/config.o $(BUILD)/cmd/log.o
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIE -pie -o $@ $< $(BUILD)/cmd/config.o $(BUILD)/cmd/log.o $(LDFLAGS) $(CONFIG_LIBS)

$(BUILD)/tests/hs_loop: tests/helpers/hs_loop.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

# Links no OpenSSL: it loads libssl itself, privately.
$(BUILD)/tests/dlopen_host: tests/helpers/dlopen_host.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -ldl

# Dependencies: on Debian/Ubuntu as root they are installed; elsewhere the list is printed.
deps:
	@tests/helpers/install-deps.sh build

test-deps:
	@tests/helpers/install-deps.sh test

# The suite finds the objects through OCSPSTAPLE_BUILD; with SANITIZE it preloads the sanitizer
# runtime into every host and fails any test whose processes reported an error.
check: test-deps
	$(MAKE) all test-programs
	OCSPSTAPLE_BUILD=$(BUILD) OCSPSTAPLE_SANITIZE=$(SANITIZE) bats --timing tests/

demo: test-deps
	$(MAKE) all
	@tests/helpers/demo.sh

# Operator files: conf/FILE goes to $(PKGDATADIR)/FILE (systemd drop-ins to copy into
# /etc/systemd/system/, the main.cf lines, Dovecot's conf.d file, the example configuration),
# the man pages to $(MANDIR). Their paths are written for the default installation and are
# rewritten for this one.
OPERATOR_FILES := systemd/postfix@-.service.d/ocspstaple.conf \
                  systemd/dovecot.service.d/ocspstaple.conf \
                  systemd/stunnel@.service.d/ocspstaple.conf \
                  postfix/main.cf dovecot/99-ocspstaple.conf dovecot/2.4/99-ocspstaple.conf \
                  ocspstaple.conf.example
OPERATOR_DIRS  := systemd/postfix@-.service.d systemd/dovecot.service.d \
                  systemd/stunnel@.service.d systemd postfix dovecot/2.4 dovecot
MAN_PAGES      := man5/ocspstaple.conf.5 man8/ocspstaple.8
INSTALL_PATHS   = sed -e 's|/usr/local/lib/ocspstaple|$(PKGLIBDIR)|g' \
                      -e 's|/usr/local/share/ocspstaple|$(PKGDATADIR)|g' \
                      -e 's|/usr/local/sbin|$(SBINDIR)|g' \
                      -e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g' \
                      -e 's|/etc/ocspstaple\.conf|$(SYSCONFDIR)/ocspstaple.conf|g'

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
	for f in $(OPERATOR_FILES); do \
	    dest="$(DESTDIR)$(PKGDATADIR)/$$f"; \
	    install -d "$${dest%/*}" && $(INSTALL_PATHS) "conf/$$f" > "$$dest" && \
	        chmod 0644 "$$dest" || exit 1; \
	done
	for m in $(MAN_PAGES); do \
	    dest="$(DESTDIR)$(MANDIR)/$$m"; \
	    install -d "$${dest%/*}" && $(INSTALL_PATHS) "man/$${m#*/}" > "$$dest" && \
	        chmod 0644 "$$dest" || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(PKGLIBDIR)/libocspstaple.so $(DESTDIR)$(PKGLIBDIR)/libocspstaple-core.so
	rm -f $(DESTDIR)$(SBINDIR)/ocspstaple
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.service $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.timer
	-rmdir $(DESTDIR)$(PKGLIBDIR)
	for f in $(OPERATOR_FILES); do rm -f "$(DESTDIR)$(PKGDATADIR)/$$f"; done
	for d in $(OPERATOR_DIRS); do rmdir "$(DESTDIR)$(PKGDATADIR)/$$d" 2>/dev/null || true; done
	-rmdir $(DESTDIR)$(PKGDATADIR)
	for m in $(MAN_PAGES); do rm -f "$(DESTDIR)$(MANDIR)/$$m"; done

# Static analysis, clean: clang-tidy (checks chosen and justified in .clang-tidy) and cppcheck
# (warning, performance and portability classes; style is clang-format's job). Over what ships
# (shim/: the preload object, the core, the command); the test programs take their arguments
# from the suite and are held to the compiler's warnings only.
LINT_SRC    := shim/*.c
lint:
	@tests/helpers/install-deps.sh lint
	clang-tidy --quiet $(LINT_SRC) -- -std=gnu11 -D_GNU_SOURCE \
	    -DOCSPSTAPLE_LIBCONFIG_SONAME='"$(LIBCONFIG_SONAME)"' -DCONFIG_INIT_TRAP -Ishim
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr -D_GNU_SOURCE -DOCSPSTAPLE_LIBCONFIG_SONAME='"x"' -Ishim $(LINT_SRC)

format:
	clang-format -i shim/*.c shim/*.h tests/helpers/*.c

clean:
	rm -rf $(BUILD)

# Fuzzing (not part of make check): libFuzzer targets, built with clang, ASan and UBSan, over
# the shim's own response, file and configuration code (the system's OpenSSL and libconfig,
# not instrumented, are linked as they are).
#   make fuzz                        build/fuzz/fuzz_response, fuzz_config and fuzz_certfile
#   make fuzz-run FUZZ_SECONDS=600   fixtures and seed corpora, then each target for that long
#                                    (one process each; make -j3 fuzz-run runs them at once)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     ?= build/fuzz
FUZZ_CFLAGS  ?= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -g -O1
FUZZ_SRC     := shim/validate.c shim/files.c shim/config.c shim/log.c
FUZZ_TARGETS := response config certfile

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# config.c without OCSPSTAPLE_LIBCONFIG_SONAME: libconfig linked directly, as in the command.
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_target.h $(FUZZ_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Ishim -Wall -Wextra $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC) \
	    $(SSL_LIBS) $(CONFIG_LIBS)

.PHONY: fuzz-seed fuzz-run-response fuzz-run-config fuzz-run-certfile

# Fixtures are made afresh (their dates are relative to now); corpora grown earlier are kept.
fuzz-seed: fuzz
	rm -rf $(FUZZ_DIR)/fixtures
	tests/helpers/mkfixtures.sh $(FUZZ_DIR)/fixtures
	fuzz/mkcorpus.sh $(FUZZ_DIR)/fixtures $(FUZZ_DIR)/corpus

fuzz-run: $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-run-response: fuzz-seed
	fuzz/run.sh $(FUZZ_DIR) response $(FUZZ_SECONDS)

fuzz-run-certfile: fuzz-seed
	fuzz/run.sh $(FUZZ_DIR) certfile $(FUZZ_SECONDS)

# libconfig 1.5 leaks on every syntax error (see fuzz/lsan-libconfig.supp), which would make
# LeakSanitizer scan after most inputs (30 times slower): leaks are checked by run.sh's final
# pass over the corpus instead.
fuzz-run-config: fuzz-seed
	LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan-libconfig.supp \
	    fuzz/run.sh $(FUZZ_DIR) config $(FUZZ_SECONDS) -dict=fuzz/config.dict -detect_leaks=0

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
