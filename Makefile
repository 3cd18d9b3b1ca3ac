# Builds libquiver with cargo and installs it like a system library (GNU conventions).
#
#   make                  cargo build --release, and what `make install` takes from the build
#   make install          installs under PREFIX (default /usr/local); see "Where" below
#   make uninstall        removes what `make install` installed (give it the same variables,
#                         from a source tree of the same version)
#   make check-symbols    the library exports exactly the symbols in abi/quiver.symbols
#   make test-install     tests/install/run.sh: install, link from C, C++ and CMake, uninstall
#
# `make install` runs cargo only when the library has not been built yet, so
# `make && sudo make install` builds as you and installs as root.
#
# Installed files (the SONAME rule is in build.rs; README.md, "ABI policy"):
#   $(INCLUDEDIR)/quiver.h
#   $(LIBDIR)/libquiver.so.$(VERSION)           the shared library, SONAME libquiver.so.$(SOVER)
#   $(LIBDIR)/libquiver.so.$(SOVER)             -> libquiver.so.$(VERSION), what programs load
#   $(LIBDIR)/libquiver.so                      -> libquiver.so.$(SOVER), what -lquiver finds
#   $(LIBDIR)/libquiver.a
#   $(PKGCONFIGDIR)/quiver.pc
#   $(CMAKEDIR)/QuiverConfig.cmake, QuiverConfigVersion.cmake

# ---- Where --------------------------------------------------------------------------
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR     ?= $(LIBDIR)/cmake/Quiver
DESTDIR      ?=

# ---- Tools --------------------------------------------------------------------------
CARGO        ?= cargo
INSTALL      ?= install
INSTALL_DATA ?= $(INSTALL) -m 644
INSTALL_LIB  ?= $(INSTALL) -m 755
# Run after installing or uninstalling into the real filesystem (no DESTDIR) as root, so
# the loader's cache knows the library; LDCONFIG= skips it.
LDCONFIG     ?= ldconfig

# ---- What ---------------------------------------------------------------------------
CARGO_TARGET_DIR ?= $(CURDIR)/target
RELEASE := $(CARGO_TARGET_DIR)/release
# The system libraries libquiver.a needs, as rustc prints them (written by `make`).
NATIVE_STATIC_LIBS_FILE := $(RELEASE)/quiver-native-static-libs

# The version is [package] version in Cargo.toml; SOVER is the ABI series in the SONAME,
# the same rule as build.rs: MAJOR from 1.0 on, 0.MINOR before, 0.0.PATCH while MINOR is 0.
VERSION := $(shell sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
VERSION_PARTS := $(subst ., ,$(firstword $(subst -, ,$(subst +, ,$(VERSION)))))
MAJOR := $(word 1,$(VERSION_PARTS))
MINOR := $(word 2,$(VERSION_PARTS))
PATCH := $(word 3,$(VERSION_PARTS))
SOVER := $(if $(filter-out 0,$(MAJOR)),$(MAJOR),$(if $(filter-out 0,$(MINOR)),0.$(MINOR),0.0.$(PATCH)))
REALNAME := libquiver.so.$(VERSION)
SONAME   := libquiver.so.$(SOVER)

# quiver.pc names libdir and includedir after ${prefix} when they lie under it, which is
# what lets `pkg-config --define-prefix` relocate them.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

D_LIBDIR       = $(DESTDIR)$(LIBDIR)
D_INCLUDEDIR   = $(DESTDIR)$(INCLUDEDIR)
D_PKGCONFIGDIR = $(DESTDIR)$(PKGCONFIGDIR)
D_CMAKEDIR     = $(DESTDIR)$(CMAKEDIR)

.PHONY: all build install uninstall check-symbols test-install

all: build

# cargo decides what is out of date. The second cargo call compiles the staticlib on its
# own only to ask rustc which system libraries it needs (cargo replays the note when
# nothing changed); it does not disturb the first call's build.
build:
	$(CARGO) build --release --locked
	@out=$$($(CARGO) rustc --release --locked --lib --crate-type staticlib \
	          -- --print native-static-libs 2>&1) || { printf '%s\n' "$$out" >&2; exit 1; }; \
	libs=$$(printf '%s\n' "$$out" | sed -n 's/^note: native-static-libs: //p' | tail -n 1); \
	if [ -z "$$libs" ]; then \
	  printf '%s\n' "$$out" >&2; echo "error: rustc printed no native-static-libs" >&2; exit 1; \
	fi; \
	printf '%s\n' "$$libs" > $(NATIVE_STATIC_LIBS_FILE).tmp; \
	mv $(NATIVE_STATIC_LIBS_FILE).tmp $(NATIVE_STATIC_LIBS_FILE); \
	echo "libquiver.a needs: $$libs"
	@# Programs linked against target/release load the library by its SONAME.
	ln -sf libquiver.so $(RELEASE)/$(SONAME)

$(RELEASE)/libquiver.so $(RELEASE)/libquiver.a $(NATIVE_STATIC_LIBS_FILE) &:
	$(MAKE) build

install: $(RELEASE)/libquiver.so $(RELEASE)/libquiver.a $(NATIVE_STATIC_LIBS_FILE) include/quiver.h
	@test -n "$(VERSION)" || { echo "error: no version in Cargo.toml" >&2; exit 1; }
	@for d in $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(PKGCONFIGDIR) $(CMAKEDIR); do \
	  case $$d in /*) ;; *) echo "error: $$d: installation directories must be absolute" >&2; exit 1;; esac; \
	done
	$(INSTALL) -d $(D_INCLUDEDIR) $(D_LIBDIR) $(D_PKGCONFIGDIR) $(D_CMAKEDIR)
	$(INSTALL_DATA) include/quiver.h $(D_INCLUDEDIR)/quiver.h
	$(INSTALL_LIB) $(RELEASE)/libquiver.so $(D_LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(D_LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(D_LIBDIR)/libquiver.so
	$(INSTALL_DATA) $(RELEASE)/libquiver.a $(D_LIBDIR)/libquiver.a
	@native=$$(cat $(NATIVE_STATIC_LIBS_FILE)); \
	cmake_native=$$(printf '%s\n' "$$native" | sed -e 's/^ *//' -e 's/ *$$//' -e 's/ \{1,\}/;/g' -e 's/\(^\|;\)-l/\1/g'); \
	to_libdir=$$(realpath -m -s --relative-to=$(CMAKEDIR) $(LIBDIR)); \
	to_includedir=$$(realpath -m -s --relative-to=$(CMAKEDIR) $(INCLUDEDIR)); \
	bits=$$(case $$(od -An -tu1 -j4 -N1 $(RELEASE)/libquiver.so | tr -d ' ') in 1) echo 32;; *) echo 64;; esac); \
	set -x; \
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e "s|@NATIVE_STATIC_LIBS@|$$native|" \
	    quiver.pc.in > $(D_PKGCONFIGDIR)/quiver.pc; \
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@REALNAME@|$(REALNAME)|g' -e 's|@SONAME@|$(SONAME)|g' \
	    -e "s|@CMAKEDIR_TO_LIBDIR@|$$to_libdir|" -e "s|@CMAKEDIR_TO_INCLUDEDIR@|$$to_includedir|" \
	    -e "s|@CMAKE_NATIVE_STATIC_LIBS@|$$cmake_native|" \
	    cmake/QuiverConfig.cmake.in > $(D_CMAKEDIR)/QuiverConfig.cmake; \
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVER@|$(SOVER)|g' \
	    -e "s|@POINTER_BITS@|$$bits|g" -e "s|@SIZEOF_VOID_P@|$$((bits / 8))|g" \
	    cmake/QuiverConfigVersion.cmake.in > $(D_CMAKEDIR)/QuiverConfigVersion.cmake; \
	chmod 644 $(D_PKGCONFIGDIR)/quiver.pc $(D_CMAKEDIR)/QuiverConfig.cmake \
	    $(D_CMAKEDIR)/QuiverConfigVersion.cmake
	@$(run-ldconfig)

# Removes every installed file, then the directories $(CMAKEDIR), $(LIBDIR)/cmake and
# $(PKGCONFIGDIR) if that leaves them empty. $(LIBDIR), $(INCLUDEDIR) and $(PREFIX) stay:
# they are the system's directories (Debian ships an empty /usr/local/include), and GNU
# `make uninstall` removes files, not directories.
uninstall:
	rm -f $(D_INCLUDEDIR)/quiver.h \
	    $(D_LIBDIR)/$(REALNAME) $(D_LIBDIR)/$(SONAME) $(D_LIBDIR)/libquiver.so \
	    $(D_LIBDIR)/libquiver.a $(D_PKGCONFIGDIR)/quiver.pc \
	    $(D_CMAKEDIR)/QuiverConfig.cmake $(D_CMAKEDIR)/QuiverConfigVersion.cmake
	@for d in $(D_CMAKEDIR) $(D_LIBDIR)/cmake $(D_PKGCONFIGDIR); do \
	  if [ -d "$$d" ]; then (set -x; rmdir --ignore-fail-on-non-empty "$$d"); fi; \
	done
	@$(run-ldconfig)

define run-ldconfig
if [ -z "$(DESTDIR)" ] && [ -n "$(LDCONFIG)" ] && [ "$$(id -u)" = 0 ]; then \
  (set -x; $(LDCONFIG)); \
fi
endef

check-symbols: $(RELEASE)/libquiver.so
	scripts/check-symbols.sh $(RELEASE)/libquiver.so

test-install:
	tests/install/run.sh
