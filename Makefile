# aurora_tenancy — PGXS build.  Tests are run by test/run (see README.md).
EXTENSION = aurora_tenancy
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = aurora_tenancy
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA = $(wildcard sql/$(EXTENSION)--*.sql)
PG_CPPFLAGS = -Wall -Wmissing-prototypes -Werror=implicit-function-declaration
SHLIB_LINK = -lssl -lcrypto -ljansson

REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=plpgsql
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every module sees the shared structs.
$(OBJS): src/aurora_tenancy.h src/sigv4.h
