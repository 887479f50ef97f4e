-- turboquant install script, assembled by the Makefile from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION turboquant" to load this file. \quit

