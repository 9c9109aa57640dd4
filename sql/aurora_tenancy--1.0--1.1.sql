/* aurora_tenancy--1.0--1.1.sql: hardening (issue 7) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION aurora_tenancy UPDATE TO '1.1'" to load this file. \quit

-- === the registry: retained databases are history, not the tenant's ===


-- (end of registry section)



-- === DROP EXTENSION and friends refused while tenants exist ===


-- (end of drop guard section)



-- === redaction ===


-- (end of redaction section)



-- === the audit chain: tamper evidence ===


-- (end of audit chain section)
