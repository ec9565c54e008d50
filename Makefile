# ocspstaple - OCSP stapling for unmodified OpenSSL servers, through LD_PRELOAD.
#
#   make                 build build/libocspstaple.so, libocspstaple-core.so, libocspstaple-libconfig.so, ocspstaple
#   make check           install missing test dependencies (Debian/Ubuntu), run the bats suite
#   make demo            a throwaway CA, an openssl s_server under the shim, a client seeing it
#   make install         PREFIX, DESTDIR, LIBDIR, SYSCONFDIR honoured
#   make deb             the Debian package (debian/), into build/deb/ocspstaple_VERSION_ARCH.deb
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
# The shim's core loads libconfig itself, deep-bound (see shim/common/libconfig_api.c): it needs the soname.
LIBCONFIG_SONAME ?= $(or $(shell objdump -p "$$($(CC) -print-file-name=libconfig.so)" 2>/dev/null | \
                        awk '/SONAME/ { print $$2 }'),libconfig.so.9)

# One folder per object built (see README, "Source layout"): a file's folder says which object
# it goes into, and its include path lets it see only its own folder's headers and common/'s.
#   shim/preload/  libocspstaple.so, libc only (with common/log.c, libc only too)
#   shim/core/     libocspstaple-core.so: the handshake path, the store, the reloader
#   shim/cmd/      the ocspstaple command
#   shim/common/   linked into the core and the command: configuration, files, validation, log
#   shim/libconfig_scope/  libocspstaple-libconfig.so, through which the core loads libconfig
PRELOAD_SRC := $(sort $(wildcard shim/preload/*.c)) shim/common/log.c
COMMON_SRC  := $(sort $(wildcard shim/common/*.c))
CORE_SRC    := $(sort $(wildcard shim/core/*.c)) $(COMMON_SRC)
CMD_SRC     := $(sort $(wildcard shim/cmd/*.c)) $(COMMON_SRC)
SCOPE_SRC   := $(sort $(wildcard shim/libconfig_scope/*.c))
HEADERS     := $(wildcard shim/*/*.h)

# Include paths per folder: a file of core/ cannot include a header of cmd/, nor common/ one of
# either (tests/layout.bats checks the rest of the boundaries on the built objects).
INC_preload := -Ishim/preload -Ishim/common
INC_core    := -Ishim/core -Ishim/common
INC_cmd     := -Ishim/cmd -Ishim/common
INC_common  := -Ishim/common
INC_libconfig_scope := -Ishim/libconfig_scope
folder_inc   = $(INC_$(firstword $(subst /, ,$*)))

PRELOAD_OBJ := $(PRELOAD_SRC:shim/%.c=$(BUILD)/preload/%.o)
CMD_OBJ     := $(CMD_SRC:shim/%.c=$(BUILD)/cmd/%.o)
CORE_OBJ    := $(CORE_SRC:shim/%.c=$(BUILD)/core/%.o)
SCOPE_OBJ   := $(SCOPE_SRC:shim/%.c=$(BUILD)/scope/%.o)

TEST_PROGS  := $(BUILD)/tests/tls_server $(BUILD)/tests/mkresponse $(BUILD)/tests/config_path_probe $(BUILD)/tests/hs_loop \
               $(BUILD)/tests/dlopen_host $(BUILD)/tests/exit_host $(BUILD)/tests/signal_host \
               $(BUILD)/tests/dlclose_host

.PHONY: all check check-threads demo install uninstall deb clean deps test-deps test-programs format lint fuzz fuzz-run

SHIM_OBJECTS := $(BUILD)/libocspstaple.so $(BUILD)/libocspstaple-core.so \
                $(BUILD)/libocspstaple-libconfig.so

all: $(SHIM_OBJECTS) $(BUILD)/ocspstaple

$(BUILD)/preload/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(folder_inc) $(CFLAGS) -c -o $@ $<

$(BUILD)/core/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(folder_inc) -DOCSPSTAPLE_LIBCONFIG_SONAME='"$(LIBCONFIG_SONAME)"' $(CFLAGS) -c -o $@ $<

$(BUILD)/scope/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(folder_inc) $(CFLAGS) -c -o $@ $<

$(BUILD)/cmd/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(folder_inc) $(CFLAGS) -fPIE -c -o $@ $<

# The command knows where the shim is installed (`ocspstaple enable` writes that path into the
# services' environment): shim/cmd/install_paths.c gets PKGLIBDIR, and is rebuilt whenever it
# changes (the stamp's content is PKGLIBDIR), so that `make && make install PREFIX=/usr`, or a
# package's build, installs a command that names the path it installed the shim at.
INSTALL_PATHS_STAMP := $(BUILD)/install-paths
$(INSTALL_PATHS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(PKGLIBDIR)' | cmp -s - $@ || echo '$(PKGLIBDIR)' > $@

$(BUILD)/cmd/cmd/install_paths.o: $(INSTALL_PATHS_STAMP)
$(BUILD)/cmd/cmd/install_paths.o: CPPFLAGS += -DOCSPSTAPLE_PKGLIBDIR='"$(PKGLIBDIR)"'

.PHONY: FORCE
FORCE:

$(BUILD)/ocspstaple: $(CMD_OBJ)
	$(CC) $(CFLAGS) -pie $(LDFLAGS) -o $@ $(CMD_OBJ) $(CONFIG_LIBS) $(SSL_LIBS)

# The preload object links libc only (plus libdl/libpthread, part of libc on current glibc).
# It is bound lazily (-z lazy after the -z now of LDFLAGS): it goes into every process of a
# service, most of which never use TLS, and eager binding of its ~30 imports made /bin/true
# 17 % more expensive than under an empty preload (3.8 % with lazy binding; make bench, 4).
# RELRO stays on; only its lazily bound GOT entries stay writable.
$(BUILD)/libocspstaple.so: $(PRELOAD_OBJ) shim/preload/preload.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-z,lazy -Wl,--version-script=shim/preload/preload.map \
	    -Wl,-soname,libocspstaple.so -o $@ $(PRELOAD_OBJ) -ldl

$(BUILD)/libocspstaple-core.so: $(CORE_OBJ) shim/core/core.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-z,defs -Wl,--version-script=shim/core/core.map \
	    -Wl,-soname,libocspstaple-core.so -o $@ $(CORE_OBJ) $(SSL_LIBS) -ldl

# libconfig's deep-bound scope: the process's allocator ahead of glibc (see
# shim/libconfig_scope/forward.c). It needs libconfig although it calls none of it.
$(BUILD)/libocspstaple-libconfig.so: $(SCOPE_OBJ) shim/libconfig_scope/forward.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,--version-script=shim/libconfig_scope/forward.map \
	    -Wl,-soname,libocspstaple-libconfig.so -o $@ $(SCOPE_OBJ) -Wl,--no-as-needed $(CONFIG_LIBS) \
	    -Wl,--as-needed -ldl

# Programs the tests run as hosts. tls_server exports config_init on purpose (-rdynamic), as
# lighttpd does, except in sanitizer builds (which cannot use RTLD_DEEPBIND to isolate it).
test-programs: $(TEST_PROGS)

$(BUILD)/tests/tls_server: tests/helpers/tls_server.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(if $(SANITIZE),,-DCONFIG_INIT_TRAP) $(CFLAGS) -rdynamic -o $@ $< $(LDFLAGS) $(SSL_LIBS) -ldl

$(BUILD)/tests/mkresponse: tests/helpers/mkresponse.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

# Links the configuration code as the command does (all of common/: config.c uses log.c).
$(BUILD)/tests/config_path_probe: tests/helpers/config_path_probe.c $(COMMON_SRC:shim/%.c=$(BUILD)/cmd/%.o)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_common) $(CFLAGS) -fPIE -pie -o $@ $^ $(LDFLAGS) $(CONFIG_LIBS) $(SSL_LIBS)

$(BUILD)/tests/hs_loop: tests/helpers/hs_loop.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

$(BUILD)/tests/exit_host: tests/helpers/exit_host.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(SSL_LIBS)

# Links no OpenSSL: it loads and unloads libssl itself.
$(BUILD)/tests/dlclose_host: tests/helpers/dlclose_host.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -ldl

$(BUILD)/tests/signal_host: tests/helpers/signal_host.c
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
#   make check TESTS="tests/a.bats tests/b.bats"   only those files
# THREAD_TESTS: the files whose hosts or command run threads against the shared state (the
# reloader and the handshakes, fork and exit around them, the fetch workers): what
# ThreadSanitizer can say something about. .ci/run gives them to the TSan run only, to keep
# within its time budget; the other files run plainly and under ASan+UBSan.
TESTS        ?= tests/
THREAD_TESTS := tests/allocators.bats tests/exit.bats tests/faults.bats tests/fetch.bats \
                tests/hostcb.bats tests/hosts.bats tests/interpose.bats tests/reload.bats \
                tests/renewal.bats tests/scale.bats tests/signals.bats tests/sni.bats \
                tests/stapling.bats tests/haproxy.bats tests/redis.bats tests/nginx.bats
check: test-deps
	$(MAKE) all test-programs
	OCSPSTAPLE_BUILD=$(BUILD) OCSPSTAPLE_SANITIZE=$(SANITIZE) bats --timing $(TESTS)

check-threads:
	$(MAKE) check TESTS="$(THREAD_TESTS)"

demo: test-deps
	$(MAKE) all
	@tests/helpers/demo.sh

# Operator files: conf/FILE goes to $(PKGDATADIR)/FILE (systemd drop-ins to copy into
# /etc/systemd/system/, the main.cf lines, Dovecot's conf.d file, the example configuration;
# the renewal hook for certbot and acme.sh, executable), the man pages to $(MANDIR). Their
# paths are written for the default installation and are rewritten for this one.
OPERATOR_FILES := systemd/postfix@-.service.d/ocspstaple.conf \
                  systemd/dovecot.service.d/ocspstaple.conf \
                  systemd/stunnel@.service.d/ocspstaple.conf \
                  postfix/main.cf dovecot/99-ocspstaple.conf dovecot/2.4/99-ocspstaple.conf \
                  ocspstaple.conf.example
OPERATOR_DIRS  := systemd/postfix@-.service.d systemd/dovecot.service.d \
                  systemd/stunnel@.service.d systemd postfix dovecot/2.4 dovecot
OPERATOR_HOOKS := hooks/ocspstaple-renewal-hook
MAN_PAGES      := man5/ocspstaple.conf.5 man8/ocspstaple.8
INSTALL_PATHS   = sed -e 's|/usr/local/lib/ocspstaple|$(PKGLIBDIR)|g' \
                      -e 's|/usr/local/share/ocspstaple|$(PKGDATADIR)|g' \
                      -e 's|/usr/local/sbin|$(SBINDIR)|g' \
                      -e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g' \
                      -e 's|/etc/ocspstaple\.conf|$(SYSCONFDIR)/ocspstaple.conf|g'

install: all
	install -d $(DESTDIR)$(PKGLIBDIR)
	install -m 0644 $(SHIM_OBJECTS) $(DESTDIR)$(PKGLIBDIR)/
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
	for f in $(OPERATOR_HOOKS); do \
	    dest="$(DESTDIR)$(PKGDATADIR)/$$f"; \
	    install -d "$${dest%/*}" && $(INSTALL_PATHS) "conf/$$f" > "$$dest" && \
	        chmod 0755 "$$dest" || exit 1; \
	done
	for m in $(MAN_PAGES); do \
	    dest="$(DESTDIR)$(MANDIR)/$$m"; \
	    install -d "$${dest%/*}" && $(INSTALL_PATHS) "man/$${m#*/}" > "$$dest" && \
	        chmod 0644 "$$dest" || exit 1; \
	done

uninstall:
	rm -f $(SHIM_OBJECTS:$(BUILD)/%=$(DESTDIR)$(PKGLIBDIR)/%)
	rm -f $(DESTDIR)$(SBINDIR)/ocspstaple
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.service $(DESTDIR)$(SYSTEMDUNITDIR)/ocspstaple-fetch.timer
	-rmdir $(DESTDIR)$(PKGLIBDIR)
	for f in $(OPERATOR_FILES) $(OPERATOR_HOOKS); do rm -f "$(DESTDIR)$(PKGDATADIR)/$$f"; done
	-rmdir $(DESTDIR)$(PKGDATADIR)/hooks
	for d in $(OPERATOR_DIRS); do rmdir "$(DESTDIR)$(PKGDATADIR)/$$d" 2>/dev/null || true; done
	-rmdir $(DESTDIR)$(PKGDATADIR)
	for m in $(MAN_PAGES); do rm -f "$(DESTDIR)$(MANDIR)/$$m"; done

# The Debian package (debian/rules calls `make install` with the package's paths). Built from
# a copy of the tree without build directories and .git, in $(DEB_DIR)/src, because
# dpkg-buildpackage cleans its tree (make clean) and writes its results beside it: they land in
# $(DEB_DIR) (the .deb, its -dbgsym .deb, .buildinfo, .changes), and the copy is removed.
# The package is built as the distribution builds it: from an empty environment but PATH,
# HOME and DEB_BUILD_OPTIONS, not with this make's command-line variables (SANITIZE=, WERROR=,
# CFLAGS=, all exported to its recipes) nor a CFLAGS of the caller's environment (debhelper
# would keep it instead of dpkg-buildflags' hardening flags).
DEB_DIR     ?= build/deb
deb:
	@tests/helpers/install-deps.sh deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar -c --exclude=./build --exclude='./build-*' --exclude=./.git . | tar -x -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && env -i PATH="$$PATH" HOME="$$HOME" DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS:-}" \
	    dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/src
	@ls $(DEB_DIR)/*.deb

# Static analysis, clean: clang-tidy (checks chosen and justified in .clang-tidy) and cppcheck
# (warning, performance and portability classes; style is clang-format's job). Over what ships
# (shim/: the preload object, the core, the command); the test programs take their arguments
# from the suite and are held to the compiler's warnings only.
# Each folder is linted with its own include path, as it is compiled.
LINT_DIRS   := preload core cmd common libconfig_scope
lint:
	@tests/helpers/install-deps.sh lint
	for d in $(LINT_DIRS); do \
	    clang-tidy --quiet shim/$$d/*.c -- -std=gnu11 -D_GNU_SOURCE \
	        -DOCSPSTAPLE_LIBCONFIG_SONAME='"$(LIBCONFIG_SONAME)"' -DCONFIG_INIT_TRAP -Ishim/$$d -Ishim/common || exit 1; \
	done
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr -D_GNU_SOURCE -DOCSPSTAPLE_LIBCONFIG_SONAME='"x"' \
	    -Ishim/common -Ishim/core -Ishim/cmd -Ishim/preload shim/*/*.c

format:
	clang-format -i shim/*/*.c shim/*/*.h tests/helpers/*.c

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
FUZZ_SRC     := $(COMMON_SRC)
FUZZ_TARGETS := response config certfile

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# common/ without OCSPSTAPLE_LIBCONFIG_SONAME: libconfig linked directly, as in the command.
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_target.h $(FUZZ_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE $(INC_common) -Wall -Wextra $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC) \
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
#   (both then run tests/bench/fetch.sh: `ocspstaple fetch` against a slow and a dead responder)
.PHONY: bench bench-smoke

BENCH_DIR   := $(BUILD)/bench
BENCH_PROGS := $(BENCH_DIR)/bench $(BENCH_DIR)/bench-gen $(BENCH_DIR)/bench-hs \
               $(BENCH_DIR)/bench-load $(BENCH_DIR)/libempty.so $(BENCH_DIR)/hundred.sh
BENCH_RUN    = $(BENCH_DIR)/bench --bindir $(BENCH_DIR) --shim $(BUILD)/libocspstaple.so \
               --empty $(BENCH_DIR)/libempty.so

bench: $(SHIM_OBJECTS) $(BUILD)/ocspstaple $(BENCH_PROGS)
	@tests/bench/deps.sh
	$(BENCH_RUN) $(BENCH_FLAGS)
	tests/bench/fetch.sh $(BUILD)

bench-smoke: $(SHIM_OBJECTS) $(BUILD)/ocspstaple $(BENCH_PROGS)
	$(BENCH_RUN) --smoke
	tests/bench/fetch.sh $(BUILD) --smoke

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
