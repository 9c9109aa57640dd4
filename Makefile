# aurora_tenancy — PGXS build.
#
#   make && make install      build, install into the PostgreSQL pg_config names
#   make installcheck         pg_regress (test/sql) and isolation (test/specs) suites
#                             against a running server (see below)
#   make prove_installcheck   TAP suite (test/t): each test starts clusters of its own
#
# installcheck wants a disposable server with shared_preload_libraries =
# 'aurora_tenancy', reached as a superuser (PGHOST, PGPORT, PGUSER): the tests
# create and drop roles and databases, and connect to the database
# "regression".  test/run does all of it on a fresh machine (README.md).
EXTENSION = aurora_tenancy
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = aurora_tenancy
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c src/*/*.c))
DATA = $(wildcard sql/$(EXTENSION)--*.sql)
# -Wformat=2: every errmsg/errdetail/errhint format is a literal, checked
PG_CPPFLAGS = -Isrc -I$(shell $(PG_CONFIG) --includedir) -Wall -Wmissing-prototypes -Werror=implicit-function-declaration -Wformat=2
# libpq reaches target clusters (src/core/remote.c); libxml2 reads AWS's
# answers (src/aws/aws_query.c), and the server has it loaded already
SHLIB_LINK = -lpq -lssl -lcrypto -ljansson -lxml2

REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=plpgsql
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test
# TAP_TESTS stays unset: with it, installcheck would run the TAP suite too.
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The regress tests name their database (\c regression); Makefile.global
# would say contrib_regression.
CONTRIB_TESTDB = regression

# PG15's PGXS has the recipe (prove_installcheck) but no target for it.
prove_installcheck:
	$(prove_installcheck)

.PHONY: prove_installcheck

# PGXS tracks no header dependencies: every module sees the shared structs.
$(OBJS): $(wildcard src/*/*.h)
