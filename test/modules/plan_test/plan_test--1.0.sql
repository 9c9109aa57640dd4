\echo Use "CREATE EXTENSION plan_test" to load this file. \quit

CREATE SCHEMA plan_test;

-- kind: 'onboard', 'repair' or 'offboard'; state: {"tenant": {...}, "snapshot": {...}};
-- or 'iam'; state: {"want": {...}, "have": {...}}
-- (see plan_test.c); the steps the planner makes, in order.
CREATE FUNCTION plan_test.steps(kind text, state json, deep boolean DEFAULT true,
                                keep_databases boolean DEFAULT false)
RETURNS TABLE (step text, object_type text, object_name text, database text, statement text)
AS 'MODULE_PATHNAME', 'plan_test_steps' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
